// duplicationPolicy 'return-existing' (dbos-spec §3.3): a taken deduplication ID gives the workflow holding it,
// from the application, from inside a workflow (recorded, so a replay agrees) and from a client. Also the enqueue
// options that place a workflow elsewhere: applicationVersion and applicationName.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSClient, DBOSQueueDuplicatedError, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch } from '../support/wait.js';

new WorkflowQueue('dedup-queue');
let gate = latch();
const held = DBOS.registerWorkflow(
  async (label: string) => {
    await gate.promise;
    return label;
  },
  { name: 'heldWork' },
);

const starter = DBOS.registerWorkflow(
  async (key: string) => {
    const handle = await DBOS.startWorkflow(held, {
      queueName: 'dedup-queue',
      enqueueOptions: { deduplicationID: key },
      duplicationPolicy: 'return-existing',
    })('from a workflow');
    return handle.workflowID;
  },
  { name: 'dedupStarter' },
);

after(dropFreshDatabases);

describeEachBackend('deduplication policies', (kind) => {
  const url = engineOn(kind, 'dedup');

  it('return-existing gives the holder of a taken deduplication ID; the default still rejects', async () => {
    gate = latch();
    const key = `key-${kind}`;
    const first = await DBOS.startWorkflow(held, { queueName: 'dedup-queue', enqueueOptions: { deduplicationID: key } })('first');
    await assert.rejects(
      DBOS.startWorkflow(held, { queueName: 'dedup-queue', enqueueOptions: { deduplicationID: key } })('second'),
      DBOSQueueDuplicatedError,
    );
    const again = await DBOS.startWorkflow(held, {
      queueName: 'dedup-queue',
      enqueueOptions: { deduplicationID: key },
      duplicationPolicy: 'return-existing',
    })('third');
    assert.equal(again.workflowID, first.workflowID);

    const fromWorkflow = await DBOS.startWorkflow(starter, { workflowID: `starter-${kind}` })(key);
    assert.equal(await fromWorkflow.getResult(), first.workflowID);
    const steps = await DBOS.listWorkflowSteps(fromWorkflow.workflowID);
    assert.deepEqual(steps?.map((s) => [s.name, s.childWorkflowID]), [['heldWork', first.workflowID]], 'recorded as the child start');

    const client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP });
    try {
      const fromClient = await client.enqueue(
        { queueName: 'dedup-queue', workflowName: 'heldWork', deduplicationID: key, duplicationPolicy: 'return-existing' },
        'client',
      );
      assert.equal(fromClient.workflowID, first.workflowID);
      await assert.rejects(client.enqueue({ queueName: 'dedup-queue', workflowName: 'heldWork', deduplicationID: key }, 'x'), DBOSQueueDuplicatedError);
    } finally {
      await client.destroy();
    }
    gate.release();
    assert.equal(await first.getResult(), 'first');
    const rows = await queryRows(url(), `SELECT count(*) AS n FROM dbos.workflow_status WHERE name = 'heldWork'`);
    assert.equal(Number(rows[0]!.n), 1, 'only the first was ever enqueued');
  });

  it('enqueueOptions.applicationVersion and applicationName place the workflow elsewhere', async () => {
    const other = await DBOS.startWorkflow(held, {
      queueName: 'dedup-queue',
      enqueueOptions: { applicationVersion: 'some-other-version' },
    })('for another version');
    const elsewhere = await DBOS.startWorkflow(held, {
      queueName: 'queue-of-another-app',
      enqueueOptions: { applicationName: 'another-app' },
    })('for another app');
    const rows = await queryRows(url(), 'SELECT workflow_uuid, application_version, application_name, status FROM dbos.workflow_status WHERE workflow_uuid IN ($1, $2)', [
      other.workflowID,
      elsewhere.workflowID,
    ]);
    const byID = new Map(rows.map((r) => [r.workflow_uuid, r]));
    assert.deepEqual(
      [byID.get(other.workflowID)?.application_version, byID.get(other.workflowID)?.status],
      ['some-other-version', 'ENQUEUED'],
      'left for its version',
    );
    assert.deepEqual([byID.get(elsewhere.workflowID)?.application_name, byID.get(elsewhere.workflowID)?.status], ['another-app', 'ENQUEUED']);
    await DBOS.cancelWorkflows([other.workflowID, elsewhere.workflowID]);
  });
});
