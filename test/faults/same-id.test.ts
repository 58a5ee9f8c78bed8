// Two live processes given the same executor ID (PostgreSQL): a misconfiguration, or a replacement started while the
// old process still runs (a pod rescheduled under a fixed name while the old one hangs on). A launch under an executor
// ID whose holder may still be running waits for that process to stop or its lease to lapse; while it keeps beating,
// the launch fails with a clear error instead of recovering work that is still being run. The promise holds: no step
// runs twice, nothing is lost or left behind, and the refused process ran nothing.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once when two live processes share an executor ID',
  () => {
    it('refuses a second process launched under a live process’s executor ID, and runs nothing twice', async () => {
      const s = (scenario = await Scenario.create({
        name: 'same-id-twice',
        backend: 'postgres',
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: '3000', FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '20-100' },
      }));
      const first = s.cluster.start('x', { executorID: 'shared' });
      const peer = s.cluster.start('y', { executorID: 'other' });
      await Promise.all([first, peer].map((w) => s.cluster.ready(w)));

      const feeding = s.enqueueSteadily(200, 40);
      await waitUntil(async () => (await s.ledger.inFlightAt(first.incarnation)).length >= 3, {
        timeoutMs: 20_000,
        intervalMs: 10,
        message: 'the first process busy with three workflows',
      });
      const second = s.cluster.start('x', { executorID: 'shared' }); // x#2, while x#1 runs on
      const exit = await Promise.race([
        second.worker.exited,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the second launch was neither refused nor ended')), 30_000)),
      ]);
      second.ended = 'refused';
      assert.notEqual(exit, 0, 'the second launch failed');
      assert.match(second.worker.stderr(), /Executor ID shared is in use by a running process/);
      await feeding;
      await s.waitForAll(40_000);
      const verdict = await s.verdict();
      assertPromiseKept(verdict, s.cluster);
      const ranBySecond = (await s.ledger.executions()).filter((e) => e.incarnation === second.incarnation);
      assert.equal(ranBySecond.length, 0, 'the refused process ran nothing');
    });
  },
  ['postgres'],
);
