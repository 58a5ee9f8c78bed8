// `npm run bench`: every benchmark, each beside the raw PostgreSQL floor measured in the same run.
// PostgreSQL at TRANSACT_BENCH_DATABASE_URL (default: the test server); each benchmark makes its own database.

import { existsSync } from 'node:fs';
import { runCoreBench } from './core.js';
import type { QueueBenchResult } from './queues.js';
import { runEmbeddedBench } from './embedded.js';
import { benchBaseUrl, fmt } from './stats.js';

const core = await runCoreBench();
await runEmbeddedBench();
let queue: QueueBenchResult | undefined;

// The queue and notification benchmarks, when present.
for (const [file, exportName] of [
  ['./queues.js', 'runQueueBench'],
  ['./notifications.js', 'runNotificationBench'],
  ['./idle.js', 'runIdleBench'],
  ['./retention.js', 'runRetentionBench'],
  ['./transactions.js', 'runTransactionBench'],
  ['./receivers.js', 'runReceiverBench'],
] as const) {
  if (!existsSync(new URL(file.replace(/\.js$/, '.ts'), import.meta.url))) continue;
  const mod = (await import(file)) as Record<string, (url?: string) => Promise<unknown>>;
  const result = await mod[exportName]?.(benchBaseUrl);
  if (exportName === 'runQueueBench') {
    queue = result as QueueBenchResult;
    printTargets(); // at once, so the later benchmarks cannot keep the verdict out of the run
  }
}
if (!queue) printTargets();

// Issue 14's throughput targets, each against its floor measured in this run (see bench/core.ts, bench/queues.ts).
function printTargets(): void {
  console.log('\n== Targets (PostgreSQL; each floor measured in this run) ==');
  const verdict = (ratio: number, target: number) =>
    `${fmt(ratio)}x the floor's rate, target >= ${fmt(target, 1)}x: ${ratio >= target ? 'MET' : 'NOT MET'}`;
  console.log(
    `${core.workflows} concurrent three-step workflows: ${fmt(core.transactPerSecond, 0)} wf/s against ${fmt(core.floorPerSecond, 0)} wf/s, ` +
      `${verdict(core.transactPerSecond / core.floorPerSecond, 3)}; ${fmt(core.statementsPerWorkflow)} statements/wf (floor 5.00)`,
  );
  if (queue) {
    console.log(
      `${queue.workflows} queued one-step tasks: ${fmt(queue.transactPerSecond, 0)} wf/s against ${fmt(queue.floorPerSecond, 0)} wf/s, ` +
        `${verdict(queue.transactPerSecond / queue.floorPerSecond, 1)}; ${fmt(queue.statementsPerTask)} statements/task (floor 3.00)`,
    );
  }
}
