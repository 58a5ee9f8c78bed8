// A workflow in flight when PostgreSQL restarts completes once the server is back: statements that fail with
// connection errors are retried with backoff, and the LISTEN connection re-establishes itself.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { postgresUnavailable } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { PrivatePostgres, privatePostgresUnavailable } from '../support/private-postgres.js';
import { latch, waitUntil } from '../support/wait.js';

let gate = latch();
const effects: number[] = [];
const record = DBOS.registerStep(
  async (i: number) => {
    if (i === 1) await gate.promise;
    effects.push(i);
    return i;
  },
  { name: 'record' },
);
const throughRestart = DBOS.registerWorkflow(
  async () => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push(await record(i));
    return out;
  },
  { name: 'throughRestart' },
);

const unavailable = postgresUnavailable ?? privatePostgresUnavailable;
describe('a PostgreSQL restart [postgres]', { skip: unavailable && process.env.CI !== 'true' ? unavailable : undefined }, () => {
  let server: PrivatePostgres;
  before(async () => {
    server = await PrivatePostgres.create();
    await launchOn(server.url);
  });
  after(async () => {
    await DBOS.shutdown();
    server.destroy();
  });

  it('does not lose a workflow that was running when the server restarted', async () => {
    const handle = await DBOS.startWorkflow(throughRestart, { workflowID: 'through-restart' })();
    await waitUntil(async () => (await DBOS.listWorkflowSteps('through-restart'))?.length === 1, { message: 'step 0 recorded' });
    server.stop();
    gate.release(); // step 1 finishes while the server is down: its checkpoint must wait for the server
    await waitUntil(() => effects.length === 2, { message: 'the second step to run' });
    server.start();
    assert.deepEqual(await handle.getResult(), [0, 1, 2]);
    assert.deepEqual(effects, [0, 1, 2], 'no step ran twice');
    const steps = await DBOS.listWorkflowSteps('through-restart');
    assert.deepEqual(steps?.map((s) => s.output), [0, 1, 2]);
    // The engine keeps working after the outage: a new workflow starts and completes.
    gate = latch();
    gate.release();
    assert.deepEqual(await DBOS.startWorkflow(throughRestart)().then((h) => h.getResult()), [0, 1, 2]);
  });
});
