// Opening the system database: pick the driver for the location, and bring the schema to the version this build
// speaks (or check that it is there, for processes that must not run DDL).

import { DBOSInitializationError } from '../errors.js';
import { redactError, redactSecrets, redactUrl } from '../redact.js';
import type { SqlDriver } from './driver.js';
import { grantApplicationRole, migratePostgres, migrateSqlite, SCHEMA_VERSION } from './migrations/index.js';
import { PostgresDriver } from './postgres-driver.js';
import { SqliteDriver } from './sqlite-driver.js';

export type DatabaseLocation = { kind: 'postgres'; url: string; schema: string } | { kind: 'sqlite'; file: string };

export interface OpenOptions {
  migrate: boolean;
  poolSize?: number;
  applicationName?: string;
  retryTimeoutMs?: number;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** Clients never create databases; they read what an application made. */
  createDatabase?: boolean;
  /** PostgreSQL: idle_in_transaction_session_timeout for the pool's sessions (ms; 0 or less leaves the server's). */
  idleInTransactionTimeoutMs?: number;
}

export async function openSystemDatabase(location: DatabaseLocation, options: OpenOptions): Promise<SqlDriver> {
  if (location.kind === 'sqlite') {
    const driver = new SqliteDriver({ file: location.file, synchronous: options.sqliteSynchronous });
    try {
      if (options.migrate) migrateSqlite(driver.db);
      else await checkVersion(driver);
    } catch (err) {
      await driver.close();
      throw err;
    }
    return driver;
  }
  let driver: PostgresDriver;
  try {
    driver = await PostgresDriver.open({
      url: location.url,
      schema: location.schema,
      poolSize: options.poolSize ?? 10,
      applicationName: options.applicationName,
      retry: options.retryTimeoutMs !== undefined ? { timeoutMs: options.retryTimeoutMs } : undefined,
      createDatabase: options.createDatabase ?? options.migrate,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
    });
  } catch (err) {
    throw openFailure(location.url, err);
  }
  try {
    if (options.migrate) await migratePostgres(driver.rawPool, location.schema);
    else await checkVersion(driver);
  } catch (err) {
    await driver.close();
    throw err instanceof DBOSInitializationError ? redactError(err) : openFailure(location.url, err);
  }
  return driver;
}

/**
 * Creates or migrates a system database without launching anything (DBOS.migrate), typically as a privileged role,
 * and optionally grants `applicationRole` what an application needs to run on it. SQLite has no roles: a file is
 * migrated, and a role is ignored.
 */
export async function migrateSystemDatabase(
  location: DatabaseLocation,
  options: { applicationRole?: string } = {},
): Promise<void> {
  const driver = await openSystemDatabase(location, { migrate: true, poolSize: 1 });
  try {
    if (location.kind === 'postgres' && options.applicationRole && driver instanceof PostgresDriver) {
      await grantApplicationRole(driver.rawPool, location.schema, options.applicationRole).catch((err: Error) => {
        const what = `role ${options.applicationRole} access to schema ${location.schema}`;
        throw new DBOSInitializationError(`Migrated the system database, but could not grant ${what}: ${err.message}`, err);
      });
    }
  } finally {
    await driver.close();
  }
}

/** Why the system database could not be opened, naming it by its URL without the password. */
function openFailure(url: string, err: unknown): DBOSInitializationError {
  const reason = redactSecrets((err as Error)?.message ?? String(err));
  const cause = redactError(err);
  return new DBOSInitializationError(`Cannot prepare the system database at ${redactUrl(url)}: ${reason}`, cause instanceof Error ? cause : new Error(String(cause)));
}

const VERSION = { name: 'transact_schema_version', postgres: 'SELECT max(version) AS version FROM dbos.dbos_migrations' };

async function checkVersion(driver: SqlDriver): Promise<void> {
  let version: number | undefined;
  try {
    const rows = await driver.query<{ version: number | null }>(VERSION);
    version = rows[0]?.version ?? undefined;
  } catch {
    version = undefined;
  }
  if (version === undefined || version < SCHEMA_VERSION) {
    throw new DBOSInitializationError(
      `The system database is at schema version ${version ?? 'none'}; version ${SCHEMA_VERSION} is required. ` +
        'Launch the application (or run migrations) first.',
    );
  }
}
