// DBOS.enqueueWorkflowWithOptions: enqueueing a workflow by name from inside the application, with the client's
// options and row; inside a workflow, a child start that a replay finds again instead of enqueueing another.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import {
  DBOS,
  DBOSConflictingWorkflowError,
  DBOSQueueDuplicatedError,
  DBOSWorkflowIDInUseError,
  WorkflowQueue,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

new WorkflowQueue('by-name');

const runs = new Map<string, number>();
const echoByName = DBOS.registerWorkflow(
  async (...args: unknown[]) => {
    runs.set(DBOS.workflowID!, (runs.get(DBOS.workflowID!) ?? 0) + 1);
    return args;
  },
  { name: 'echoByName' },
);
void echoByName;

/** Enqueues echoByName by name, then waits for a message so the test can restart the engine under it. */
const enqueuingParent = DBOS.registerWorkflow(
  async (deduplicationID?: string) => {
    let child: string;
    try {
      const handle = await DBOS.enqueueWorkflowWithOptions({ queueName: 'by-name', workflowName: 'echoByName', deduplicationID }, 'from parent');
      child = handle.workflowID;
    } catch (err) {
      child = (err as Error).name;
    }
    await DBOS.recv<string>('go', 60);
    return child;
  },
  { name: 'enqueuingParent' },
);

async function steps(workflowID: string): Promise<string[]> {
  return ((await DBOS.listWorkflowSteps(workflowID)) ?? []).map((s) => `${s.functionID} ${s.name} ${s.childWorkflowID ?? ''}`.trim());
}

function waitingInRecv(workflowID: string): Promise<boolean> {
  return waitUntil(async () => (await steps(workflowID)).some((s) => s.includes('DBOS.sleep')), { message: `${workflowID} waiting in recv` });
}

after(dropFreshDatabases);
afterEach(() => DBOS.shutdown());

describeEachBackend('enqueueing a workflow by name', (kind) => {
  it('enqueues by name from outside a workflow, with the client’s row, and runs it here', async () => {
    const url = freshDatabase(kind, 'byname');
    await launchOn(url);
    const handle = await DBOS.enqueueWorkflowWithOptions<unknown[]>({ queueName: 'by-name', workflowName: 'echoByName' }, 'a', 2);
    assert.deepEqual(await handle.getResult(), ['a', 2]);

    // A queue registered in the database works too; a delayed row shows what was written before any claim.
    await DBOS.registerQueue('registered-by-name');
    const delayed = await DBOS.withAuthedContext('alice', ['admin'], () =>
      DBOS.enqueueWorkflowWithOptions(
        { queueName: 'registered-by-name', workflowName: 'echoByName', workflowID: `delayed-${kind}`, delaySeconds: 3600, priority: 5 },
        'later',
      ),
    );
    const [row] = await queryRows(
      url,
      `SELECT status, queue_name, application_name, application_version, executor_id, authenticated_user, authenticated_roles,
              priority, parent_workflow_id, serialization
         FROM dbos.workflow_status WHERE workflow_uuid = $1`,
      [delayed.workflowID],
    );
    assert.deepEqual(
      { ...row, authenticated_roles: JSON.parse(String(row?.authenticated_roles)) },
      {
        status: 'DELAYED',
        queue_name: 'registered-by-name',
        application_name: TEST_APP,
        application_version: null, // unset unless given: the latest version runs it
        executor_id: DBOS.executorID,
        authenticated_user: 'alice',
        authenticated_roles: ['admin'],
        priority: 5,
        parent_workflow_id: null,
        serialization: 'js_superjson',
      },
    );
  });

  it('writes portable arguments with enqueueWorkflowWithOptionsPortable', async () => {
    const url = freshDatabase(kind, 'byname_portable');
    await launchOn(url);
    const handle = await DBOS.enqueueWorkflowWithOptionsPortable<unknown[]>(
      { queueName: 'by-name', workflowName: 'echoByName', workflowID: `portable-${kind}` },
      ['x', 3],
    );
    assert.deepEqual(await handle.getResult(), ['x', 3]);
    const [row] = await queryRows(
      url,
      `SELECT ws.serialization, wi.inputs FROM dbos.workflow_status ws JOIN dbos.workflow_input wi USING (workflow_uuid)
        WHERE ws.workflow_uuid = $1`,
      [handle.workflowID],
    );
    assert.equal(row?.serialization, 'portable_json');
    assert.deepEqual(JSON.parse(String(row?.inputs)), { positionalArgs: ['x', 3] });
  });

  it('accepts an unknown queue of this application (the workflow waits ENQUEUED for it), and leaves another application’s queues to it', async () => {
    const url = freshDatabase(kind, 'byname_unknown');
    await launchOn(url);
    const waiting = await DBOS.enqueueWorkflowWithOptions({ queueName: 'nobody-declares-this', workflowName: 'echoByName', workflowID: `waits-${kind}` });
    assert.equal(waiting.workflowID, `waits-${kind}`);
    assert.deepEqual(
      (await queryRows(url, 'SELECT status, queue_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [`waits-${kind}`])).map((r) => ({ ...r })),
      [{ status: 'ENQUEUED', queue_name: 'nobody-declares-this' }],
    );

    const elsewhere = await DBOS.enqueueWorkflowWithOptions({
      queueName: 'their-queue',
      workflowName: 'theirWorkflow',
      applicationName: 'another-app',
    });
    const [row] = await queryRows(url, 'SELECT status, application_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      elsewhere.workflowID,
    ]);
    assert.deepEqual({ ...row }, { status: 'ENQUEUED', application_name: 'another-app' });
  });

  it('honours the reuse policy and refuses an ID that runs another workflow', async () => {
    const url = freshDatabase(kind, 'byname_reuse');
    await launchOn(url);
    const id = `reused-${kind}`;
    const first = await DBOS.enqueueWorkflowWithOptions({ queueName: 'by-name', workflowName: 'echoByName', workflowID: id }, 1);
    const again = await DBOS.enqueueWorkflowWithOptions({ queueName: 'by-name', workflowName: 'echoByName', workflowID: id }, 2);
    assert.equal(again.workflowID, first.workflowID);
    assert.deepEqual(await again.getResult(), [1], 'the existing workflow, not a second run');
    await assert.rejects(
      DBOS.enqueueWorkflowWithOptions({ queueName: 'by-name', workflowName: 'echoByName', workflowID: id, workflowIDReusePolicy: 'reject' }),
      DBOSWorkflowIDInUseError,
    );
    await assert.rejects(
      DBOS.enqueueWorkflowWithOptions({ queueName: 'by-name', workflowName: 'somethingElse', workflowID: id }),
      DBOSConflictingWorkflowError,
    );
    assert.equal(runs.get(id), 1);
  });

  it('inside a workflow, enqueues a child <parentID>-<functionID> once, and a replay finds the same child', async () => {
    const url = freshDatabase(kind, 'byname_child');
    await launchOn(url);
    const parent = `parent-${kind}`;
    await DBOS.startWorkflow(enqueuingParent, { workflowID: parent })();
    await waitingInRecv(parent);
    const child = `${parent}-0`;
    assert.deepEqual(await steps(parent), [`0 echoByName ${child}`, '2 DBOS.sleep']); // recv takes 1 (and 2 for its deadline)
    const [row] = await queryRows(url, 'SELECT parent_workflow_id, queue_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [child]);
    assert.deepEqual({ ...row }, { parent_workflow_id: parent, queue_name: 'by-name' });
    assert.deepEqual(await DBOS.retrieveWorkflow(child).getResult(), ['from parent']);

    // The parent is recovered by the next launch and replays its enqueue.
    await DBOS.shutdown();
    await launchOn(url);
    await DBOS.send(parent, 'go', 'go');
    assert.equal(await DBOS.retrieveWorkflow(parent).getResult(), child);
    const children = await queryRows(url, 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1', [parent]);
    assert.deepEqual(children.map((c) => c.workflow_uuid), [child]);
    assert.equal(runs.get(child), 1);
  });

  it('inside a workflow, records a duplicate deduplication ID, and a replay throws it again without asking', async () => {
    const url = freshDatabase(kind, 'byname_dedup');
    await launchOn(url);
    const holder = await DBOS.enqueueWorkflowWithOptions({
      queueName: 'by-name',
      workflowName: 'echoByName',
      deduplicationID: 'only-one',
      delaySeconds: 3600,
    });
    const parent = `dedup-parent-${kind}`;
    await DBOS.startWorkflow(enqueuingParent, { workflowID: parent })('only-one');
    await waitingInRecv(parent);
    const [recorded] = (await DBOS.listWorkflowSteps(parent)) ?? [];
    assert.equal(recorded?.name, 'echoByName');
    assert.ok(recorded?.error instanceof DBOSQueueDuplicatedError, `recorded ${String(recorded?.error)}`);

    // The slot is free now (a cancelled workflow gives up its deduplication ID), but the replay must not ask again.
    await DBOS.cancelWorkflow(holder.workflowID);
    await DBOS.shutdown();
    await launchOn(url);
    await DBOS.send(parent, 'go', 'go');
    assert.equal(await DBOS.retrieveWorkflow(parent).getResult(), 'DBOSQueueDuplicatedError');
    assert.deepEqual(await queryRows(url, 'SELECT 1 FROM dbos.workflow_status WHERE parent_workflow_id = $1', [parent]), []);
  });
});
