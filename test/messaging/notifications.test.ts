// PostgreSQL's side of waking up: the NOTIFYs other processes (and DBOS's own libraries) listen for, and a lost
// LISTEN connection, after which every waiter looks again.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, withPg } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';
import { afterLooking, RECV_LOOKS } from './waiting.js';

const receiver = DBOS.registerWorkflow(
  async () => DBOS.recv<string>('quiet', { timeoutSeconds: 120, pollingIntervalMs: 120_000 }),
  { name: 'quietReceiver' },
);

const announcer = DBOS.registerWorkflow(
  async () => {
    await DBOS.setEvent('progress', 50);
    await DBOS.writeStream('log', 'line 1');
    await DBOS.closeStream('log');
  },
  { name: 'announcer' },
);

after(dropFreshDatabases);

describeEachBackend(
  'notifications',
  (kind) => {
    const url = engineOn(kind, 'notify');

    it('events and stream writes NOTIFY their channels with <workflow>::<key>, as DBOS readers expect', async () => {
      const listener = new pg.Client({ connectionString: url() });
      await listener.connect();
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(`${n.channel} ${n.payload}`));
      try {
        await listener.query('LISTEN dbos_workflow_events_channel');
        await listener.query('LISTEN dbos_streams_channel');
        await listener.query('LISTEN dbos_notifications_channel');
        await (await DBOS.startWorkflow(announcer, { workflowID: 'announcer' })()).getResult();
        await DBOS.send('announcer', 'hi', 'greeting');
        await waitUntil(() => heard.length >= 4, { message: 'four notifications' });
        assert.deepEqual(heard.sort(), [
          'dbos_notifications_channel announcer::greeting',
          'dbos_streams_channel announcer::log',
          'dbos_streams_channel announcer::log',
          'dbos_workflow_events_channel announcer::progress',
        ]);
      } finally {
        await listener.end();
      }
    });

    it('a waiter looks again when the LISTEN connection is lost and comes back', async () => {
      const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(receiver, { workflowID: 'quiet-receiver' })());
      await withPg(url(), async (client) => {
        // A message that makes no NOTIFY (triggers do not fire for a replica session): only a re-check can find it.
        await client.query('SET session_replication_role = replica');
        await client.query(
          `INSERT INTO dbos.notifications (destination_uuid, topic, message, serialization)
           VALUES ('quiet-receiver', 'quiet', '"found by looking again"', 'portable_json')`,
        );
        await client.query('RESET session_replication_role');
        const killed = await client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`,
        );
        assert.equal(killed.rowCount, 1, 'the engine has one LISTEN connection');
      });
      const lostAt = Date.now();
      assert.equal(await handle.getResult(), 'found by looking again');
      assert.ok(Date.now() - lostAt < 10_000, `found after ${Date.now() - lostAt} ms (the poll is two minutes)`);
    });
  },
  ['postgres'],
);
