// `npm run bench`: every benchmark, each beside the raw PostgreSQL floor measured in the same run.
// PostgreSQL at TRANSACT_BENCH_DATABASE_URL (default: the test server); each benchmark makes its own database.

import { existsSync } from 'node:fs';
import { runCoreBench } from './core.js';
import { runEmbeddedBench } from './embedded.js';
import { benchBaseUrl } from './stats.js';

await runCoreBench();
await runEmbeddedBench();

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
  const mod = (await import(file)) as Record<string, (url?: string) => Promise<void>>;
  await mod[exportName]?.(benchBaseUrl);
}
