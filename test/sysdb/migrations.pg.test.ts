import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { DBOSInitializationError } from '../../src/errors.js';
import { migratePostgres, SCHEMA_VERSION } from '../../src/sysdb/migrations/index.js';
import { createScratchDatabase, describeSchema, postgresReachable, SNAPSHOT_FILE, urlFor } from './migrations.support.js';

const reachable = await postgresReachable();
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
const pools: pg.Pool[] = [];
const connectionsClosed: Promise<unknown>[] = [];

before(async () => {
  if (reachable) scratch = await createScratchDatabase();
});

after(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  // pool.end() resolves before its connections have closed; dropping the database under a live one would kill it.
  await Promise.all(connectionsClosed);
  await scratch?.drop();
});

/** Each test works in its own schema of the run's scratch database, so the tests cannot see each other's state. */
function pgTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, async (t) => {
    if (!reachable) {
      if (process.env.CI === 'true') assert.fail('PostgreSQL is unreachable, and CI requires it');
      t.skip('PostgreSQL is unreachable');
      return;
    }
    await fn(t);
  });
}

function newPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: urlFor(scratch!.name), max: 2 });
  pool.on('connect', (client) => connectionsClosed.push(new Promise((resolve) => client.once('end', resolve))));
  pools.push(pool);
  return pool;
}

async function versions(pool: pg.Pool, schema: string): Promise<number[]> {
  const result = await pool.query<{ version: string }>(`SELECT version FROM "${schema}".dbos_migrations`);
  return result.rows.map((row) => Number(row.version));
}

pgTest('a fresh database is migrated to version 123', async () => {
  const pool = newPool();
  assert.deepEqual(await migratePostgres(pool, 'fresh'), { from: 0, to: SCHEMA_VERSION });
  assert.equal(SCHEMA_VERSION, 123);
  assert.deepEqual(await versions(pool, 'fresh'), [123]);
});

pgTest('migrating twice changes nothing the second time', async () => {
  const pool = newPool();
  await migratePostgres(pool, 'twice');
  const before = await describeSchema(pool, 'twice');
  assert.deepEqual(await migratePostgres(pool, 'twice'), { from: 123, to: 123 });
  assert.equal(await describeSchema(pool, 'twice'), before);
  assert.deepEqual(await versions(pool, 'twice'), [123]);
});

pgTest('five processes migrating one fresh database at once all succeed', async () => {
  const results = await Promise.all(Array.from({ length: 5 }, () => migratePostgres(newPool(), 'concurrent')));
  assert.equal(results.filter((r) => r.from === 0).length, 1, 'exactly one caller creates the schema');
  assert.ok(results.every((r) => r.to === 123));
  assert.deepEqual(await versions(newPool(), 'concurrent'), [123]);
});

pgTest('a database migrated by a newer version is left alone', async () => {
  const pool = newPool();
  await migratePostgres(pool, 'newer');
  await pool.query('UPDATE newer.dbos_migrations SET version = 200');
  await pool.query('DROP INDEX newer.idx_workflow_topic');
  assert.deepEqual(await migratePostgres(pool, 'newer'), { from: 200, to: 200 });
  assert.deepEqual(await versions(pool, 'newer'), [200]);
  const index = await pool.query(`SELECT 1 FROM pg_indexes WHERE schemaname = 'newer' AND indexname = 'idx_workflow_topic'`);
  assert.equal(index.rowCount, 0, 'nothing was recreated');
});

pgTest('an older DBOS database is refused with a clear error and not changed', async () => {
  const pool = newPool();
  await migratePostgres(pool, 'older');
  await pool.query('UPDATE older.dbos_migrations SET version = 108');
  await assert.rejects(migratePostgres(pool, 'older'), (error: Error) => {
    assert.ok(error instanceof DBOSInitializationError);
    assert.match(error.message, /schema version 108.*cannot upgrade from 108/s);
    return true;
  });
  assert.deepEqual(await versions(pool, 'older'), [108]);
});

pgTest('the schema name is quoted, so any name works', async () => {
  const pool = newPool();
  const schema = 'Odd "Name"; x';
  assert.deepEqual(await migratePostgres(pool, schema), { from: 0, to: 123 });
  const quoted = `"Odd ""Name""; x"`;
  await pool.query(`SELECT ${quoted}.enqueue_workflow('wf', 'q', workflow_id => 'w1')`);
  const row = await pool.query(`SELECT status FROM ${quoted}.workflow_status WHERE workflow_uuid = 'w1'`);
  assert.equal(row.rows[0].status, 'ENQUEUED');
});

pgTest('enqueue_workflow writes a portable queued workflow and enforces deduplication', async () => {
  const pool = newPool();
  await migratePostgres(pool, 'fn_enqueue');
  // The functions must not depend on the caller's search_path.
  const client = await pool.connect();
  try {
    await client.query('SET search_path = public');
    const id = await client.query(
      `SELECT fn_enqueue.enqueue_workflow('wf', 'q', ARRAY['1', '"a"']::json[], '{"k": true}', priority => 3,
         deduplication_id => 'd', workflow_id => 'w1', application_name => 'app')`,
    );
    assert.equal(id.rows[0].enqueue_workflow, 'w1');
    const row = await client.query(
      `SELECT status, queue_name, priority, serialization, recovery_attempts, owner_xid IS NOT NULL AS owned, application_name
       FROM fn_enqueue.workflow_status WHERE workflow_uuid = 'w1'`,
    );
    assert.deepEqual(row.rows[0], {
      status: 'ENQUEUED', queue_name: 'q', priority: 3, serialization: 'portable_json', recovery_attempts: '0', owned: true,
      application_name: 'app',
    });
    const input = await client.query(`SELECT inputs FROM fn_enqueue.workflow_input WHERE workflow_uuid = 'w1'`);
    assert.deepEqual(JSON.parse(input.rows[0].inputs), { positionalArgs: [1, 'a'], namedArgs: { k: true } });

    // The same ID again is accepted and returns the same ID; a second active dedup ID on the queue is not.
    await client.query(`SELECT fn_enqueue.enqueue_workflow('wf', 'q', workflow_id => 'w1')`);
    await assert.rejects(client.query(`SELECT fn_enqueue.enqueue_workflow('wf', 'q', deduplication_id => 'd')`), {
      code: '23505',
      message: 'DBOS queue duplicated',
    });
    const delayed = await client.query(`SELECT fn_enqueue.enqueue_workflow('wf', 'q', delay_until_epoch_ms => 1) AS id`);
    const status = await client.query('SELECT status FROM fn_enqueue.workflow_status WHERE workflow_uuid = $1', [delayed.rows[0].id]);
    assert.equal(status.rows[0].status, 'DELAYED');
    for (const bad of [`'', 'q'`, `'wf', NULL`, `'wf', 'q', named_args => '[]'`, `'wf', 'q', workflow_id => ''`]) {
      await assert.rejects(client.query(`SELECT fn_enqueue.enqueue_workflow(${bad})`), { code: 'P0001' });
    }
  } finally {
    client.release();
  }
});

pgTest('send_message stores a message, is idempotent by ID, and wakes listeners', async () => {
  const pool = newPool();
  await migratePostgres(pool, 'fn_send');
  await pool.query(`INSERT INTO fn_send.workflow_status (workflow_uuid, status) VALUES ('dest', 'PENDING')`);
  const listener = await pool.connect();
  try {
    const payloads: (string | undefined)[] = [];
    listener.on('notification', (n) => payloads.push(n.payload));
    await listener.query('LISTEN dbos_notifications_channel');
    await pool.query(`SELECT fn_send.send_message('dest', '{"n": 1}', 'greeting', 'm1')`);
    await pool.query(`SELECT fn_send.send_message('dest', '{"n": 2}', 'greeting', 'm1')`);
    await pool.query(`SELECT fn_send.send_message('dest', '"no topic"')`);
    const rows = await pool.query(`SELECT topic, message, serialization FROM fn_send.notifications ORDER BY created_at_epoch_ms, topic`);
    assert.deepEqual(
      rows.rows.map((r) => [r.topic, r.message, r.serialization]).sort(),
      [['__null__topic__', '"no topic"', 'portable_json'], ['greeting', '{"n": 1}', 'portable_json']],
    );
    await assert.rejects(pool.query(`SELECT fn_send.send_message('missing', '1')`), { code: '23503' });
    const deadline = Date.now() + 5000;
    while (payloads.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(payloads.sort(), ['dest::__null__topic__', 'dest::greeting']);
  } finally {
    await listener.query('UNLISTEN *');
    listener.release();
  }
});

pgTest('the schema matches the committed snapshot (UPDATE_SNAPSHOT=1 rewrites it)', async () => {
  const pool = newPool();
  await migratePostgres(pool);
  const actual = await describeSchema(pool, 'dbos');
  if (process.env.UPDATE_SNAPSHOT === '1') {
    writeFileSync(SNAPSHOT_FILE, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(SNAPSHOT_FILE, 'utf8');
  } catch {
    assert.fail(`${SNAPSHOT_FILE.pathname} is missing; run the test with UPDATE_SNAPSHOT=1 to create it`);
  }
  assert.equal(actual, expected, 'the schema changed; if that was intended, rerun with UPDATE_SNAPSHOT=1 and review the diff');
});
