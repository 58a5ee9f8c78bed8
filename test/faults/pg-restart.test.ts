// PostgreSQL restarted with `pg_ctl -m immediate` (a crash as every client sees it: all connections drop at once,
// the next start runs crash recovery) three times during a three-worker drain of 2,000 workflows, on a server the
// test runs itself. No worker may die, every workflow ends SUCCESS with its result, and -- since no process died and
// no lease lapsed (each restart takes a second or two; the lease is 10 s) -- no step may run twice: a restart explains
// no execution (support/verdict.ts), the engine retries its writes until the database is back.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { FaultPostgres, faultPostgresUnavailable } from './support/pg-server.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';
import { failureEvidence, recordServerFault, returnedTwice, waitForReturns } from './support/server-faults.js';

const WORKFLOWS = 2000;
const LEASE_MS = 10_000;
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
  'exactly once across PostgreSQL restarts',
  () => {
    it('three immediate-mode restarts during a three-worker drain of 2,000 workflows', { skip: faultPostgresUnavailable }, async () => {
      server = await FaultPostgres.create();
      const s = (scenario = await Scenario.create({
        name: 'pg-restart-immediate',
        backend: 'postgres',
        systemDatabaseUrl: server.url('transact_faults'),
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '5-40' },
      }));
      const workers = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(workers.map((w) => s.cluster.ready(w)));

      const started = Date.now();
      await s.enqueue(WORKFLOWS, 20);
      const restarts: string[] = [];
      // The fault schedule: a restart after a quarter, half and three quarters of the drain.
      for (const fraction of [0.25, 0.5, 0.75]) {
        await waitForReturns(s, Math.floor(WORKFLOWS * fraction), 120_000);
        const { downAtMs, upAtMs } = server.restartImmediately();
        await recordServerFault(s, 'restart', downAtMs);
        restarts.push(`down at +${downAtMs - started} ms for ${upAtMs - downAtMs} ms`);
      }
      const finished = await s.waitForAll(120_000);
      const drainMs = Date.now() - started;
      const verdict = await s.verdict();
      for (const line of await failureEvidence(s)) console.log(`pg-restart-immediate: ${line}`);
      console.log(`pg-restart-immediate: restarts ${restarts.join(', ')}; drained in ${drainMs} ms (finished: ${finished})`);
      assert.equal(verdict.counts.faults.restart, 3);
      assertPromiseKept(verdict, s.cluster);
      assert.equal(verdict.counts.allowedExtra, 0, 'no process died: no step may have run twice');
      assert.deepEqual(returnedTwice(await s.ledger.executions()), [], 'no workflow body ran again after it returned');
    });
  },
  ['postgres'],
);
