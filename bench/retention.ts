// Retention under load: a database holding N finished workflows (each with its input, output and three steps), and
// the latency of a queue claim (enqueue to start) and of a three-step workflow (start to result), measured first with
// no retention running (the floor, in the same run) and then while a retention pass deletes all N rows, as the
// background duty runs it (batches of 200, pausing twice as long as each batch took). `npm run bench` runs it on PostgreSQL
// with 1,000,000 rows; test/ops/retention-load.test.ts runs it smaller on both backends and asserts the ratios.

import Database from 'better-sqlite3';
import pg from 'pg';
import { DBOS, WorkflowQueue } from '../src/index.js';
import { garbageCollect } from '../src/management/retention.js';
import { BACKGROUND_BATCH } from '../src/ops/retention.js';
import { launchedEngine } from '../src/process/state.js';
import { fmt, summarize, type Summary } from './stats.js';

const started = new Map<string, number>();
const loadStep = DBOS.registerStep(async (n: number) => n + 1, { name: 'retentionLoadStep' });
/** Enqueued: records when it starts, so enqueue-to-start is the claim's latency. */
const claimed = DBOS.registerWorkflow(
  async (id: string) => {
    started.set(id, performance.now());
  },
  { name: 'retentionLoadClaimed' },
);
const threeSteps = DBOS.registerWorkflow(
  async (n: number) => {
    const a = await loadStep(n);
    const b = await loadStep(a);
    return loadStep(b);
  },
  { name: 'retentionLoadThreeSteps' },
);
const loadQueue = new WorkflowQueue('retention-load');

/**
 * Inserts `n` finished workflows of `app` created `ageMs` ago, each with an input, an output and three steps, the
 * way a long-running application leaves them; in chunks, straight into the tables (before launch).
 */
export async function seedFinishedWorkflows(url: string, n: number, app: string, ageMs = 40 * 86_400_000): Promise<void> {
  const base = Date.now() - ageMs;
  const chunk = 100_000;
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.pragma('journal_mode = WAL');
      for (let from = 0; from < n; from += chunk) {
        const to = Math.min(n, from + chunk);
        const series = `WITH RECURSIVE g(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM g WHERE i + 1 < ${to})`;
        db.transaction(() => {
          db.exec(`${series} INSERT INTO workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name,
              created_at, updated_at, completed_at, serialization, recovery_attempts)
            SELECT 'old-' || i, 'SUCCESS', 'seeded', 'seeder', 'v0', '${app}', ${base} + i, ${base} + i + 5, ${base} + i + 5, 'portable_json', 1 FROM g`);
          db.exec(`${series} INSERT INTO workflow_input (workflow_uuid, inputs) SELECT 'old-' || i, '{"positionalArgs":[1]}' FROM g`);
          db.exec(`${series} INSERT INTO workflow_output (workflow_uuid, output) SELECT 'old-' || i, '4' FROM g`);
          db.exec(`${series}, f(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM f WHERE j < 2)
            INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms, completed_at_epoch_ms, serialization)
            SELECT 'old-' || i, j, 'step', '2', ${base} + i, ${base} + i + 1, 'portable_json' FROM g, f`);
        })();
      }
      db.exec('ANALYZE');
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk) - 1;
      const g = `generate_series(${from}, ${to}) i`;
      await client.query(`INSERT INTO dbos.workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name,
          created_at, updated_at, completed_at, serialization, recovery_attempts)
        SELECT 'old-' || i, 'SUCCESS', 'seeded', 'seeder', 'v0', $1, ${base} + i, ${base} + i + 5, ${base} + i + 5, 'portable_json', 1 FROM ${g}`, [app]);
      await client.query(`INSERT INTO dbos.workflow_input (workflow_uuid, inputs) SELECT 'old-' || i, '{"positionalArgs":[1]}' FROM ${g}`);
      await client.query(`INSERT INTO dbos.workflow_output (workflow_uuid, output) SELECT 'old-' || i, '4' FROM ${g}`);
      await client.query(`INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
          completed_at_epoch_ms, serialization)
        SELECT 'old-' || i, j, 'step', '2', ${base} + i, ${base} + i + 1, 'portable_json' FROM ${g}, generate_series(0, 2) j`);
    }
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

export interface LatencyPair {
  /** Enqueue to start of a queued workflow. */
  claim: Summary;
  /** Start to result of a three-step workflow. */
  workflow: Summary;
}

export interface RetentionLoadResult {
  /** Measured before the pass and after it, half the time each (so a drift of the machine's load shows in both). */
  floor: LatencyPair;
  during: LatencyPair;
  pass: { deleted: number; batches: number; ms: number; finished: boolean };
}

let seq = 0;

/** One claim and one workflow, one after the other; their latencies (ms). */
async function measureOnce(claims: number[], workflows: number[]): Promise<void> {
  const id = `claim-${process.pid}-${seq++}`;
  const t0 = performance.now();
  const handle = await DBOS.startWorkflow(claimed, { workflowID: id, queueName: loadQueue.name })(id);
  await handle.getResult();
  claims.push(started.get(id)! - t0);
  started.delete(id);
  const t1 = performance.now();
  await DBOS.startWorkflow(threeSteps)(1).then((h) => h.getResult());
  workflows.push(performance.now() - t1);
}

interface Samples {
  claims: number[];
  workflows: number[];
  ms: number;
}

async function measureWhile(keepGoing: () => boolean, into: Samples = { claims: [], workflows: [], ms: 0 }): Promise<Samples> {
  const t0 = performance.now();
  while (keepGoing()) {
    await measureOnce(into.claims, into.workflows);
    // On SQLite every statement completes synchronously: without a turn of the event loop, timers (the pass's pause
    // between batches, heartbeats) would never fire while this loop runs.
    await new Promise((r) => setImmediate(r));
  }
  into.ms += performance.now() - t0;
  return into;
}

function pair(s: Samples): LatencyPair {
  return { claim: summarize(s.claims, s.ms), workflow: summarize(s.workflows, s.ms) };
}

/**
 * With the engine launched on a database seeded by seedFinishedWorkflows: the floor for `floorMs`, then the same
 * measurements while a retention pass deletes everything older than a day (stopped after `maxPassMs`).
 */
export async function measureDuringRetention(options: { floorMs: number; maxPassMs: number; warmup?: number }): Promise<RetentionLoadResult> {
  const db = launchedEngine()!.db;
  for (let i = 0; i < (options.warmup ?? 50); i++) await measureOnce([], []);
  const before = performance.now() + options.floorMs / 2;
  const floor = await measureWhile(() => performance.now() < before);
  const abort = new AbortController();
  let passDone = false;
  const passStart = performance.now();
  const passing = garbageCollect(db, {
    olderThanMs: 86_400_000,
    pauseBetweenBatches: 'proportional',
    batchSize: BACKGROUND_BATCH,
    holder: 'retention-load',
    signal: abort.signal,
  }).finally(() => (passDone = true));
  const stopAt = passStart + options.maxPassMs;
  const during = await measureWhile(() => !passDone && performance.now() < stopAt);
  abort.abort();
  const result = await passing;
  const pass = { deleted: result.deleted, batches: result.batches, ms: performance.now() - passStart, finished: performance.now() < stopAt };
  const after = performance.now() + options.floorMs / 2;
  await measureWhile(() => performance.now() < after, floor);
  return { floor: pair(floor), during: pair(during), pass };
}

export function describeRetentionLoad(label: string, rows: number, r: RetentionLoadResult): string[] {
  const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;
  const row = (what: string, f: Summary, d: Summary) =>
    `  ${what.padEnd(34)} floor p50 ${fmt(f.p50).padStart(6)} ms p99 ${fmt(f.p99).padStart(6)} ms | during p50 ${fmt(d.p50).padStart(6)} ms p99 ${fmt(d.p99).padStart(6)} ms | ratio p50 ${ratio(d.p50, f.p50)} p99 ${ratio(d.p99, f.p99)}`;
  return [
    `${label}: retention pass over ${rows.toLocaleString('en-US')} finished workflows: deleted ${r.pass.deleted.toLocaleString('en-US')} in ${r.pass.batches} batches, ${fmt(r.pass.ms / 1000, 1)} s${r.pass.finished ? '' : ' (stopped: time limit)'} (${fmt((r.pass.deleted / r.pass.ms) * 1000, 0)} workflows/s)`,
    row('claim (enqueue to start)', r.floor.claim, r.during.claim),
    row('three-step workflow (start to result)', r.floor.workflow, r.during.workflow),
    `  samples: floor ${r.floor.claim.count}, during ${r.during.claim.count}`,
  ];
}

/** `npm run bench`: 1,000,000 rows on PostgreSQL (TRANSACT_BENCH_RETENTION_ROWS to change). */
export async function runRetentionBench(baseUrl: string): Promise<void> {
  const rows = Number(process.env.TRANSACT_BENCH_RETENTION_ROWS ?? 1_000_000);
  const url = new URL(baseUrl);
  url.pathname = `/transact_bench_retention_${process.pid}`;
  const app = 'retention-bench';
  await DBOS.migrate(url.toString());
  const seedStart = performance.now();
  await seedFinishedWorkflows(url.toString(), rows, app);
  console.log(`retention: seeded ${rows.toLocaleString('en-US')} finished workflows in ${fmt((performance.now() - seedStart) / 1000, 1)} s`);
  DBOS.setConfig({ name: app, systemDatabaseUrl: url.toString(), applicationVersion: 'bench', logLevel: 'error' });
  await DBOS.launch();
  try {
    const result = await measureDuringRetention({ floorMs: 10_000, maxPassMs: 600_000 });
    for (const l of describeRetentionLoad('PostgreSQL', rows, result)) console.log(l);
  } finally {
    await DBOS.shutdown();
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
