// The application_versions family: which versions of an application exist, and which is the latest (the highest
// version_timestamp among the application's own and unclaimed rows, dbos-spec §3.5).

import { randomUUID } from 'node:crypto';
import { DBOSError } from '../errors.js';
import { sql, type SqlDriver } from './driver.js';

/**
 * One application_versions row. dbos-spec names only the columns, so the fields are those columns in camelCase,
 * with epoch-millisecond numbers for the two timestamps.
 */
export interface VersionInfo {
  versionId: string;
  versionName: string;
  versionTimestamp: number;
  createdAt: number;
}

// ON CONFLICT DO NOTHING: relaunching an old version must not make it the latest again (dbos-spec §3.5).
const INSERT_VERSION = sql(
  'transact_insert_version',
  `INSERT INTO dbos.application_versions (version_id, version_name, application_name)
   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
);

// Scope: an application's own rows and unclaimed ones; with no application named (a client without one), every row.
const IN_SCOPE = '(application_name = $1 OR application_name IS NULL OR $1 IS NULL)';
const COLUMNS = 'version_id, version_name, version_timestamp, created_at';

const LIST_VERSIONS = sql(
  'transact_list_versions',
  `SELECT ${COLUMNS} FROM dbos.application_versions WHERE ${IN_SCOPE} ORDER BY version_timestamp DESC, created_at DESC`,
);
const LATEST_VERSION = sql(
  'transact_latest_version',
  `SELECT ${COLUMNS} FROM dbos.application_versions WHERE ${IN_SCOPE}
    ORDER BY version_timestamp DESC, created_at DESC LIMIT 1`,
);
const PROMOTE_VERSION = sql(
  'transact_promote_version',
  `UPDATE dbos.application_versions SET version_timestamp = NOWMS
    WHERE version_name = $2 AND ${IN_SCOPE} RETURNING version_id`,
);

function toVersionInfo(r: Record<string, unknown>): VersionInfo {
  return {
    versionId: String(r.version_id),
    versionName: String(r.version_name),
    versionTimestamp: Number(r.version_timestamp),
    createdAt: Number(r.created_at),
  };
}

export async function registerApplicationVersion(db: SqlDriver, version: string, applicationName: string): Promise<void> {
  await db.query(INSERT_VERSION, [randomUUID(), version, applicationName]);
}

/** The application's versions, the latest first. */
export async function listApplicationVersions(db: SqlDriver, applicationName: string | null): Promise<VersionInfo[]> {
  return (await db.query(LIST_VERSIONS, [applicationName])).map(toVersionInfo);
}

export async function latestApplicationVersion(db: SqlDriver, applicationName: string | null): Promise<VersionInfo | undefined> {
  const [row] = await db.query(LATEST_VERSION, [applicationName]);
  return row ? toVersionInfo(row) : undefined;
}

export async function getLatestApplicationVersion(db: SqlDriver, applicationName: string): Promise<string | undefined> {
  return (await latestApplicationVersion(db, applicationName))?.versionName;
}

/** Makes a known version the latest by stamping it with the database's now; an unknown name is an error. */
export async function setLatestApplicationVersion(db: SqlDriver, versionName: string, applicationName: string | null): Promise<void> {
  if ((await db.query(PROMOTE_VERSION, [applicationName, versionName])).length === 0) {
    throw new DBOSError(`Application version ${versionName} does not exist${applicationName ? ` for application ${applicationName}` : ''}`);
  }
}
