// Two live processes given the same executor ID (PostgreSQL): a misconfiguration, or a replacement started while the
// old process still runs (a pod rescheduled under a fixed name while the old one hangs on). The second one's launch
// recovers the first one's unfinished work while the first is still running it. However the engine resolves the
// clash, the promise must hold: no step runs twice unless cut short by a fault, nothing is lost or left behind.
//
// TODO (reported to the lead, not part of the brief's list): on the engine of a151f49/edabab4 the steps that the first
// process was running when the second one launched are run again (by the first process itself after re-claiming, or
// by a peer), although the first process was never faulted. If a launch under a live executor ID is meant to
// supersede the old process, the verdict needs that as a fault of the old incarnation (stamped when the successor
// recovered its work); until that is decided this scenario runs as a todo.

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
    const todo = 'a launch under a live executor ID re-runs the old process’s steps in flight (see the header)';
    it('a second process launched under a live process’s executor ID', { todo }, async () => {
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
      await s.cluster.ready(s.cluster.start('x', { executorID: 'shared' })); // x#2, while x#1 runs on
      await feeding;
      await s.waitForAll(40_000);
      assertPromiseKept(await s.verdict(), s.cluster);
    });
  },
  ['postgres'],
);
