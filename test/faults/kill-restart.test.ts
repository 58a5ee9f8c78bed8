// SIGKILL on PostgreSQL. Three workers with fixed executor IDs serve one queue (workerConcurrency 10) while 600
// three-step workflows are enqueued through DBOSClient. Every ~2 s a random worker is SIGKILLed and at once replaced
// by a new process under the same executor ID (six times); it recovers its predecessor's unfinished work at launch.
// Then: every workflow SUCCESS with the right result, and no step executed beyond one per kill for the step in
// flight (see support/verdict.ts).
//
// A second scenario kills one worker and never restarts it: the others take its work over when its heartbeat lease
// lapses, and finish it within the lease (plus one heartbeat interval and the claim).

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import { assertPromiseKept, pause, pick, Scenario } from './support/scenario.js';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once under SIGKILL',
  () => {
    it('kill and restart under fixed executor IDs: 600 workflows, six kills', async () => {
      const s = (scenario = await Scenario.create({
        name: 'kill-restart-fixed-ids',
        backend: 'postgres',
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: '3000', FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '10-90' },
      }));
      const labels = ['w1', 'w2', 'w3'];
      const first = labels.map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(first.map((w) => s.cluster.ready(w)));

      const feeding = s.enqueueSteadily(600, 50); // ~12 s: work in flight during the whole schedule
      for (let i = 0; i < 6; i++) {
        await pause(1500 + Math.random() * 1000); // the fault schedule
        const victim = pick(s.cluster.live());
        await s.cluster.kill(victim);
        s.cluster.start(victim.label, { executorID: victim.label });
      }
      await feeding;
      await s.waitForAll(60_000);
      const verdict = await s.verdict();
      assert.equal(verdict.counts.faults.kill, 6);
      assertPromiseKept(verdict, s.cluster);
    });

    it('a worker killed and never restarted: the others finish its work once its lease lapses', async () => {
      const LEASE_MS = 2000;
      const s = (scenario = await Scenario.create({
        name: 'kill-no-restart',
        backend: 'postgres',
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '20-120' },
      }));
      const [w1, w2, victim] = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all([w1!, w2!, victim!].map((w) => s.cluster.ready(w)));

      const feeding = s.enqueueSteadily(240, 60);
      // Strike while the victim is in the middle of several workflows.
      await waitUntil(async () => (await s.ledger.inFlightAt(victim!.incarnation)).length >= 3, {
        timeoutMs: 20_000,
        intervalMs: 10,
        message: 'the victim busy with three workflows',
      });
      await s.cluster.kill(victim!);
      const killedAt = Date.now();
      await feeding;
      await s.waitForAll(LEASE_MS + 30_000);
      const verdict = await s.verdict();
      assertPromiseKept(verdict, s.cluster);

      // The victim's unfinished workflows were finished by the others, within the lease of its death (plus a
      // heartbeat interval, lease/3, to notice, and a second for the claim and the remaining steps).
      const unfinished = await s.ledger.inFlightAt(victim!.incarnation);
      assert.ok(unfinished.length > 0, 'the victim died with work in flight');
      const states = await s.systemState();
      const finishedAt = await Promise.all(unfinished.map(async (id) => (await s.client.getWorkflow(id))?.completedAt ?? Infinity));
      const takeover = Math.max(...finishedAt) - killedAt;
      console.log(`kill-no-restart: ${unfinished.length} workflows in flight at the kill, all finished ${takeover} ms after it (lease ${LEASE_MS} ms)`);
      for (const id of unfinished) assert.notEqual(states.get(id)?.executorID, 'w3', `${id} was finished by a live worker`);
      assert.ok(takeover < LEASE_MS + LEASE_MS / 3 + 1000, `took ${takeover} ms to finish the dead worker's work`);
    });
  },
  ['postgres'],
);
