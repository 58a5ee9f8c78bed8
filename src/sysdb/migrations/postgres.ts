import type pg from 'pg';
import { DBOSInitializationError } from '../../errors.js';
import { functionsV123 } from './postgres-functions.js';
import { indexesV123, tablesV123 } from './postgres-tables.js';
import { quoteIdent } from './sql.js';
import { HEARTBEAT_COLUMNS, transactTablesPostgres } from './transact-tables.js';
import { SCHEMA_VERSION, type MigrationResult } from './version.js';

export { SCHEMA_VERSION, type MigrationResult } from './version.js';

/** One numbered step: the statements that take a database to `version`, for a schema name already quoted. */
interface PostgresMigration {
  version: number;
  description: string;
  statements(schema: string): string[];
}

/**
 * A fresh schema is created at the current version in one step, rather than by replaying DBOS's history (which
 * created, rebuilt and dropped many objects along the way): Transact starts at 123, and the result is the same.
 */
const createCurrent: PostgresMigration = {
  version: SCHEMA_VERSION,
  description: `create the DBOS v${SCHEMA_VERSION} system schema`,
  statements: (s) => [...tablesV123(s), ...indexesV123(s), ...functionsV123(s)],
};

/**
 * Steps that upgrade an existing database, in order, each numbered by the version it produces (DBOS's migration
 * index, identical in every DBOS SDK from 100 on). Empty: Transact cannot yet upgrade an older DBOS database.
 */
const upgrades: readonly PostgresMigration[] = [];

/**
 * Brings the system schema to SCHEMA_VERSION. Safe to call from many processes at once: everything happens in one
 * transaction holding an advisory lock for this schema, so one caller migrates and the others then find it done.
 * A database at a higher version was migrated by a newer peer (Transact or DBOS): DBOS's tables are left alone, and
 * only Transact's own tables are added if missing (src/sysdb/migrations/transact-tables.ts).
 */
export async function migratePostgres(pool: pg.Pool, schema = 'dbos'): Promise<MigrationResult> {
  const s = quoteIdent(schema);
  // READ COMMITTED explicitly: each statement after the lock must see what the previous lock holder committed,
  // which a server-wide REPEATABLE READ default would hide.
  return inPoolTransaction(pool, 'BEGIN ISOLATION LEVEL READ COMMITTED', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, lockKey(schema)]);
    const from = await readVersion(client, schema);
    if (from >= SCHEMA_VERSION) {
      await ensureTransactTables(client, schema);
      return { from, to: from };
    }
    const steps = plan(from, schema);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    for (const step of steps) {
      for (const statement of step.statements(s)) await client.query(statement);
    }
    await ensureTransactTables(client, schema);
    // One row holds the highest applied version; DBOS updates it in place, inserting only the first time.
    const updated = await client.query(`UPDATE ${s}.dbos_migrations SET version = $1`, [SCHEMA_VERSION]);
    if (updated.rowCount === 0) await client.query(`INSERT INTO ${s}.dbos_migrations (version) VALUES ($1)`, [SCHEMA_VERSION]);
    return { from, to: SCHEMA_VERSION };
  });
}

/** Runs `work` in one transaction on a connection of its own, committed if `work` succeeds and rolled back if not. */
export async function inPoolTransaction<T>(pool: pg.Pool, begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A held client's 'error' event (its backend died) would end the process unhandled; the failing query reports it.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query(begin);
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    // A connection that could not even roll back is destroyed rather than handed to the next user of the pool.
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Transact's own tables, beside DBOS's, outside its version numbering. Created only when missing, so a process
 * whose role may not run DDL still launches against a database that has them.
 */
async function ensureTransactTables(client: pg.PoolClient, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  const found = await client.query<{ heartbeats: string | null }>('SELECT to_regclass($1)::text AS heartbeats', [
    `${s}.transact_executor_heartbeats`,
  ]);
  if (found.rows[0]?.heartbeats === null) {
    for (const statement of transactTablesPostgres(s)) await client.query(statement);
    return;
  }
  const present = await client.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'transact_executor_heartbeats'`,
    [schema],
  );
  const have = new Set(present.rows.map((r) => r.column_name));
  for (const column of HEARTBEAT_COLUMNS) {
    if (!have.has(column.name)) {
      await client.query(`ALTER TABLE ${s}.transact_executor_heartbeats ADD COLUMN IF NOT EXISTS ${column.name} ${column.postgres}`);
    }
  }
}

/** The version recorded in the schema; 0 when the schema or its version table does not exist yet. */
async function readVersion(client: pg.PoolClient, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const found = await client.query<{ migrations: string | null; workflows: string | null }>(
    'SELECT to_regclass($1)::text AS migrations, to_regclass($2)::text AS workflows',
    [`${s}.dbos_migrations`, `${s}.workflow_status`],
  );
  const { migrations, workflows } = found.rows[0]!;
  if (migrations === null) {
    if (workflows !== null) {
      throw new DBOSInitializationError(
        `Schema ${s} has DBOS tables but no dbos_migrations table, so its version is unknown; Transact will not change it`,
      );
    }
    return 0;
  }
  const result = await client.query<{ version: string | null }>(`SELECT max(version)::text AS version FROM ${s}.dbos_migrations`);
  return Number(result.rows[0]?.version ?? 0);
}

/** The steps from `from` to SCHEMA_VERSION, or a clear refusal when there is no path. */
function plan(from: number, schema: string): PostgresMigration[] {
  if (from === 0) return [createCurrent];
  const steps = upgrades.filter((step) => step.version > from && step.version <= SCHEMA_VERSION);
  const contiguous = steps.every((step, i) => step.version === from + i + 1);
  if (steps.length === SCHEMA_VERSION - from && contiguous) return steps;
  throw new DBOSInitializationError(
    `The DBOS system database (schema "${schema}") is at schema version ${from}; Transact needs version ${SCHEMA_VERSION} ` +
      `and cannot upgrade from ${from} yet. Upgrade it with DBOS 5.3 first (DBOS.migrate(url)), ` +
      `or point Transact at a new database or schema.`,
  );
}

/**
 * Advisory lock keys: a fixed namespace ('TrMg') and a hash of the schema name, so migrations of different schemas
 * in one database do not wait on each other, and every process computes the same key without asking the database.
 */
const LOCK_NAMESPACE = 0x54724d67;

function lockKey(schema: string): number {
  // FNV-1a, 32 bits, returned as a signed int4 as pg_advisory_xact_lock(int4, int4) expects.
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(schema)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
