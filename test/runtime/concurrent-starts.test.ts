// Concurrent starts and enqueues share statements (group commit, src/sysdb/workflows.ts); through the public API
// each caller must still get what it would alone: a run of its own, the run already started under its ID (attach),
// or DBOSQueueDuplicatedError for a taken deduplication ID; and a workflow starting many children at once records
// each as its own step.

import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { DBOS, DBOSClient, DBOSQueueDuplicatedError, WorkflowQueue } from '../../src/index.js';
import { systemDatabaseStats } from '../../src/process/state.js';
import { describeEachBackend, dropFreshDatabases, type BackendKind } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch } from '../support/wait.js';

const runs = new Map<string, number>();
let gate = latch();
const counted = DBOS.registerWorkflow(
  async (label: string) => {
    runs.set(label, (runs.get(label) ?? 0) + 1);
    await gate.promise;
    return `done-${label}`;
  },
  { name: 'countedStart' },
);
const parentOfMany = DBOS.registerWorkflow(
  async (n: number) => {
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => DBOS.startWorkflow(counted)(`child-${i}`)));
    return Promise.all(handles.map((h) => h.getResult()));
  },
  { name: 'parentOfMany' },
);
new WorkflowQueue('concurrent-starts');

after(dropFreshDatabases);

function batchedStarts(kind: BackendKind): number {
  const name = kind === 'postgres' ? 'transact_insert_workflows_batch' : 'transact_insert_workflow_or_skip';
  return systemDatabaseStats()!.byStatement.get(name) ?? 0;
}

describeEachBackend('concurrent starts through DBOS and DBOSClient', (kind) => {
  const databaseUrl = engineOn(kind, 'cstarts');
  beforeEach(() => {
    runs.clear();
    gate = latch();
  });

  it('runs each of many distinct starts once, and attaches concurrent starts of one ID to one run', async () => {
    const batchedBefore = batchedStarts(kind);
    const distinct = Array.from({ length: 40 }, (_, i) => DBOS.startWorkflow(counted, { workflowID: `${kind}-d${i}` })(`d${i}`));
    const same = Array.from({ length: 10 }, () => DBOS.startWorkflow(counted, { workflowID: `${kind}-same` })('same'));
    const handles = await Promise.all([...distinct, ...same]);
    gate.release();
    const results = await Promise.all(handles.map((h) => h.getResult()));
    assert.deepEqual(results.slice(0, 40), Array.from({ length: 40 }, (_, i) => `done-d${i}`));
    assert.deepEqual(results.slice(40), Array.from({ length: 10 }, () => 'done-same'));
    for (let i = 0; i < 40; i++) assert.equal(runs.get(`d${i}`), 1);
    assert.equal(runs.get('same'), 1, 'one run for the shared ID');
    assert.ok(batchedStarts(kind) > batchedBefore, 'the starts shared statements');
  });

  it('accepts one of many concurrent enqueues with the same deduplication ID, from DBOS and from a client', async () => {
    const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
    try {
      const dedup = { queueName: 'concurrent-starts', enqueueOptions: { deduplicationID: `dd-${kind}` } };
      const facade = Array.from({ length: 8 }, (_, i) => DBOS.startWorkflow(counted, dedup)(`f${i}`));
      const byClient = Array.from({ length: 8 }, (_, i) =>
        client.enqueue({ queueName: 'concurrent-starts', workflowName: 'countedStart', deduplicationID: `dd-${kind}` }, `c${i}`),
      );
      const others = Array.from({ length: 10 }, (_, i) => DBOS.startWorkflow(counted, { queueName: 'concurrent-starts' })(`o${i}`));
      const settled = await Promise.allSettled([...facade, ...byClient, ...others]);
      const accepted = settled.slice(0, 16).filter((s) => s.status === 'fulfilled');
      const refused = settled.slice(0, 16).filter((s) => s.status === 'rejected');
      assert.equal(accepted.length, 1, 'one holder of the deduplication ID');
      for (const r of refused) assert.ok((r as PromiseRejectedResult).reason instanceof DBOSQueueDuplicatedError);
      for (const s of settled.slice(16)) assert.equal(s.status, 'fulfilled');
      gate.release();
      for (const s of settled) if (s.status === 'fulfilled') await s.value.getResult();
      assert.equal([...runs.keys()].filter((k) => /^[fc]\d$/.test(k)).length, 1, 'only the accepted one ran');
    } finally {
      await client.destroy();
    }
  });

  it('records each of many children started at once as its own step of the parent', async () => {
    gate.release();
    const handle = await DBOS.startWorkflow(parentOfMany, { workflowID: `${kind}-parent` })(20);
    assert.deepEqual(await handle.getResult(), Array.from({ length: 20 }, (_, i) => `done-child-${i}`));
    const steps = (await DBOS.listWorkflowSteps(`${kind}-parent`))!;
    const children = steps.filter((s) => s.childWorkflowID).map((s) => s.childWorkflowID);
    assert.equal(new Set(children).size, 20);
    for (const id of children) assert.equal((await DBOS.getWorkflowStatus(id!))?.status, 'SUCCESS');
    for (let i = 0; i < 20; i++) assert.equal(runs.get(`child-${i}`), 1);
  });
});
