// PostgreSQL down for longer than the driver's retry budget. The workers give up on a statement after 3 s
// (databaseRetryTimeoutMs, instead of the default 120 s), and the server the test runs itself is stopped with
// `-m immediate` for about 10 s in the middle of a drain, then started again. The outage must pause the work, never
// decide it: no workflow may be recorded ERROR (or fail in any way) because of it, no worker may die, every workflow
// ends SUCCESS with its result, and no step may run twice (the outage explains no execution; the heartbeat lease is
// the default 30 s, which the outage does not reach, so no executor is presumed dead).

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { FaultPostgres, faultPostgresUnavailable } from './support/pg-server.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';
import { failureEvidence, recordServerFault, returnedTwice, waitForReturns } from './support/server-faults.js';

const WORKFLOWS = 400;
const RETRY_BUDGET_MS = 3000;
const OUTAGE_MS = 10_000;
let scenario: Scenario | undefined;
let server: FaultPostgres | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
  server?.destroy();
  server = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once across an outage longer than the retry budget',
  () => {
    it(`PostgreSQL down ${OUTAGE_MS / 1000} s mid-drain, databaseRetryTimeoutMs ${RETRY_BUDGET_MS} ms`, { skip: faultPostgresUnavailable }, async () => {
      server = await FaultPostgres.create();
      const s = (scenario = await Scenario.create({
        name: 'pg-outage',
        backend: 'postgres',
        systemDatabaseUrl: server.url('transact_faults'),
        workerEnv: {
          FAULT_APP_VERSION: 'faults-v1',
          FAULT_DB_RETRY_MS: String(RETRY_BUDGET_MS),
          FAULT_WORKER_CONCURRENCY: '10',
          FAULT_STEP_MS: '20-100',
          FAULT_GAP_MS: '0-50',
        },
      }));
      const workers = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(workers.map((w) => s.cluster.ready(w)));

      const started = Date.now();
      await s.enqueue(WORKFLOWS, 20);
      await waitForReturns(s, WORKFLOWS / 4, 60_000);
      server.stop('immediate');
      const downAtMs = Date.now();
      await recordServerFault(s, 'short-outage', downAtMs);
      await pause(OUTAGE_MS); // the fault schedule: the outage's length
      server.start();
      const upAtMs = Date.now();
      const finished = await s.waitForAll(90_000);
      const drainMs = Date.now() - started;
      const verdict = await s.verdict();
      for (const line of await failureEvidence(s)) console.log(`pg-outage: ${line}`);
      console.log(
        `pg-outage: down at +${downAtMs - started} ms for ${upAtMs - downAtMs} ms; all finished ${Date.now() - upAtMs} ms after it came back ` +
          `(finished: ${finished}; drain ${drainMs} ms)`,
      );
      assert.equal(verdict.counts.faults['short-outage'], 1);
      assertPromiseKept(verdict, s.cluster);
      assert.equal(verdict.counts.allowedExtra, 0, 'no process died: no step may have run twice');
      assert.deepEqual(returnedTwice(await s.ledger.executions()), [], 'no workflow body ran again after it returned');
    });
  },
  ['postgres'],
);
