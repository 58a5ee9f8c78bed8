// SIGKILL on PostgreSQL. Three workers with fixed executor IDs serve one queue (workerConcurrency 10) while 600
// three-step workflows are enqueued through DBOSClient. Every ~2 s a random worker is SIGKILLed and at once replaced
// by a new process under the same executor ID (six times); it recovers its predecessor's unfinished work at launch.
// Then: every workflow SUCCESS with the right result, and no step executed beyond one per kill for the step in
// flight (see support/verdict.ts).
//
// Then one worker is killed and never restarted: the others finish its work within its lease. Once on this host
// (the others may see at once that its process is gone), once as if on another host (in a PID namespace of its own:
// only its heartbeat lease lapsing tells the others it is dead).

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import { ownPidNamespaceUnavailable } from './support/cluster.js';
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

    for (const remote of [false, true]) {
      const title = remote
        ? 'a worker killed and never restarted, as if on another host: the others finish its work when its lease lapses'
        : 'a worker killed and never restarted: the others finish its work within the lease';
      const skip = remote ? ownPidNamespaceUnavailable : undefined;
      it(title, { skip }, () => killedForGood(remote));
    }
  },
  ['postgres'],
);

/**
 * Three workers; the third is SIGKILLed in the middle of several workflows and never restarted. The others must
 * finish its work within its lease (plus a heartbeat interval, lease/3, to notice, and a second for the claim and
 * the remaining steps). `remote`: the victim runs in a PID namespace of its own, so the others cannot see that its
 * process is gone and must wait for its lease to lapse; they must not take its work before it could have lapsed.
 */
async function killedForGood(remote: boolean): Promise<void> {
  const LEASE_MS = 2000;
  const name = remote ? 'kill-no-restart-remote' : 'kill-no-restart';
  const s = (scenario = await Scenario.create({
    name,
    backend: 'postgres',
    workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '20-120' },
  }));
  const w1 = s.cluster.start('w1', { executorID: 'w1' });
  const w2 = s.cluster.start('w2', { executorID: 'w2' });
  const victim = s.cluster.start('w3', { executorID: 'w3', ownPidNamespace: remote });
  await Promise.all([w1, w2, victim].map((w) => s.cluster.ready(w)));

  const feeding = s.enqueueSteadily(240, 60);
  // Strike while the victim is in the middle of several workflows.
  await waitUntil(async () => (await s.ledger.inFlightAt(victim.incarnation)).length >= 3, {
    timeoutMs: 20_000,
    intervalMs: 10,
    message: 'the victim busy with three workflows',
  });
  await s.cluster.kill(victim);
  const killedAt = Date.now();
  await feeding;
  await s.waitForAll(LEASE_MS + 30_000);
  const verdict = await s.verdict();
  assertPromiseKept(verdict, s.cluster);

  const unfinished = await s.ledger.inFlightAt(victim.incarnation);
  assert.ok(unfinished.length > 0, 'the victim died with work in flight');
  const states = await s.systemState();
  const finishedAt = await Promise.all(unfinished.map(async (id) => (await s.client.getWorkflow(id))?.completedAt ?? Infinity));
  const takeover = Math.max(...finishedAt) - killedAt;
  // When the others first touched the victim's unfinished work (a step, or the body's return on replay).
  const resumedAt = Math.min(
    ...(await s.ledger.executions()).filter((e) => unfinished.includes(e.workflowID) && e.incarnation !== victim.incarnation).map((e) => e.atMs),
  );
  console.log(
    `${name}: ${unfinished.length} workflows in flight at the kill, resumed ${resumedAt - killedAt} ms and all finished ` +
      `${takeover} ms after it (lease ${LEASE_MS} ms)`,
  );
  for (const id of unfinished) assert.notEqual(states.get(id)?.executorID, 'w3', `${id} was finished by a live worker`);
  assert.ok(takeover < LEASE_MS + LEASE_MS / 3 + 1000, `took ${takeover} ms to finish the dead worker's work`);
  if (remote) {
    // Its last beat was at most lease/3 before the kill: its lease could not lapse before 2/3 of a lease after it.
    assert.ok(resumedAt - killedAt >= (LEASE_MS * 2) / 3 - 50, `its work was taken ${resumedAt - killedAt} ms after the kill, before its lease could lapse`);
  }
}
