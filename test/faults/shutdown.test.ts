// Clean shutdowns on PostgreSQL. A worker is asked to stop (SIGTERM: it calls DBOS.shutdown() and exits) while it is
// in the middle of workflows, and is not replaced; then all three workers are restarted one by one (each shut down
// cleanly and replaced by a new process under the same executor ID). Every workflow finishes; what a stopped worker
// left unfinished is continued by a live one promptly, well within the heartbeat lease (a clean shutdown is not a
// death to be detected by silence); and a clean shutdown excuses only a step still running when it was asked for.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import type { WorkerRun } from './support/cluster.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';

/** Long enough that a handoff "well within the lease" cannot be the lease lapsing. */
const LEASE_MS = 8000;
const PROMPT_MS = LEASE_MS / 2;
const workerEnv = { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '50-150' };

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

async function busy(s: Scenario, run: WorkerRun, workflows: number): Promise<void> {
  await waitUntil(async () => (await s.ledger.inFlightAt(run.incarnation)).length >= workflows, {
    timeoutMs: 20_000,
    intervalMs: 10,
    message: `${run.incarnation} busy with ${workflows} workflows`,
  });
}

/**
 * How long after `run` exited the workflows it left unfinished (ran a step of, never returned from) were finished
 * by others; checks that each did finish.
 */
async function handoffMs(s: Scenario, run: WorkerRun): Promise<{ unfinished: number; ms: number }> {
  const unfinished = await s.ledger.inFlightAt(run.incarnation);
  let last = 0;
  for (const id of unfinished) {
    const status = await s.client.getWorkflow(id);
    assert.equal(status?.status, 'SUCCESS', `${id}, left unfinished by ${run.incarnation}, finished`);
    last = Math.max(last, status!.completedAt!);
  }
  return { unfinished: unfinished.length, ms: unfinished.length === 0 ? 0 : last - run.exitedAtMs! };
}

describeEachBackend(
  'exactly once across clean shutdowns',
  () => {
    it('clean shutdown while work is in flight: a live worker continues it promptly', async () => {
      const s = (scenario = await Scenario.create({ name: 'clean-shutdown', backend: 'postgres', workerEnv }));
      const [w1, w2, w3] = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all([w1!, w2!, w3!].map((w) => s.cluster.ready(w)));

      const feeding = s.enqueueSteadily(150, 40);
      await busy(s, w3!, 3);
      await s.cluster.shutdown(w3!);
      await feeding;
      await s.waitForAll(LEASE_MS + 10_000);
      const verdict = await s.verdict();
      assert.equal(verdict.counts.faults.shutdown, 1);
      assertPromiseKept(verdict, s.cluster);
      const handoff = await handoffMs(s, w3!);
      console.log(`clean-shutdown: ${handoff.unfinished} workflows left by w3 finished ${handoff.ms} ms after it exited (lease ${LEASE_MS} ms)`);
      assert.ok(handoff.unfinished > 0, 'w3 was stopped with work in flight');
      assert.ok(handoff.ms < PROMPT_MS, `w3's unfinished work finished ${handoff.ms} ms after it exited`);
    });

    it('rolling restart: each worker shut down cleanly and replaced under the same executor ID', async () => {
      const s = (scenario = await Scenario.create({ name: 'rolling-restart', backend: 'postgres', workerEnv }));
      const labels = ['w1', 'w2', 'w3'];
      const first = labels.map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(first.map((w) => s.cluster.ready(w)));

      const rolling = (async () => {
        for (const old of first) {
          await busy(s, old, 2);
          await s.cluster.shutdown(old);
          await s.cluster.ready(s.cluster.start(old.label, { executorID: old.label }));
        }
      })();
      const feeding = s.enqueueUntil(rolling, 40); // work keeps coming until the last replacement is up
      await rolling;
      await feeding;
      await s.waitForAll(LEASE_MS + 10_000);
      const verdict = await s.verdict();
      assert.equal(verdict.counts.faults.shutdown, 3);
      assertPromiseKept(verdict, s.cluster);
      for (const old of first) {
        const handoff = await handoffMs(s, old);
        console.log(`rolling-restart: ${handoff.unfinished} workflows left by ${old.incarnation} finished ${handoff.ms} ms after it exited`);
        assert.ok(handoff.ms < PROMPT_MS, `${old.incarnation}'s unfinished work finished ${handoff.ms} ms after it exited`);
      }
    });
  },
  ['postgres'],
);
