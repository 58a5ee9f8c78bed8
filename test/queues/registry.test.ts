// Queues registered at run time (DBOS.registerQueue, stored in the queues table), queues declared in code after
// launch, and which enqueues are refused at the caller.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS, DBOSInitializationError, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { launchOn, TEST_APP } from '../support/launch.js';
import { OverlapTracker } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const tracker = new OverlapTracker();
const occupy = DBOS.registerStep(
  async (ms: number) => {
    tracker.enter('x');
    await new Promise((r) => setTimeout(r, ms));
    tracker.exit();
  },
  { name: 'occupy' },
);
const echo = DBOS.registerWorkflow(
  async (value: string, ms: number) => {
    if (ms > 0) await occupy(ms);
    return value;
  },
  { name: 'echo' },
);

new WorkflowQueue('in-code', { workerConcurrency: 2 });

after(dropFreshDatabases);

describeEachBackend('registered queues', (kind) => {
  let url: string;
  before(async () => {
    url = freshDatabase(kind, 'registry');
    await launchOn(url);
  });
  after(() => DBOS.shutdown());

  it('stores a registered queue in the queues table and runs its workflows within its limits', async () => {
    const queue = await DBOS.registerQueue('registered', { workerConcurrency: 2, rateLimit: { limitPerPeriod: 50, periodSec: 2 } });
    assert.equal(queue.name, 'registered');
    assert.equal(queue.databaseBacked, true);
    const [row] = await queryRows(url, `SELECT * FROM dbos.queues WHERE name = 'registered'`);
    assert.equal(row?.worker_concurrency, 2);
    assert.equal(row?.rate_limit_max, 50);
    assert.equal(Number(row?.rate_limit_period_sec), 2);
    assert.equal(row?.application_name, TEST_APP);
    assert.equal(Boolean(row?.partition_queue), false);

    tracker.reset();
    const handles = [];
    for (let i = 0; i < 8; i++) handles.push(await DBOS.startWorkflow(echo, { queueName: 'registered' })(`r${i}`, 100));
    assert.deepEqual(await Promise.all(handles.map((h) => h.getResult())), Array.from({ length: 8 }, (_, i) => `r${i}`));
    assert.equal(tracker.max(), 2);
  });

  it('changes a registered queue through its set methods, read back by its get methods and by listQueues', async () => {
    const queue = await DBOS.registerQueue('tunable', { workerConcurrency: 1 });
    await queue.setWorkerConcurrency(4);
    await queue.setGlobalConcurrency(8);
    await queue.setRateLimit({ limitPerPeriod: 10, periodSec: 1 });
    await queue.setPartitionConcurrency(2);
    const [row] = await queryRows(url, `SELECT worker_concurrency, concurrency, rate_limit_max, partition_concurrency, partition_queue
      FROM dbos.queues WHERE name = 'tunable'`);
    assert.deepEqual(
      [row?.worker_concurrency, row?.concurrency, row?.rate_limit_max, row?.partition_concurrency, Boolean(row?.partition_queue)],
      [4, 8, 10, 2, true],
    );
    await execSql(url, `UPDATE dbos.queues SET worker_concurrency = 3 WHERE name = 'tunable'`); // another process's change
    assert.equal(await queue.getWorkerConcurrency(), 3);
    assert.equal(await queue.getGlobalConcurrency(), 8);
    await assert.rejects(queue.setWorkerConcurrency(20), DBOSInitializationError, 'worker above global is refused');
    assert.equal(await queue.getWorkerConcurrency(), 3, 'a refused change writes nothing');

    assert.ok((await DBOS.listQueues()).some((q) => q.name === 'tunable'));
    assert.equal((await DBOS.retrieveQueue('tunable'))?.workerConcurrency, 3);
    assert.equal(await DBOS.retrieveQueue('no-such-queue'), null);
  });

  it('resolves a second registration of a name by onConflict', async () => {
    await DBOS.registerQueue('conflicted', { workerConcurrency: 1 });
    assert.equal((await DBOS.registerQueue('conflicted', { workerConcurrency: 2, onConflict: 'never_update' })).workerConcurrency, 1);
    assert.equal((await DBOS.registerQueue('conflicted', { workerConcurrency: 3, onConflict: 'always_update' })).workerConcurrency, 3);
    // This process runs the latest version, so the default (update_if_latest_version) updates.
    assert.equal((await DBOS.registerQueue('conflicted', { workerConcurrency: 4 })).workerConcurrency, 4);
    const [row] = await queryRows(url, `SELECT worker_concurrency FROM dbos.queues WHERE name = 'conflicted'`);
    assert.equal(row?.worker_concurrency, 4);

    await execSql(url, `INSERT INTO dbos.queues (queue_id, name, application_name) VALUES ('other-id', 'foreign', 'another-app')`);
    await assert.rejects(DBOS.registerQueue('foreign', {}), /registered by application another-app/);
  });

  it('rejects invalid queue settings at declaration, with a clear error', async () => {
    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ['worker-over-global', { workerConcurrency: 5, globalConcurrency: 2 }, /workerConcurrency \(5\) cannot exceed the global concurrency \(2\)/],
      ['partition-over-global', { globalConcurrency: 2, partitionConcurrency: 3 }, /partitionConcurrency \(3\) cannot exceed/],
      ['pworker-over-partition', { partitionConcurrency: 1, partitionWorkerConcurrency: 2 }, /partitionWorkerConcurrency \(2\) cannot exceed partitionConcurrency/],
      ['pworker-over-worker', { workerConcurrency: 1, partitionWorkerConcurrency: 2 }, /partitionWorkerConcurrency \(2\) cannot exceed workerConcurrency/],
      ['both-names', { concurrency: 1, globalConcurrency: 1 }, /concurrency or globalConcurrency, not both/],
      ['zero', { workerConcurrency: 0 }, /positive integer/],
      ['bad-rate', { rateLimit: { limitPerPeriod: 1, periodSec: 0 } }, /periodSec must be a positive number/],
      ['removed-priority', { priorityEnabled: true }, /priorityEnabled option was removed/],
      ['removed-partition', { partitionQueue: true }, /partitionQueue option was removed/],
      ['_dbos_mine', {}, /reserved/],
    ];
    for (const [name, options, message] of invalid) {
      await assert.rejects(DBOS.registerQueue(name, options), (err: Error) => err instanceof DBOSInitializationError && message.test(err.message));
    }
    assert.throws(() => new WorkflowQueue(`bad-${kind}`, { workerConcurrency: 3, concurrency: 1 }), DBOSInitializationError);
    await assert.rejects(DBOS.registerQueue('in-code', {}), /declared in this process's code/);
    const rows = await queryRows(url, `SELECT count(*) AS n FROM dbos.queues WHERE name IN (${invalid.map((_, i) => `$${i + 1}`).join(', ')})`,
      invalid.map(([name]) => name));
    assert.equal(Number(rows[0]?.n), 0, 'nothing was stored');
  });

  it('serves a queue declared in code after launch', async () => {
    new WorkflowQueue(`late-${kind}`, { workerConcurrency: 1 });
    const handle = await DBOS.startWorkflow(echo, { queueName: `late-${kind}` })('late', 0);
    assert.equal(await handle.getResult(), 'late');
  });

  it('serves a queue another process registered, and enqueues to it', async () => {
    // Another process of the application registers a queue (writes its row); this one has never heard of it.
    await execSql(url, `INSERT INTO dbos.queues (queue_id, name, worker_concurrency, application_name) VALUES ('q-else', 'elsewhere', 1, $1)`, [TEST_APP]);
    const handle = await DBOS.startWorkflow(echo, { queueName: 'elsewhere' })('there', 0);
    assert.equal(await handle.getResult(), 'there');
    // Work enqueued to it by someone else is picked up too (the queues table is re-read every second).
    await execSql(url, `INSERT INTO dbos.queues (queue_id, name, application_name) VALUES ('q-else2', 'elsewhere2', NULL)`);
    await waitUntil(async () => (await DBOS.listQueues()).some((q) => q.name === 'elsewhere2'));
    const second = await DBOS.startWorkflow(echo, { queueName: 'elsewhere2' })('there too', 0);
    assert.equal(await second.getResult(), 'there too');
  });

  it('accepts an enqueue to a queue nobody declared or registered, or that was deleted: it waits ENQUEUED until one is', async () => {
    const nowhere = await DBOS.startWorkflow(echo, { queueName: 'nowhere', workflowID: `nowhere-${kind}` })('x', 0);
    assert.equal((await DBOS.getWorkflowStatus(nowhere.workflowID))?.status, 'ENQUEUED');
    const foreign = await DBOS.startWorkflow(echo, { queueName: 'foreign' })('x', 0);
    assert.equal((await DBOS.getWorkflowStatus(foreign.workflowID))?.status, 'ENQUEUED');

    await DBOS.registerQueue('short-lived', {});
    assert.equal(await (await DBOS.startWorkflow(echo, { queueName: 'short-lived' })('ok', 0)).getResult(), 'ok');
    await DBOS.deleteQueue('short-lived');
    assert.equal(await DBOS.retrieveQueue('short-lived'), null);
    const orphan = await DBOS.startWorkflow(echo, { queueName: 'short-lived' })('later', 0);
    assert.equal((await DBOS.getWorkflowStatus(orphan.workflowID))?.status, 'ENQUEUED');

    // Once the queue exists again, what waited runs.
    await DBOS.registerQueue('nowhere', {});
    assert.equal(await nowhere.getResult(), 'x');
    await DBOS.registerQueue('short-lived', {});
    assert.equal(await orphan.getResult(), 'later');
  });

});
