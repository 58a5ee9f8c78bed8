// Three processes on one embedded SQLite file, with repeated SIGKILLs (each victim replaced at once under the same
// executor ID). The ledger is in PostgreSQL, outside the file. Afterwards the verdict holds and the file passes
// PRAGMA integrity_check.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { assertPromiseKept, pause, pick, Scenario } from './support/scenario.js';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once on one SQLite file',
  () => {
    it('three processes on one SQLite file, SIGKILLed again and again', async () => {
      const s = (scenario = await Scenario.create({
        name: 'sqlite-three-processes',
        backend: 'sqlite',
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: '3000', FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '10-60' },
      }));
      const labels = ['w1', 'w2', 'w3'];
      const first = labels.map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(first.map((w) => s.cluster.ready(w)));

      const feeding = s.enqueueSteadily(200, 30);
      for (let i = 0; i < 5; i++) {
        await pause(800 + Math.random() * 600); // the fault schedule
        const victim = pick(s.cluster.live());
        await s.cluster.kill(victim);
        s.cluster.start(victim.label, { executorID: victim.label });
      }
      await feeding;
      await s.waitForAll(60_000);
      const verdict = await s.verdict();
      await s.cluster.killAll(); // no process holds the file while it is checked
      assert.equal(s.integrityCheck(), 'ok');
      assert.equal(verdict.counts.faults.kill, 5);
      assertPromiseKept(verdict, s.cluster);
    });
  },
  ['sqlite'],
);
