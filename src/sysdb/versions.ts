// The application_versions family: which versions of an application exist, and which is the latest.

import { randomUUID } from 'node:crypto';
import { sql, type SqlDriver } from './driver.js';

// ON CONFLICT DO NOTHING: relaunching an old version must not make it the latest again (dbos-spec §3.5).
const INSERT_VERSION = sql(
  'transact_insert_version',
  `INSERT INTO dbos.application_versions (version_id, version_name, application_name)
   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
);

const LATEST_VERSION = sql(
  'transact_latest_version',
  `SELECT version_name FROM dbos.application_versions
    WHERE application_name = $1 OR application_name IS NULL
    ORDER BY version_timestamp DESC, created_at DESC LIMIT 1`,
);

export async function registerApplicationVersion(db: SqlDriver, version: string, applicationName: string): Promise<void> {
  await db.query(INSERT_VERSION, [randomUUID(), version, applicationName]);
}

export async function getLatestApplicationVersion(db: SqlDriver, applicationName: string): Promise<string | undefined> {
  const rows = await db.query<{ version_name: string }>(LATEST_VERSION, [applicationName]);
  return rows[0]?.version_name;
}
