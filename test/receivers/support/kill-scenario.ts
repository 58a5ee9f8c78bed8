// The kill test every receiver passes, on either system database, with the fault suite's machinery (real worker
// processes, real signals, the ledger that Transact does not write, the verdict; test/faults/README.md):
//
//   1. two worker processes (fixtures/receiver-worker.ts) consume one source in one group;
//   2. messages are produced at a steady pace; once 350 have run, one worker is SIGKILLed and started again;
//   3. once 900 have been produced and have run, the restarted worker is shut down cleanly, and the last 100 are
//      produced: only the survivor is left to read them, so they run only if it never stopped consuming;
//   4. the verdict: every message ran exactly once (its step's executions, counted in the ledger, beyond one are
//      explained only by the kill), nothing lost, stuck or wrong; where the source promises an order per key, the
//      executions of each key never go back; the source's committed position is at its end; the survivor's receiver
//      says `running`.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { BackendKind } from '../../support/backends.js';
import { waitUntil } from '../../support/wait.js';
import { Scenario, assertPromiseKept } from '../../faults/support/scenario.js';
import type { WorkerRun } from '../../faults/support/cluster.js';
import type { ReceiverStatus } from '../../../src/receivers/status.js';

const workerScript = new URL('../fixtures/receiver-worker.ts', import.meta.url);

export interface KillSource {
  /** The scenario's name: the workflow IDs of its messages start with `<name>-`. */
  name: string;
  /** RECEIVER_KIND, RECEIVER_URL, RECEIVER_TOPIC, RECEIVER_GROUP, ... for the workers. */
  env: Record<string, string>;
  /** Sends messages whose values are these seeds; returns each one's workflow ID, in the same order. */
  produce(seeds: number[]): Promise<string[]>;
  /** Where the source promises an order: the key of a workflow ID and its position within the key. */
  orderOf?(workflowID: string): { key: string; position: number };
  /** Asserts that the group's committed position is at the end of the source. */
  committedToTheEnd(): Promise<boolean>;
}

export interface KillOptions {
  total?: number;
  killAt?: number;
  /** Produced after the restarted worker left, for the survivor alone. */
  last?: number;
  perSecond?: number;
}

export async function killScenario(backend: BackendKind, source: KillSource, options: KillOptions = {}): Promise<void> {
  const total = options.total ?? 1000;
  const killAt = options.killAt ?? 350;
  const last = options.last ?? 100;
  const perSecond = options.perSecond ?? 300;
  const scenario = await Scenario.create({
    name: source.name,
    backend,
    steps: 1,
    workerEnv: { FAULT_APP_VERSION: 'receivers-v1', FAULT_LEASE_MS: '3000', FAULT_STEP_MS: '2-8', ...source.env },
  });
  const { cluster, ledger } = scenario;
  const start = (label: string) => cluster.start(label, { script: workerScript });
  try {
    const survivor = start('w1');
    let other = start('w2');
    await Promise.all([cluster.ready(survivor), cluster.ready(other)]);
    let seed = 0;
    const produceSeeds = async (count: number) => {
      const seeds = Array.from({ length: count }, () => ++seed);
      const ids = await source.produce(seeds);
      ids.forEach((id, i) => scenario.expected.set(id, seeds[i]!));
    };
    const executed = async () => (await ledger.executions()).filter((e) => e.kind === 'step').length;

    // Produce the first total - last at a steady pace; strike once killAt have run.
    const feed = (async () => {
      const perBatch = Math.max(1, Math.round(perSecond / 10));
      const began = Date.now();
      for (let sent = 0; sent < total - last; ) {
        const n = Math.min(perBatch, total - last - sent);
        await produceSeeds(n);
        sent += n;
        const due = began + (sent / perSecond) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the feed's pace
      }
    })();
    await waitUntil(async () => (await executed()) >= killAt, { timeoutMs: 60_000, intervalMs: 20, message: `${killAt} messages to run` });
    await cluster.kill(other);
    other = start('w2');
    await cluster.ready(other);
    await feed;
    assert.ok(await scenario.waitForAll(90_000), `all ${total - last} messages run after the kill`);

    // The restarted worker leaves cleanly; the last messages are the survivor's alone.
    await cluster.shutdown(other);
    await produceSeeds(last);
    assert.ok(await scenario.waitForAll(60_000), `the last ${last} messages run by the survivor alone`);

    const verdict = await scenario.verdict();
    assertPromiseKept(verdict, cluster);
    assert.equal(verdict.counts.workflows, total);

    if (source.orderOf) {
      const highest = new Map<string, number>();
      for (const e of await ledger.executions()) {
        if (e.kind !== 'step') continue;
        const { key, position } = source.orderOf(e.workflowID);
        const before = highest.get(key) ?? -1;
        assert.ok(position >= before, `order broken in ${key}: ${e.workflowID} ran after position ${before}`);
        highest.set(key, position);
      }
    }
    await waitUntil(() => source.committedToTheEnd(), { timeoutMs: 20_000, message: 'the committed position at the end of the source' });
    const status = await receiverStatus(survivor);
    assert.deepEqual(
      status.map((s) => s.state),
      ['running'],
      `the survivor's consumer is running: ${JSON.stringify(status)}`,
    );
    console.log(`receivers: ${source.name} [${backend}] survivor ${JSON.stringify(status[0])}`);
  } finally {
    await scenario.dispose();
  }
}

/** Asks a worker (SIGUSR2) for its receiver's status(). */
async function receiverStatus(run: WorkerRun): Promise<ReceiverStatus[]> {
  const before = run.worker.lines.filter((l) => l.startsWith('receiver-status ')).length;
  process.kill(run.pid, 'SIGUSR2');
  const line = await waitUntil(() => run.worker.lines.filter((l) => l.startsWith('receiver-status '))[before], {
    timeoutMs: 10_000,
    message: `a status line from ${run.incarnation}`,
  });
  return JSON.parse(line.slice('receiver-status '.length)) as ReceiverStatus[];
}

export const workerPath = fileURLToPath(workerScript);
