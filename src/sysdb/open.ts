// Opening the system database: pick the driver for the location, and bring the schema to the version this build
// speaks (or check that it is there, for processes that must not run DDL).

import { existsSync } from 'node:fs';
import { DBOSInitializationError } from '../errors.js';
import { redactError, redactSecrets, redactUrl } from '../redact.js';
import type { SqlDriver } from './driver.js';
import { grantApplicationRole, migratePostgres, migrateSqlite, SCHEMA_VERSION } from './migrations/index.js';
import { PostgresDriver } from './postgres-driver.js';
import { isTransientDatabaseError, withRetries } from './retry.js';
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
  /**
   * Without `migrate`: how long to keep trying to reach the database before giving up with the reason (ms). Also
   * bounds each PostgreSQL connection attempt, so an address that never answers fails as fast as one that refuses.
   */
  connectTimeoutMs?: number;
}

export async function openSystemDatabase(location: DatabaseLocation, options: OpenOptions): Promise<SqlDriver> {
  if (location.kind === 'sqlite') {
    // A process that only reads and drives an existing database (a client, the CLI) must not leave an empty file
    // (and its folders) behind for a mistyped path.
    if (!options.migrate && location.file !== ':memory:' && !existsSync(location.file)) {
      throw new DBOSInitializationError(`No system database at ${location.file}: the file does not exist. Check the path, or launch the application first.`);
    }
    const driver = new SqliteDriver({ file: location.file, synchronous: options.sqliteSynchronous });
    try {
      if (options.migrate) migrateSqlite(driver.db);
      else await checkVersion(driver, options.connectTimeoutMs, location.file);
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
      connectionTimeoutMs: options.connectTimeoutMs,
    });
  } catch (err) {
    throw openFailure(location.url, err);
  }
  try {
    if (options.migrate) await migratePostgres(driver.rawPool, location.schema);
    else await checkVersion(driver, options.connectTimeoutMs, redactUrl(location.url));
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
  const reason = redactSecrets(describeFailure(err));
  const cause = redactError(err);
  return new DBOSInitializationError(`Cannot prepare the system database at ${redactUrl(url)}: ${reason}`, cause instanceof Error ? cause : new Error(String(cause)));
}

const VERSION = { name: 'transact_schema_version', postgres: 'SELECT max(version) AS version FROM dbos.dbos_migrations', retry: false as const };

/** A database error in words: an AggregateError (every address of `localhost` refused) has an empty message. */
export function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  const inner = (err as { errors?: unknown[] }).errors;
  if (Array.isArray(inner) && inner.length > 0) return [...new Set(inner.map(describeFailure))].join('; ');
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}

/** The table is missing (a database no Transact or DBOS application has launched on), as opposed to unreachable. */
function isMissingTable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '42P01' || code === '3F000' || /no such table/i.test((err as Error)?.message ?? '');
}

async function checkVersion(driver: SqlDriver, connectTimeoutMs: number | undefined, where: string): Promise<void> {
  let version: number | undefined;
  try {
    const policy = { initialDelayMs: 100, maxDelayMs: 1000, timeoutMs: connectTimeoutMs ?? 120_000 };
    const rows = await withRetries(policy, () => driver.query<{ version: number | null }>(VERSION));
    version = rows[0]?.version ?? undefined;
  } catch (err) {
    if (!isMissingTable(err)) {
      const waited = isTransientDatabaseError(err) && connectTimeoutMs !== undefined ? ` (gave up after ${connectTimeoutMs} ms)` : '';
      const cause = redactError(err);
      throw new DBOSInitializationError(
        `Cannot reach the system database at ${where}${waited}: ${redactSecrets(describeFailure(err))}`,
        cause instanceof Error ? cause : new Error(String(cause)),
      );
    }
    version = undefined;
  }
  if (version === undefined || version < SCHEMA_VERSION) {
    throw new DBOSInitializationError(
      `The system database at ${where} is at schema version ${version ?? 'none'}; version ${SCHEMA_VERSION} is required. ` +
        'Launch the application (or run migrations) first.',
    );
  }
}
