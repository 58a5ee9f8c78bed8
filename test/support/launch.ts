// Launching the engine on a test database, with quiet logs and a fixed application version (so a restarted
// worker process recovers the workflows of the one before it).

import { after, before } from 'node:test';
import { DBOS, type DBOSConfig } from '../../src/index.js';
import { freshDatabase, type BackendKind } from './backends.js';

export const TEST_APP = 'transact-test';
export const TEST_VERSION = 'test-v1';

export async function launchOn(url: string, config: Partial<DBOSConfig> = {}): Promise<void> {
  DBOS.setConfig({ name: TEST_APP, systemDatabaseUrl: url, applicationVersion: TEST_VERSION, logLevel: 'error', ...config });
  await DBOS.launch();
}

/**
 * For a describe block: a fresh database of this kind, the engine launched on it before the tests and shut down
 * after. Returns a getter for the database URL.
 */
export function engineOn(kind: BackendKind, tag: string, config: Partial<DBOSConfig> = {}): () => string {
  let url = '';
  before(async () => {
    url = freshDatabase(kind, tag);
    await launchOn(url, config);
  });
  after(() => DBOS.shutdown());
  return () => url;
}
