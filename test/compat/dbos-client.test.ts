// The system-database compatibility promise, checked with the real thing: DBOS's own published client
// (@dbos-inc/dbos-sdk 5.3.0, installed in compat/dbos-client) enqueues into, reads and waits on a database that a
// Transact application runs on.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

const compatDir = fileURLToPath(new URL('../../compat/dbos-client/', import.meta.url));
const installed = existsSync(`${compatDir}node_modules/@dbos-inc/dbos-sdk`);

const step = DBOS.registerStep(async (a: number, b: number) => a + b, { name: 'sumStep' });
const addNumbers = DBOS.registerWorkflow(
  async (a: number, b: number) => ({ sum: await step(a, b), when: new Date(Date.UTC(2026, 0, 1)) }),
  { name: 'addNumbers' },
);
const failing = DBOS.registerWorkflow(
  async () => {
    throw new RangeError('nothing in range');
  },
  { name: 'failing' },
);

const skip =
  process.env.CI === 'true'
    ? undefined
    : (postgresUnavailable ?? (installed ? undefined : 'DBOS client not installed: npm ci --prefix compat/dbos-client'));

after(dropFreshDatabases);

describe('DBOS’s own client on a Transact database [postgres]', { skip }, () => {
  let url: string;
  before(async () => {
    url = freshDatabase('postgres', 'dbosclient');
    await launchOn(url);
  });
  after(() => DBOS.shutdown());

  it('enqueues, waits, reads status and steps, and sees failures as Transact recorded them', async () => {
    await (await DBOS.startWorkflow(addNumbers, { workflowID: 'transact-native' })(1, 2)).getResult();
    await DBOS.startWorkflow(failing, { workflowID: 'transact-failing' })().then((h) => h.getResult().catch(() => {}));

    // Asynchronously: this process must keep running workflows while the client waits for one.
    const run = await promisify(execFile)(process.execPath, ['drive.mjs'], {
      cwd: compatDir,
      env: { ...process.env, TEST_DB_URL: url },
      timeout: 60_000,
    });
    const seen = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.deepEqual(seen, {
      enqueued: { sum: 42, whenIsDate: true, when: '2026-01-01T00:00:00.000Z' },
      native: { sum: 3, whenIsDate: true },
      status: { status: 'SUCCESS', workflowName: 'addNumbers', input: [1, 2] },
      steps: [{ functionID: 0, name: 'sumStep', output: 3 }],
      listed: ['official-enqueue', 'transact-native'],
      failing: { name: 'RangeError', message: 'nothing in range' },
    });
  });
});
