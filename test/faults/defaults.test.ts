// Two processes with default settings on one system database: no executor ID and no application version are given
// (each process gets Transact's defaults), on the embedded SQLite file and on PostgreSQL. Both launch, work is
// enqueued, one is SIGKILLed mid-drain, and a third process is started with the same defaults. Nothing may run twice
// beyond the steps in flight in the killed process, and nothing may be left behind.
//
// The heartbeat lease is the one setting given (3 s instead of 30 s), to keep the scenario short: it changes how
// soon a dead process is noticed, not who is who.

import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';

const LEASE_MS = 3000;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend('exactly once with default settings', (backend) => {
  it('two default processes, one SIGKILLed mid-drain, a third started with defaults', async () => {
    const s = (scenario = await Scenario.create({
      name: `defaults-${backend}`,
      backend,
      workerEnv: { FAULT_LEASE_MS: String(LEASE_MS), FAULT_WORKER_CONCURRENCY: '10', FAULT_STEP_MS: '20-100' },
    }));
    const [a, b] = ['a', 'b'].map((label) => s.cluster.start(label)); // no executor ID, no version
    await Promise.all([a!, b!].map((w) => s.cluster.ready(w)));

    const feeding = s.enqueueSteadily(200, 40);
    await waitUntil(async () => (await s.ledger.inFlightAt(a!.incarnation)).length >= 2, {
      timeoutMs: 20_000,
      intervalMs: 10,
      message: 'process a busy with two workflows',
    });
    await s.cluster.kill(a!);
    const c = s.cluster.start('c');
    await s.cluster.ready(c);
    await feeding;
    await s.waitForAll(LEASE_MS + 40_000);
    assertPromiseKept(await s.verdict(), s.cluster);
  });
});
