// The PostgreSQL table-changes receiver, on both system databases (the watched table always in PostgreSQL): one
// workflow per inserted or updated row, exactly once; what is written while no process listens is caught up at the
// next launch; a transaction that commits after a later one (its change log sequence is lower) is not skipped.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { DBOS } from '../../src/index.js';
import { PgChangesReceiver, pgChangeWorkflowID } from '../../src/receivers/pg-changes.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, postgresBaseUrl } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';

after(dropFreshDatabases);

describeEachBackend('PostgreSQL table changes', (kind) => {
  const seen = new Map<string, number>();
  let systemUrl = '';
  let appUrl = '';
  let app: pg.Pool;
  const ranOnce = (keys: string[]) => keys.every((k) => seen.get(k) === 1);

  before(async () => {
    appUrl = freshDatabase('postgres', 'pgchanges_app');
    const admin = new pg.Client({ connectionString: postgresBaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${new URL(appUrl).pathname.slice(1)}"`);
    await admin.end();
    app = new pg.Pool({ connectionString: appUrl, max: 4 });
    await app.query('CREATE TABLE orders (id int PRIMARY KEY, state text NOT NULL)');
    const onChange = DBOS.registerWorkflow(
      async (table: string, op: 'INSERT' | 'UPDATE', row: Record<string, unknown>) => {
        const key = `${table}:${op}:${row.id}:${row.state}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        return key;
      },
      { name: 'onOrderChange' },
    );
    const receiver = new PgChangesReceiver({ connectionString: appUrl, pollMs: 1000, reconnectMs: 100 });
    receiver.registerConsumer(onChange, 'orders', { name: 'orders-feed', batchSize: 40 });
    systemUrl = freshDatabase(kind, 'pgchanges');
    await launchOn(systemUrl);
  });
  after(async () => {
    await DBOS.shutdown({ deregister: true });
    await app?.end();
  });

  it('runs one workflow per inserted or updated row, once', async () => {
    for (let i = 0; i < 100; i++) await app.query('INSERT INTO orders VALUES ($1, $2)', [i, 'new']);
    await app.query(`UPDATE orders SET state = 'paid' WHERE id < 20`);
    const keys = [
      ...Array.from({ length: 100 }, (_, i) => `orders:INSERT:${i}:new`),
      ...Array.from({ length: 20 }, (_, i) => `orders:UPDATE:${i}:paid`),
    ];
    await waitUntil(() => ranOnce(keys), { timeoutMs: 30_000, message: 'all 120 changes to run' });
    assert.equal(seen.size, 120);
    assert.equal(await DBOS.retrieveWorkflow(pgChangeWorkflowID('orders-feed', 1)).getResult(), 'orders:INSERT:0:new');
  });

  it('catches up at launch with what was written while no process listened', async () => {
    await DBOS.shutdown();
    for (let i = 100; i < 150; i++) await app.query('INSERT INTO orders VALUES ($1, $2)', [i, 'new']);
    await app.query(`UPDATE orders SET state = 'shipped' WHERE id >= 140`);
    await launchOn(systemUrl);
    const keys = [
      ...Array.from({ length: 50 }, (_, i) => `orders:INSERT:${100 + i}:new`),
      ...Array.from({ length: 10 }, (_, i) => `orders:UPDATE:${140 + i}:shipped`),
    ];
    await waitUntil(() => ranOnce(keys), { timeoutMs: 30_000, message: 'the 60 changes made while down to run' });
    assert.equal(seen.size, 180, 'nothing ran twice, nothing else ran');
    assert.ok([...seen.values()].every((n) => n === 1));
  });

  it('does not skip a change whose transaction commits after a later one', async () => {
    const slow = await app.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO orders VALUES (1000, 'slow')`); // takes its log sequence now, commits last
      await app.query(`INSERT INTO orders VALUES (1001, 'fast')`);
      // A spacing, not a condition: long enough for reads (the notification, a 1 s poll) while the slow one is open.
      // The fast row waits behind the open transaction; the slow row must not be passed over once it commits.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(seen.has('orders:INSERT:1000:slow'), false, 'an uncommitted row is not read');
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await waitUntil(() => ranOnce(['orders:INSERT:1000:slow', 'orders:INSERT:1001:fast']), { timeoutMs: 20_000, message: 'both rows to run' });
    assert.equal(seen.size, 182);
  });
});
