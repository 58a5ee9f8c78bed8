import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { DBOSInitializationError } from '../../src/errors.js';
import { migrateSqlite, SCHEMA_VERSION } from '../../src/sysdb/migrations/index.js';
import { readSnapshot } from './migrations.support.js';

const dir = mkdtempSync(join(tmpdir(), 'transact-mig-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function openNew(): Database.Database {
  const db = new Database(join(dir, `sys-${++files}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  return db;
}

function versions(db: Database.Database): number[] {
  return (db.prepare('SELECT version FROM dbos_migrations').all() as { version: number }[]).map((r) => r.version);
}

function schemaText(db: Database.Database): string {
  return (db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as object[])
    .map((row) => JSON.stringify(row))
    .join('\n');
}

test('a new file is migrated to version 123, and migrating again changes nothing', () => {
  const db = openNew();
  assert.deepEqual(migrateSqlite(db), { from: 0, to: SCHEMA_VERSION });
  const schema = schemaText(db);
  assert.deepEqual(migrateSqlite(db), { from: 123, to: 123 });
  assert.equal(schemaText(db), schema);
  assert.deepEqual(versions(db), [123]);
  db.close();
});

test('a file migrated by a newer version is left alone; an older one is refused', () => {
  const db = openNew();
  migrateSqlite(db);
  db.exec('UPDATE dbos_migrations SET version = 200; DROP INDEX idx_workflow_topic');
  assert.deepEqual(migrateSqlite(db), { from: 200, to: 200 });
  assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'idx_workflow_topic'`).get(), { n: 0 });

  db.exec('UPDATE dbos_migrations SET version = 108');
  assert.throws(() => migrateSqlite(db), DBOSInitializationError);
  assert.deepEqual(versions(db), [108]);
  assert.equal(db.inTransaction, false);
  db.close();
});

test('two processes migrating the same new file at once both succeed', async () => {
  const file = join(dir, 'shared.sqlite');
  const child = fileURLToPath(new URL('./migrations.sqlite.child.ts', import.meta.url));
  const startAt = Date.now() + 1500; // after both have loaded tsx and opened the file
  const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', child, file, String(startAt)]);
  const results = (await Promise.all([run(), run()])).map((r) => JSON.parse(r.stdout) as { from: number; to: number });
  assert.deepEqual(results.map((r) => r.from).sort(), [0, 123], 'one process created the tables, the other found them');
  assert.ok(results.every((r) => r.to === 123));
  const db = new Database(file);
  assert.deepEqual(versions(db), [123]);
  db.close();
});

test('defaults and cascading foreign keys work like PostgreSQL', () => {
  const db = openNew();
  migrateSqlite(db);
  const before = Date.now();
  db.prepare(`INSERT INTO workflow_status (workflow_uuid, status) VALUES ('w', 'PENDING')`).run();
  db.prepare(`INSERT INTO notifications (destination_uuid, topic, message) VALUES ('w', 't', 'm')`).run();
  db.prepare(`INSERT INTO workflow_events (workflow_uuid, key, value) VALUES ('w', 'k', 'v')`).run();
  const row = db.prepare('SELECT created_at, updated_at, priority, rate_limited, recovery_attempts FROM workflow_status').get() as Record<
    string,
    number
  >;
  assert.ok(row.created_at! >= before - 1 && row.created_at! <= Date.now(), 'created_at is epoch milliseconds');
  assert.deepEqual([row.priority, row.rate_limited, row.recovery_attempts], [0, 0, 0]);
  const note = db.prepare('SELECT message_uuid, consumed FROM notifications').get() as { message_uuid: string; consumed: number };
  assert.match(note.message_uuid, /^[0-9a-f]{32}$/);
  assert.equal(note.consumed, 0);

  assert.throws(() => db.prepare(`INSERT INTO streams (workflow_uuid, key, value, "offset") VALUES ('none', 'k', 'v', 0)`).run(), {
    code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  });
  db.prepare(`DELETE FROM workflow_status WHERE workflow_uuid = 'w'`).run();
  assert.deepEqual(db.prepare('SELECT (SELECT count(*) FROM notifications) + (SELECT count(*) FROM workflow_events) AS n').get(), { n: 0 });

  db.prepare(`INSERT INTO workflow_status (workflow_uuid, queue_name, deduplication_id) VALUES ('a', 'q', 'd')`).run();
  assert.throws(() => db.prepare(`INSERT INTO workflow_status (workflow_uuid, queue_name, deduplication_id) VALUES ('b', 'q', 'd')`).run(), {
    code: 'SQLITE_CONSTRAINT_UNIQUE',
  });
  db.close();
});

test('tables, columns, keys and indexes are those of the PostgreSQL schema', () => {
  const db = openNew();
  migrateSqlite(db);
  const pg = readSnapshot();
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map(
    (r) => r.name,
  );
  assert.deepEqual(tables, [...pg.tables.keys()].sort());

  for (const [table, expected] of pg.tables) {
    const columns = db.pragma(`table_info(${table})`) as { name: string; notnull: number; pk: number }[];
    assert.deepEqual(
      columns.map((c) => ({ name: c.name, notNull: c.notnull === 1 })),
      expected.columns,
      `columns of ${table}`,
    );
    const primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    assert.deepEqual(primaryKey, expected.primaryKey, `primary key of ${table}`);

    const foreignKeys = (db.pragma(`foreign_key_list(${table})`) as Record<string, string>[]).map(
      (fk) => `${fk.from} -> ${fk.table}(${fk.to}) ON UPDATE ${fk.on_update} ON DELETE ${fk.on_delete}`,
    );
    assert.deepEqual(foreignKeys, expected.foreignKeys, `foreign keys of ${table}`);

    const uniqueConstraints = (db.pragma(`index_list(${table})`) as { name: string; unique: number; origin: string }[])
      .filter((i) => i.origin === 'u')
      .map((i) => (db.pragma(`index_info(${i.name})`) as { name: string }[]).map((c) => c.name));
    assert.deepEqual(uniqueConstraints, expected.unique, `UNIQUE constraints of ${table}`);
  }

  // Every PostgreSQL index except the GIN one, which SQLite has no equivalent for.
  const expectedIndexes = pg.indexes.filter((i) => i.method === 'btree');
  assert.deepEqual(
    pg.indexes.filter((i) => i.method !== 'btree').map((i) => i.name),
    ['idx_workflow_status_attributes'],
  );
  const indexes = expectedIndexes.map((i) => {
    const found = (db.pragma(`index_list(${i.table})`) as { name: string; unique: number; partial: number }[]).find(
      (x) => x.name === i.name,
    );
    return found && { name: i.name, table: i.table, unique: found.unique === 1, partial: found.partial === 1, method: 'btree' };
  });
  assert.deepEqual(indexes, expectedIndexes);
  const created = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`).get();
  assert.deepEqual(created, { n: expectedIndexes.length }, 'no index beyond those of PostgreSQL');
  db.close();
});
