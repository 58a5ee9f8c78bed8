import type Database from 'better-sqlite3';
import { DBOSInitializationError } from '../../errors.js';
import { SQLITE_INDEXES_V123, SQLITE_TABLES_V123 } from './sqlite-tables.js';
import { HEARTBEAT_COLUMNS, TRANSACT_TABLES_SQLITE } from './transact-tables.js';
import { SCHEMA_VERSION, type MigrationResult } from './version.js';

/** One numbered step: the statements that take a database file to `version`. */
interface SqliteMigration {
  version: number;
  description: string;
  statements: readonly string[];
}

/** A new file gets the current schema in one step, as on PostgreSQL. */
const createCurrent: SqliteMigration = {
  version: SCHEMA_VERSION,
  description: `create the v${SCHEMA_VERSION} system tables`,
  statements: [...SQLITE_TABLES_V123, ...SQLITE_INDEXES_V123],
};

/** Upgrades of an existing file, each numbered by the version it produces. None yet: every file was made at 123. */
const upgrades: readonly SqliteMigration[] = [];

/**
 * Brings an embedded system database to SCHEMA_VERSION. BEGIN IMMEDIATE takes the file's write lock before the
 * version is read, so when several processes open a new file at once one creates the tables and the others (waiting
 * on the connection's busy timeout) then find them. A file at a higher version was made by a newer peer: only
 * Transact's own tables are added if missing (src/sysdb/migrations/transact-tables.ts).
 */
export function migrateSqlite(db: Database.Database): MigrationResult {
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = readVersion(db);
    if (from >= SCHEMA_VERSION) {
      addTransactTables(db);
      db.exec('COMMIT');
      return { from, to: from };
    }
    for (const step of plan(from)) {
      for (const statement of step.statements) db.exec(statement);
    }
    addTransactTables(db);
    db.prepare('DELETE FROM dbos_migrations').run();
    db.prepare('INSERT INTO dbos_migrations (version) VALUES (?)').run(SCHEMA_VERSION);
    db.exec('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    // SQLite may already have rolled back on its own (some errors end the transaction).
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** Transact's own tables if missing, and the columns added to them since (src/sysdb/migrations/transact-tables.ts). */
function addTransactTables(db: Database.Database): void {
  for (const statement of TRANSACT_TABLES_SQLITE) db.exec(statement);
  const have = new Set((db.prepare('PRAGMA table_info(transact_executor_heartbeats)').all() as { name: string }[]).map((c) => c.name));
  for (const column of HEARTBEAT_COLUMNS) {
    if (!have.has(column.name)) db.exec(`ALTER TABLE transact_executor_heartbeats ADD COLUMN ${column.name} ${column.sqlite}`);
  }
}

/** The recorded version; 0 for a file without the version table. */
function readVersion(db: Database.Database): number {
  const tables = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('dbos_migrations', 'workflow_status')`).all() as {
      name: string;
    }[]).map((row) => row.name),
  );
  if (!tables.has('dbos_migrations')) {
    if (tables.has('workflow_status')) {
      throw new DBOSInitializationError(
        'This SQLite file has DBOS tables but no dbos_migrations table, so its version is unknown; Transact will not change it',
      );
    }
    return 0;
  }
  const row = db.prepare('SELECT max(version) AS version FROM dbos_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

function plan(from: number): readonly SqliteMigration[] {
  if (from === 0) return [createCurrent];
  const steps = upgrades.filter((step) => step.version > from && step.version <= SCHEMA_VERSION);
  if (steps.length === SCHEMA_VERSION - from && steps.every((step, i) => step.version === from + i + 1)) return steps;
  throw new DBOSInitializationError(
    `This SQLite system database is at schema version ${from}; Transact needs version ${SCHEMA_VERSION} and cannot upgrade from ${from}.`,
  );
}
