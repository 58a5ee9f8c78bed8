// What a launch says about itself, and what it refuses in a configuration, before anything is opened: which system
// database it uses (a PostgreSQL URL without its password, or the SQLite file), this executor's ID and the
// application version, at `info` level; a warning for configuration keys that mean nothing here (only possible from
// plain JavaScript: DBOSConfig is exact for the compiler); and a refusal of DBOS settings Transact cannot honour.

import { DBOSInitializationError } from '../errors.js';
import type { DatabaseLocation } from '../sysdb/open.js';
import { DBOS_CONFIG_KEYS, type DBOSConfig } from './config.js';
import type { Logger } from '../logger.js';

/** Throws for settings that cannot be honoured, and warns about keys DBOSConfig does not have. */
export function checkConfig(config: DBOSConfig, logger: Logger): void {
  if (config.systemDatabasePool !== undefined) {
    throw new DBOSInitializationError(
      'systemDatabasePool is not supported: Transact opens its own connections; give systemDatabaseUrl instead',
    );
  }
  if (config.serializer !== undefined) {
    throw new DBOSInitializationError(
      'A custom serializer is not supported: Transact stores values in DBOS\'s native and portable formats; ' +
        'teach the native format your own types with DBOS.registerSerialization instead',
    );
  }
  const known = new Set<string>(DBOS_CONFIG_KEYS);
  const unknown = Object.keys(config).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    logger.warn(`Unknown configuration key(s) ignored: ${unknown.join(', ')} (see DBOSConfig for the settings Transact has)`);
  }
}

/** The system database as it may be shown in a log: no password. */
export function describeLocation(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return `SQLite ${location.file}`;
  let shown = location.url;
  try {
    const url = new URL(location.url);
    url.password = '';
    shown = url.toString();
  } catch {
    shown = location.url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1@');
  }
  return `PostgreSQL ${shown} (schema ${location.schema})`;
}

export function reportLaunch(
  logger: Logger,
  location: DatabaseLocation,
  identity: { applicationName: string; executorID: string; applicationVersion: string },
): void {
  logger.info(
    `Launching ${identity.applicationName}: system database ${describeLocation(location)}, executor ${identity.executorID}, ` +
      `application version ${identity.applicationVersion}`,
  );
}
