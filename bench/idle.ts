// What an idle process costs its database: statements sent in 10 idle seconds (after launch has settled), by name,
// on both backends, with default settings: one queue declared, nothing enqueued, nothing scheduled.
// test/ops/idle-cost.test.ts asserts the budget from the server's own count.

import { DBOS, WorkflowQueue } from '../src/index.js';
import { systemDatabaseStats } from '../src/process/state.js';

new WorkflowQueue('idle-bench');
DBOS.registerWorkflow(async () => 1, { name: 'idleBenchNothing' });

export interface IdleCost {
  total: number;
  byStatement: Record<string, number>;
  windowMs: number;
}

/** Statements the launched engine sends during `windowMs` of idleness, after `settleMs`. */
export async function measureIdle(windowMs = 10_000, settleMs = 3000): Promise<IdleCost> {
  await new Promise((r) => setTimeout(r, settleMs));
  const stats = systemDatabaseStats()!;
  const before = new Map(stats.byStatement);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const elapsed = performance.now() - t0;
  const byStatement: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of stats.byStatement) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) {
      byStatement[name] = d;
      total += d;
    }
  }
  return { total, byStatement, windowMs: elapsed };
}

export function describeIdle(label: string, cost: IdleCost): string {
  const per10 = (n: number) => (n * 10_000) / cost.windowMs;
  const parts = Object.entries(cost.byStatement)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${per10(n).toFixed(1)}`);
  return `idle ${label.padEnd(10)} ${per10(cost.total).toFixed(1).padStart(6)} statements per 10 s   (${parts.join(', ') || 'none'})`;
}

/** `npm run bench`: an idle process on SQLite and on PostgreSQL. */
export async function runIdleBench(postgresUrl: string): Promise<void> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'transact-idle-'));
  const pgUrl = new URL(postgresUrl);
  pgUrl.pathname = `/transact_bench_idle_${process.pid}`;
  const targets: [string, string][] = [
    ['SQLite', `sqlite:${join(dir, 'idle.sqlite')}`],
    ['PostgreSQL', pgUrl.toString()],
  ];
  try {
    for (const [label, url] of targets) {
      DBOS.setConfig({ name: 'idle-bench', systemDatabaseUrl: url, logLevel: 'error' });
      await DBOS.launch();
      try {
        console.log(describeIdle(label, await measureIdle()));
      } finally {
        await DBOS.shutdown();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${pgUrl.pathname.slice(1)}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
