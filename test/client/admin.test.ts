// DBOSClient as an operator's tool: it registers, changes, lists and deletes the application's queues, and waits
// for the first or all of several workflows (DBOS.waitFirst / waitAll do the same inside the application).

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSInitializationError,
  DBOSInvalidWorkflowInputError,
  DBOSNonExistentWorkflowError,
  type WorkflowHandle,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

const echo = DBOS.registerWorkflow(async (label: string) => label, { name: 'adminEcho' });

// Finishes when it receives a message, returning it.
const waiter = DBOS.registerWorkflow(async () => DBOS.recv<string>('go', 60), { name: 'adminWaiter' });

// Starts three waiters, releases the second, and reports which one waitFirst found; then waits for all.
const fanIn = DBOS.registerWorkflow(
  async () => {
    const handles: WorkflowHandle<unknown>[] = [];
    for (let i = 0; i < 3; i++) handles.push(await DBOS.startWorkflow(waiter)());
    await DBOS.send(handles[1]!.workflowID, 'second', 'go');
    const first = await DBOS.waitFirst(handles);
    for (const h of handles) if (h !== first) await DBOS.send(h.workflowID, 'rest', 'go');
    const all = await DBOS.waitAll(handles);
    return { first: handles.indexOf(first), results: await Promise.all(all.map((h) => h.getResult())) };
  },
  { name: 'adminFanIn' },
);

const fiveSteps = DBOS.registerWorkflow(
  async () => {
    for (let i = 0; i < 5; i++) await DBOS.runStep(async () => i, { name: `step${i}` });
  },
  { name: 'adminFiveSteps' },
);

after(dropFreshDatabases);

describeEachBackend('DBOSClient queue administration', (kind) => {
  const url = engineOn(kind, 'clientadmin');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP, pollingIntervalMs: 50 });
  });
  after(() => client.destroy());

  it('registers a queue the application then serves, and changes, lists and deletes it', async () => {
    const queue = await client.registerQueue('from-client', { workerConcurrency: 2, rateLimit: { limitPerPeriod: 10, periodSec: 1 } });
    assert.deepEqual([queue.name, queue.databaseBacked, queue.workerConcurrency, queue.applicationName], ['from-client', true, 2, TEST_APP]);

    // What the client enqueues belongs to the client's application.
    const enqueued = await client.enqueue({ queueName: 'from-client', workflowName: 'adminEcho' }, `owned-${kind}`);
    assert.equal(await enqueued.getResult(), `owned-${kind}`);
    assert.equal((await client.getWorkflow(enqueued.workflowID))?.applicationName, TEST_APP);

    const handle = await DBOS.startWorkflow(echo, { queueName: 'from-client' })(`served-${kind}`);
    assert.equal(await handle.getResult(), `served-${kind}`);
    assert.equal((await DBOS.getWorkflowStatus(handle.workflowID))?.queueName, 'from-client');

    // A second registration overwrites (a client's default is always_update); never_update keeps the row.
    assert.equal((await client.registerQueue('from-client', { workerConcurrency: 3 })).workerConcurrency, 3);
    assert.equal((await client.registerQueue('from-client', { workerConcurrency: 5, onConflict: 'never_update' })).workerConcurrency, 3);
    const retrieved = await client.retrieveQueue('from-client');
    assert.equal(retrieved?.rateLimit, undefined, 'the overwrite replaced every setting');
    await retrieved!.setGlobalConcurrency(4);
    const [row] = await queryRows(url(), `SELECT worker_concurrency, concurrency FROM dbos.queues WHERE name = 'from-client'`);
    assert.deepEqual([row?.worker_concurrency, row?.concurrency], [3, 4]);
    assert.equal((await DBOS.retrieveQueue('from-client'))?.concurrency, 4, 'the application reads the same row');

    assert.ok((await client.listQueues()).some((q) => q.name === 'from-client'));
    assert.deepEqual(await client.listQueues('another-app'), [], "another application's queues only");
    await client.deleteQueue('from-client');
    assert.equal(await client.retrieveQueue('from-client'), null);
    assert.equal((await queryRows(url(), `SELECT name FROM dbos.queues WHERE name = 'from-client'`)).length, 0);
  });

  it('refuses a name owned by another application, and invalid settings, writing nothing', async () => {
    await client.registerQueue('owned', { workerConcurrency: 1 });
    const other = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: 'another-app' });
    try {
      await assert.rejects(other.registerQueue('owned', { workerConcurrency: 9 }), /registered by application transact-test/);
      await assert.rejects(other.registerQueue('bad', { workerConcurrency: 0 }), DBOSInitializationError);
      await assert.rejects(other.registerQueue('_dbos_mine'), DBOSInitializationError);
    } finally {
      await other.destroy();
    }
    assert.equal((await client.retrieveQueue('owned'))?.workerConcurrency, 1);
    assert.equal(await client.retrieveQueue('bad'), null);
  });
});

describeEachBackend('waitFirst and waitAll', (kind) => {
  const url = engineOn(kind, 'waits');

  it('waitFirst returns the handle that finished first; waitAll returns every handle once all have finished', async () => {
    const handles = [];
    for (let i = 0; i < 3; i++) handles.push(await DBOS.startWorkflow(waiter)());
    await DBOS.send(handles[2]!.workflowID, 'third', 'go');
    assert.equal(await DBOS.waitFirst(handles), handles[2]);

    const client = await DBOSClient.create({ systemDatabaseUrl: url(), pollingIntervalMs: 50 });
    try {
      const clientHandles = handles.map((h) => client.retrieveWorkflow<string>(h.workflowID));
      assert.equal((await client.waitFirst(clientHandles)).workflowID, handles[2]!.workflowID);
      let allDone = false;
      const all = client.waitAll(clientHandles).then((r) => ((allDone = true), r));
      await DBOS.send(handles[0]!.workflowID, 'first', 'go');
      await handles[0]!.getResult();
      assert.equal(allDone, false, 'one workflow is still waiting');
      await DBOS.send(handles[1]!.workflowID, 'second', 'go');
      assert.deepEqual(await all, clientHandles);
      assert.deepEqual(await Promise.all((await DBOS.waitAll(handles)).map((h) => h.getResult())), ['first', 'second', 'third']);
      await assert.rejects(client.waitFirst([]), DBOSInvalidWorkflowInputError);
      await assert.rejects(client.waitAll([client.retrieveWorkflow('no-such-workflow')]), DBOSNonExistentWorkflowError);
    } finally {
      await client.destroy();
    }
    await assert.rejects(DBOS.waitFirst([]), DBOSInvalidWorkflowInputError);
    await assert.rejects(DBOS.waitFirst([DBOS.retrieveWorkflow('no-such-workflow')]), DBOSNonExistentWorkflowError);
  });

  it('listWorkflowSteps pages with limit and offset, in the application and from a client', async () => {
    const handle = await DBOS.startWorkflow(fiveSteps, { workflowID: `paged-${kind}` })();
    await handle.getResult();
    const ids = (steps: { functionID: number }[] | undefined) => steps?.map((s) => s.functionID);
    assert.deepEqual(ids(await DBOS.listWorkflowSteps(handle.workflowID)), [0, 1, 2, 3, 4]);
    assert.deepEqual(ids(await DBOS.listWorkflowSteps(handle.workflowID, { limit: 2, offset: 1 })), [1, 2]);
    assert.deepEqual(ids(await DBOS.listWorkflowSteps(handle.workflowID, { offset: 3 })), [3, 4]);
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      assert.deepEqual(ids(await client.listWorkflowSteps(handle.workflowID, { limit: 1 })), [0]);
      await assert.rejects(client.listWorkflowSteps(handle.workflowID, { limit: -1 }), RangeError);
    } finally {
      await client.destroy();
    }
  });

  it('inside a workflow, waitFirst and waitAll are checkpointed steps', async () => {
    const handle = await DBOS.startWorkflow(fanIn, { workflowID: `fan-in-${kind}` })();
    assert.deepEqual(await handle.getResult(), { first: 1, results: ['rest', 'second', 'rest'] });
    const names = (await DBOS.listWorkflowSteps(handle.workflowID))!.map((s) => s.name);
    assert.deepEqual(
      names.filter((n) => n.startsWith('DBOS.wait')),
      ['DBOS.waitFirst', 'DBOS.waitAll'],
    );
    const [step] = (await DBOS.listWorkflowSteps(handle.workflowID))!.filter((s) => s.name === 'DBOS.waitFirst');
    assert.equal(step?.output, `fan-in-${kind}-1`, "waitFirst records the finished workflow's ID");
  });
});
