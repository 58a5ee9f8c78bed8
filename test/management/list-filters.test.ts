// listWorkflows' lineage, attribute, dequeue-time and application filters (dbos-spec §1.6), on both backends, from
// the application and from a client.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS, DBOSClient, WorkflowQueue, type GetWorkflowsInput } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';

new WorkflowQueue('filters-queue');

const leaf = DBOS.registerWorkflow(async (n: number) => n, { name: 'filterLeaf' });
const parent = DBOS.registerWorkflow(
  async () => {
    const child = await DBOS.startWorkflow(leaf)(1);
    return child.getResult();
  },
  { name: 'filterParent' },
);

after(dropFreshDatabases);

describeEachBackend('listWorkflows filters', (kind) => {
  const url = engineOn(kind, 'filters');
  const p = `filters-${kind}-`;
  let client: DBOSClient;
  let beforeQueued = 0;
  const ids = async (input: GetWorkflowsInput) => (await DBOS.listWorkflows({ workflow_id_prefix: p, ...input })).map((s) => s.workflowID).sort();

  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP });
    await DBOS.startWorkflow(parent, { workflowID: `${p}parent` })().then((h) => h.getResult());
    await DBOS.startWorkflow(leaf, { workflowID: `${p}tagged-a1`, workflowAttributes: { team: 'a', tier: 1, on: true } })(2).then((h) => h.getResult());
    await DBOS.startWorkflow(leaf, { workflowID: `${p}tagged-b`, workflowAttributes: { team: 'b', meta: { x: 1 } } })(3).then((h) => h.getResult());
    await (await DBOS.forkWorkflow(`${p}tagged-b`, 0, { newWorkflowID: `${p}fork` })).getResult();
    beforeQueued = Date.now() - 1;
    await DBOS.startWorkflow(leaf, { workflowID: `${p}queued`, queueName: 'filters-queue' })(4).then((h) => h.getResult());
  });
  after(() => client.destroy());

  it('hasParent tells children from top-level workflows', async () => {
    assert.deepEqual(await ids({ hasParent: true }), [`${p}parent-0`]);
    assert.ok(!(await ids({ hasParent: false })).includes(`${p}parent-0`));
    assert.ok((await ids({ hasParent: false })).includes(`${p}parent`));
  });

  it('isFork and wasForkedFrom tell forks from their originals', async () => {
    assert.deepEqual(await ids({ isFork: true }), [`${p}fork`]);
    assert.deepEqual(await ids({ wasForkedFrom: true }), [`${p}tagged-b`]);
    assert.equal((await ids({ wasForkedFrom: false })).length, 5);
    const fromClient = await client.listWorkflows({ workflow_id_prefix: p, isFork: true });
    assert.deepEqual(fromClient.map((s) => s.workflowID), [`${p}fork`]);
  });

  it('attributes match by containment', async () => {
    assert.deepEqual(await ids({ attributes: { team: 'a' } }), [`${p}tagged-a1`]);
    assert.deepEqual(await ids({ attributes: { team: 'a', tier: 1, on: true } }), [`${p}tagged-a1`]);
    assert.deepEqual(await ids({ attributes: { team: 'a', tier: 2 } }), []);
    assert.deepEqual(await ids({ attributes: { meta: { x: 1 } } }), [`${p}fork`, `${p}tagged-b`], 'a fork keeps the attributes');
    assert.deepEqual(await ids({ attributes: { missing: null } }), []);
  });

  it('dequeuedAfter and dequeuedBefore compare the time a queue took the workflow', async () => {
    assert.ok((await ids({ dequeuedAfter: new Date(beforeQueued).toISOString() })).includes(`${p}queued`));
    assert.ok(!(await ids({ dequeuedBefore: new Date(beforeQueued).toISOString() })).includes(`${p}queued`));
  });

  it('applicationName selects other applications', async () => {
    assert.equal((await ids({ applicationName: TEST_APP })).length, 6);
    assert.deepEqual(await ids({ applicationName: ['another-app'] }), []);
  });
});
