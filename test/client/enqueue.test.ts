// A process that runs no workflows enqueues them by name through DBOSClient; the application's dispatchers run them.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { DBOS, DBOSClient, DBOSQueueDuplicatedError, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch } from '../support/wait.js';

new WorkflowQueue('client-queue');
let gate = latch();
const double = DBOS.registerWorkflow(
  async (n: number, label?: Record<string, unknown>) => {
    await gate.promise;
    return { doubled: n * 2, label: label ?? null, version: DBOS.applicationVersion };
  },
  { name: 'double' },
);
void double;

after(dropFreshDatabases);

describeEachBackend('DBOSClient.enqueue', (kind) => {
  const databaseUrl = engineOn(kind, 'clientq');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(), pollingIntervalMs: 50 });
  });
  after(() => client.destroy());

  it('runs a workflow enqueued by name, on the latest application version', async () => {
    gate = latch();
    gate.release();
    const handle = await client.enqueue({ queueName: 'client-queue', workflowName: 'double', workflowID: `client-${kind}` }, 21);
    assert.deepEqual(await handle.getResult(), { doubled: 42, label: null, version: 'test-v1' });
    const status = await client.getWorkflow(handle.workflowID);
    assert.equal(status?.queueName, 'client-queue');
    assert.equal(status?.applicationVersion, 'test-v1', 'stamped at dequeue');
  });

  it('enqueues portable arguments, and rejects a duplicate deduplication ID while the first is active', async () => {
    gate = latch();
    const first = await client.enqueuePortable(
      { queueName: 'client-queue', workflowName: 'double', deduplicationID: `dedup-${kind}` },
      [5],
      { tag: 'x' },
    );
    await assert.rejects(
      client.enqueue({ queueName: 'client-queue', workflowName: 'double', deduplicationID: `dedup-${kind}` }, 6),
      DBOSQueueDuplicatedError,
    );
    gate.release();
    assert.deepEqual(await first.getResult(), { doubled: 10, label: { tag: 'x' }, version: 'test-v1' });
    const again = await client.enqueue({ queueName: 'client-queue', workflowName: 'double', deduplicationID: `dedup-${kind}` }, 7);
    assert.equal(((await again.getResult()) as { doubled: number }).doubled, 14, 'the ID is free once the first finished');
  });
});

const waitForMessage = DBOS.registerWorkflow(async () => DBOS.recv<string>('topic', 30), { name: 'waitForMessage' });

describeEachBackend(
  'DBOSClient inside the caller’s transaction',
  (kind) => {
    const databaseUrl = engineOn(kind, 'clienttx');

    it('enqueues and sends only when the caller’s transaction commits', async () => {
      gate = latch();
      gate.release();
      const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(), pollingIntervalMs: 50 });
      const pgClient = new pg.Client({ connectionString: databaseUrl() });
      await pgClient.connect();
      try {
        await pgClient.query('BEGIN');
        await client.enqueueInTransaction(pgClient, { queueName: 'client-queue', workflowName: 'double', workflowID: 'rolled-back' }, 1);
        await pgClient.query('ROLLBACK');
        assert.equal(await client.getWorkflow('rolled-back'), undefined, 'nothing was enqueued');

        await pgClient.query('BEGIN');
        const handle = await client.enqueueInTransaction(pgClient, { queueName: 'client-queue', workflowName: 'double' }, 4);
        await pgClient.query('COMMIT');
        assert.equal(((await handle.getResult()) as { doubled: number }).doubled, 8);

        const waiting = await DBOS.startWorkflow(waitForMessage)();
        await pgClient.query('BEGIN');
        await client.sendInTransaction(pgClient, waiting.workflowID, 'not sent', 'topic');
        await pgClient.query('ROLLBACK');
        await pgClient.query('BEGIN');
        await client.sendInTransaction(pgClient, waiting.workflowID, 'sent', 'topic');
        await pgClient.query('COMMIT');
        assert.equal(await waiting.getResult(), 'sent');
      } finally {
        await pgClient.end();
        await client.destroy();
      }
    });
  },
  ['postgres'],
);
