// SIGSTOP, then SIGCONT (PostgreSQL). Worker a is stopped while it is in the middle of workflows (some inside a step,
// some between two steps: the workflow body pauses between steps), and its work is taken over while it is stopped:
//   - by a peer, worker b, once a's heartbeat lease lapses (a stays stopped past its lease);
//   - by its successor, a new process launched under a's executor ID (a restart that found the old process hung),
//     which recovers a's unfinished work at launch.
// Everything finishes; then a is continued. It may finish the step it was running when it was stopped (that step's
// re-run by the new owner is the only extra execution allowed), but it must start no other step and change nothing in
// the system database for the workflows it no longer owns.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import type { WorkerRun } from './support/cluster.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';

const LEASE_MS = 2000;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

/** Runs the scenario; `takeOver` starts whoever takes a's work over while a is stopped. */
async function pausedWorker(name: string, peer: boolean): Promise<void> {
  const s = (scenario = await Scenario.create({
    name,
    backend: 'postgres',
    workerEnv: {
      FAULT_APP_VERSION: 'faults-v1',
      FAULT_LEASE_MS: String(LEASE_MS),
      FAULT_WORKER_CONCURRENCY: '8',
      FAULT_STEP_MS: '50-200',
      FAULT_GAP_MS: '50-200',
    },
  }));
  const a = s.cluster.start('a', { executorID: 'a' });
  const others: WorkerRun[] = peer ? [s.cluster.start('b', { executorID: 'b' })] : [];
  await Promise.all([a, ...others].map((w) => s.cluster.ready(w)));

  await s.enqueue(60);
  // Strike in full flow: a has finished some workflows and is in the middle of six (at various steps).
  await waitUntil(async () => (await s.ledger.returnsBy(a.incarnation)) >= 4 && (await s.ledger.inFlightAt(a.incarnation)).length >= 6, {
    timeoutMs: 20_000,
    intervalMs: 5,
    message: 'a busy with six workflows, after finishing four',
  });
  const stoppedAt = await s.cluster.stop(a);
  const held = await s.ledger.inFlightAt(a.incarnation);
  if (!peer) await s.cluster.ready(s.cluster.start('a', { executorID: 'a' })); // the successor, a#2
  await s.waitForAll(LEASE_MS + 30_000);
  const before = await s.systemState();

  s.cluster.cont(a);
  // Let a run until it has let go of every workflow body it was in (they fail: it no longer owns them).
  const settled = await waitUntil(async () => (await s.cluster.status(a)).inFlight === 0 && true, {
    timeoutMs: 15_000,
    intervalMs: 100,
    message: 'the continued worker letting go of the workflows it lost',
  }).catch((err: Error) => err);
  const after = await s.systemState();
  const verdict = await s.verdict();

  // Step executions only: a body that was past its last checkpointed step when it was stopped returns after SIGCONT
  // (its `return` row is plain code of the body, not a step; its completion is refused, see `after`).
  const lateRows = (await s.ledger.executions()).filter((e) => e.incarnation === a.incarnation && e.kind === 'step' && e.atMs > stoppedAt);
  console.log(`${name}: a held ${held.length} workflows when stopped; after SIGCONT it started ${lateRows.length} steps`);
  // Every check is made, and all that fail are reported together.
  const failures: string[] = [];
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      failures.push((err as Error).message);
    }
  };
  check(() => assertPromiseKept(verdict, s.cluster));
  check(() =>
    assert.deepEqual(
      lateRows.map((e) => `${e.workflowID} step ${e.step} at ${e.atMs}`),
      [],
      'a started no step after it was stopped (the step it was running needed no new row)',
    ),
  );
  check(() => assert.deepEqual(after, before, "the new owner's results stand: a changed nothing in the system database"));
  check(() => assert.equal(settled, true, `a let go of what it lost: ${settled}`));
  // The new owner ran (or replayed) each held workflow to its end: its body returned there.
  const returns = (await s.ledger.executions()).filter((e) => e.kind === 'return' && e.incarnation !== a.incarnation);
  for (const id of held) check(() => assert.ok(returns.some((e) => e.workflowID === id), `${id} was finished by the new owner`));
  assert.deepEqual(failures, []);
}

describeEachBackend(
  'exactly once when a worker is paused',
  () => {
    it('SIGSTOP past the lease, a peer takes over, SIGCONT: the paused worker records nothing more', () =>
      pausedWorker('sigstop-peer-takes-over', true));

    it('SIGSTOP, a successor launched under the same executor ID, SIGCONT: the paused worker records nothing more', () =>
      pausedWorker('sigstop-successor-same-id', false));
  },
  ['postgres'],
);
