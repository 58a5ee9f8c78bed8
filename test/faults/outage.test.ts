// The system database goes away under live workers (PostgreSQL, on a private server of the test's own, so the shared
// server is never touched; the ledger stays on the shared server). Three workers with fixed executor IDs drain
// queued work; the server is stopped (fast shutdown: every session is cut), kept down longer than the heartbeat lease,
// and started again. Nothing may crash, everything finishes, and the only steps that may run again are those in
// flight when the database went away: the outage is stamped as a fault of every live process once the server is down.

import assert from 'node:assert/strict';
import { after, afterEach, before, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { PrivatePostgres, privatePostgresUnavailable } from '../support/private-postgres.js';
import { waitUntil } from '../support/wait.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';

const LEASE_MS = 3000;
let server: PrivatePostgres | undefined;
let scenario: Scenario | undefined;
before(async () => {
  if (!privatePostgresUnavailable) server = await PrivatePostgres.create();
});
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(async () => {
  server?.destroy();
  await dropFreshDatabases();
});

describeEachBackend(
  'exactly once when the system database goes away',
  () => {
    it('the server stopped for longer than the lease under three busy workers, then started again', { skip: privatePostgresUnavailable }, async () => {
      const s = (scenario = await Scenario.create({
        name: 'database-outage',
        backend: 'postgres',
        systemDatabaseUrl: server!.url,
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '50-150' },
      }));
      const workers = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(workers.map((w) => s.cluster.ready(w)));
      await s.enqueue(400, 20); // all up front: the test's own client is cut off during the outage too

      await waitUntil(async () => ((await s.statusCounts()).SUCCESS ?? 0) >= 60, { timeoutMs: 30_000, message: '60 finished' });
      server!.stop();
      const downAt = await s.cluster.stampAll('outage');
      await pause(LEASE_MS + 1000); // the outage's length: part of the fault, not a wait for a condition
      server!.start();
      const upAfter = Date.now() - downAt;
      await s.waitForAll(60_000);
      const verdict = await s.verdict();
      console.log(`database-outage: the server was down ${upAfter} ms (lease ${LEASE_MS} ms)`);
      assert.equal(verdict.counts.faults.outage, 3);
      assertPromiseKept(verdict, s.cluster);
    });
  },
  ['postgres'],
);
