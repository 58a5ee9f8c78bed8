// A queue notification arriving while launch() runs (PostgreSQL). One worker is SIGKILLed and restarted again and
// again while work keeps being enqueued, so each new process finds work waiting and gets notifications for its
// queue while it is still launching: besides the enqueues' own, the test announces the queue back to back from spawn
// to `ready`, so that no moment of the launch goes without one. Every step it runs must be a checkpointed step of a workflow it owns: every
// SUCCESS workflow has exactly its 3 step rows in operation_outputs, with the right values, by an incarnation that
// really ran them; and the ledger has no unexplained execution. Once with the queue declared in code, once with it
// registered in the system database (found by the worker's queue catalog, which a notification can make it re-read
// while launch is still under way).

import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once when work arrives during launch',
  () => {
    for (const queueSource of ['code', 'database'] as const) {
      const where = queueSource === 'code' ? 'declared in code' : 'registered in the database';
      it(`a worker restarted under load: queue notifications while launch() runs (queue ${where})`, async () => {
        const s = (scenario = await Scenario.create({
          name: `launch-under-load-${queueSource}`,
          backend: 'postgres',
          queueSource,
          workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: '3000', FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '5-40' },
        }));
        let worker = s.cluster.start('w1', { executorID: 'w1' });
        let notifications = 0;
        await s.cluster.ready(worker);

        const feeding = s.enqueueSteadily(300, 60); // a NOTIFY every ~17 ms, for ~5 s
        for (let i = 0; i < 5; i++) {
          await pause(600 + Math.random() * 400); // the fault schedule
          await s.cluster.kill(worker);
          worker = s.cluster.start('w1', { executorID: 'w1' }); // launches while the feed goes on...
          const ready = s.cluster.ready(worker);
          notifications += await s.announceQueueUntil(ready); // ...and the queue is announced at every moment of it
          await ready;
        }
        await feeding;
        await s.waitForAll(30_000);
        console.log(`launch-under-load-${queueSource}: ${notifications} queue notifications sent during the launches`);
        assertPromiseKept(await s.verdict(), s.cluster);
      });
    }
  },
  ['postgres'],
);
