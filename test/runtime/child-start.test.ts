// A child start is a durable operation of its parent: whatever the database decided the first time (the child
// started, or the start refused) is recorded, so a replay of the parent returns the same answer even when the
// database would now decide otherwise. The replay is a fork of the parent after its child start, which replays the
// recorded step instead of starting anything.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

new WorkflowQueue('child-start-queue');

const child = DBOS.registerWorkflow(async (label: string) => label, { name: 'childStartChild' });

type Attempt = { how: 'function' | 'name'; workflowID?: string; deduplicationID?: string; reject?: boolean };

/** Starts one child as told and reports what happened: the child's ID, or the name of the error the start threw. */
const parent = DBOS.registerWorkflow(
  async (a: Attempt) => {
    try {
      if (a.how === 'function') {
        const handle = await DBOS.startWorkflow(child, {
          workflowID: a.workflowID,
          queueName: 'child-start-queue',
          enqueueOptions: a.deduplicationID ? { deduplicationID: a.deduplicationID } : undefined,
          workflowIDReusePolicy: a.reject ? 'reject' : undefined,
        })('from parent');
        return `started ${handle.workflowID}`;
      }
      const handle = await DBOS.enqueueWorkflowWithOptions({
        queueName: 'child-start-queue',
        workflowName: 'childStartChild',
        workflowID: a.workflowID,
        deduplicationID: a.deduplicationID,
        workflowIDReusePolicy: a.reject ? 'reject' : undefined,
      }, 'from parent');
      return `started ${handle.workflowID}`;
    } catch (err) {
      return `refused ${(err as Error).name}`;
    }
  },
  { name: 'childStartParent' },
);

after(dropFreshDatabases);

describeEachBackend('child starts are recorded as the database decided them', (kind) => {
  const url = engineOn(kind, 'childstart');

  async function childrenOf(parentID: string): Promise<string[]> {
    const rows = await queryRows(url(), 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1', [parentID]);
    return rows.map((r) => String(r.workflow_uuid));
  }

  /** Runs the parent, then replays it (a fork after its child start) after `change` altered what the database holds. */
  async function runAndReplay(id: string, attempt: Attempt, change: () => Promise<void>): Promise<[string, string, string[]]> {
    const first = await (await DBOS.startWorkflow(parent, { workflowID: id })(attempt)).getResult();
    await change();
    const fork = await DBOS.forkWorkflow<string>(id, 1);
    const replayed = await fork.getResult();
    return [first, replayed, await childrenOf(fork.workflowID)];
  }

  for (const how of ['function', 'name'] as const) {
    it(`a deduplication ID in use refuses the start, and a replay refuses it again though the ID is free (by ${how})`, async () => {
      const key = `dedup-${how}-${kind}`;
      const holder = await DBOS.startWorkflow(child, {
        queueName: 'child-start-queue',
        enqueueOptions: { deduplicationID: key, delaySeconds: 3600 },
      })('holder');
      const [first, replayed, forkChildren] = await runAndReplay(`dedup-parent-${how}-${kind}`, { how, deduplicationID: key }, async () => {
        await DBOS.cancelWorkflow(holder.workflowID); // frees the deduplication ID
      });
      assert.equal(first, 'refused DBOSQueueDuplicatedError');
      assert.equal(replayed, first);
      assert.deepEqual(forkChildren, [], 'the replay started no child');
      const steps = await DBOS.listWorkflowSteps(`dedup-parent-${how}-${kind}`);
      assert.equal(steps?.length, 1);
      assert.equal(steps![0]!.childWorkflowID, null);
      assert.ok(steps![0]!.error instanceof Error, 'the refusal is the recorded outcome');
    });

    it(`an ID taken under workflowIDReusePolicy 'reject' refuses the start, and a replay refuses it again (by ${how})`, async () => {
      const taken = `taken-${how}-${kind}`;
      await (await DBOS.startWorkflow(child, { workflowID: taken, queueName: 'child-start-queue' })('earlier')).getResult();
      const parentID = `reject-parent-${how}-${kind}`;
      const [first, replayed] = await runAndReplay(parentID, { how, workflowID: taken, reject: true }, async () => {
        await DBOS.deleteWorkflow(taken); // the ID is free now: a new start would succeed
      });
      assert.equal(first, 'refused DBOSWorkflowIDInUseError');
      assert.equal(replayed, first);
      const steps = await DBOS.listWorkflowSteps(parentID);
      assert.equal(steps![0]!.childWorkflowID, null, 'the refused child is not recorded as started');
      const rows = await queryRows(url(), 'SELECT workflow_uuid FROM dbos.workflow_status WHERE workflow_uuid = $1', [taken]);
      assert.equal(rows.length, 0, 'the replay did not start the child');
    });

    it(`a child started the first time is returned on replay, not started again (by ${how})`, async () => {
      const parentID = `started-parent-${how}-${kind}`;
      const [first, replayed] = await runAndReplay(parentID, { how }, async () => {});
      assert.equal(first, `started ${parentID}-0`);
      assert.equal(replayed, first, 'the replay returns the child the first run started');
    });
  }
});
