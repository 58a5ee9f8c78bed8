// Launching the engine on a test database, with quiet logs and a fixed application version (so a restarted
// worker process recovers the workflows of the one before it).

import { DBOS, type DBOSConfig } from '../../src/index.js';

export const TEST_APP = 'transact-test';
export const TEST_VERSION = 'test-v1';

export async function launchOn(url: string, config: Partial<DBOSConfig> = {}): Promise<void> {
  DBOS.setConfig({ name: TEST_APP, systemDatabaseUrl: url, applicationVersion: TEST_VERSION, logLevel: 'error', ...config });
  await DBOS.launch();
}
