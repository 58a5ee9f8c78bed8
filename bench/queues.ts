// The queue benchmark on PostgreSQL, beside the raw floor measured in the same run:
//   - throughput: 10,000 one-step workflows enqueued to one queue (worker concurrency 100), from the first enqueue
//     until all have completed;
//   - idle pick-up: the latency from enqueue to the workflow's start on an idle queue, p50 over 50;
//   - statements per queued workflow, counted by the driver over the throughput run (background work included).
// The target (issue 14): the 10,000 at the floor's rate or better, in the same run.
// The floor issues the same commits a queued workflow makes (the enqueue with its input, the step checkpoint, the
// completion with its output) with plain `pg` prepared statements into the same tables, the enqueues all at once and
// at most 100 workflows executing at a time, as on the queue, over a pool of the same size.
// Run alone with `npx tsx bench/queues.ts` (PostgreSQL at TRANSACT_BENCH_DATABASE_URL or the test server).

import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { DBOS } from '../src/dbos.js';
import { systemDatabaseStats } from '../src/process/state.js';
import { WorkflowQueue } from '../src/index.js';
import { benchBaseUrl, fmt, percentile } from './stats.js';

const WORKFLOWS = Number(process.env.BENCH_QUEUE_WORKFLOWS ?? 10_000);
const WORKER_CONCURRENCY = 100;
const IDLE_SAMPLES = 50;
const POOL_SIZE = 10;

const benchStep = DBOS.registerStep(async (i: number) => i + 1, { name: 'queueBenchStep' });
const oneStep = DBOS.registerWorkflow(async (i: number) => benchStep(i), { name: 'queueBenchWorkflow' });

let started: (() => void) | undefined;
const idleProbe = DBOS.registerWorkflow(
  async () => {
    started?.();
    return 0;
  },
  { name: 'queueBenchIdleProbe' },
);

new WorkflowQueue('bench_queue', { workerConcurrency: WORKER_CONCURRENCY });
new WorkflowQueue('bench_idle');

// ------------------------------------------------------------------------------------------------ the raw floor

const FLOOR_ENQUEUE = {
  name: 'floor_enqueue',
  text: `WITH s AS (
           INSERT INTO dbos.workflow_status (workflow_uuid, status, name, queue_name, executor_id, application_version,
                                             application_name, serialization, recovery_attempts)
           VALUES ($1, 'ENQUEUED', 'queueBenchWorkflow', 'floor_queue', 'local', 'bench', 'bench', 'js_superjson', 0)
           RETURNING workflow_uuid)
         INSERT INTO dbos.workflow_input (workflow_uuid, inputs) SELECT workflow_uuid, $2 FROM s`,
};
const FLOOR_STEP = {
  name: 'floor_step',
  text: `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
                                         completed_at_epoch_ms, serialization)
         VALUES ($1, 0, 'queueBenchStep', $2, $3, $3, 'js_superjson')`,
};
const FLOOR_COMPLETE = {
  name: 'floor_complete',
  text: `WITH u AS (UPDATE dbos.workflow_status SET status = 'SUCCESS', owner_xid = NULL,
                    completed_at = (EXTRACT(EPOCH FROM now())*1000)::bigint WHERE workflow_uuid = $1 RETURNING workflow_uuid)
         INSERT INTO dbos.workflow_output (workflow_uuid, output) SELECT workflow_uuid, $2 FROM u`,
};

const envelope = (v: unknown) => `{"json":${JSON.stringify(v)},"__dbos_serializer":"superjson"}`;

/** All enqueues at once; at most WORKER_CONCURRENCY workflows executing (step, completion) at a time. */
async function runFloor(pool: pg.Pool, count: number): Promise<number> {
  const begin = performance.now();
  const ids = Array.from({ length: count }, () => `floor-${randomUUID()}`);
  const enqueued = ids.map((id, i) => pool.query({ ...FLOOR_ENQUEUE, values: [id, envelope([i])] }));
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKER_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        await enqueued[i];
        await pool.query({ ...FLOOR_STEP, values: [ids[i], envelope(i + 1), Date.now()] });
        await pool.query({ ...FLOOR_COMPLETE, values: [ids[i], envelope(i + 1)] });
      }
    }),
  );
  return performance.now() - begin;
}

// ------------------------------------------------------------------------------------------------ Transact

/** Enqueues `count` workflows at once; resolves when the database holds all their outcomes. */
async function runTransact(watch: pg.Client, count: number): Promise<number> {
  const begin = performance.now();
  const enqueued = Promise.all(Array.from({ length: count }, (_, i) => DBOS.startWorkflow(oneStep, { queueName: 'bench_queue' })(i)));
  // Completion is watched from outside the engine (one cheap count every 10 ms), so waiting costs the engine nothing.
  for (;;) {
    const { rows } = await watch.query(
      `SELECT count(*)::int AS n FROM dbos.workflow_status WHERE queue_name = 'bench_queue' AND status = 'SUCCESS'`,
    );
    if (rows[0].n >= count) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = performance.now() - begin;
  await enqueued;
  return elapsed;
}

async function idlePickUp(samples: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const began = new Promise<number>((resolve) => (started = () => resolve(performance.now())));
    const handle = await DBOS.startWorkflow(idleProbe, { queueName: 'bench_idle' })();
    latencies.push((await began) - t0);
    await handle.getResult();
    await new Promise((r) => setTimeout(r, 20)); // let the queue go idle again
  }
  return latencies;
}

function counted(before: Map<string, number>, after: Map<string, number>): { total: number; byName: string } {
  let total = 0;
  const parts: string[] = [];
  for (const [name, count] of [...after].sort((a, b) => b[1] - a[1])) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0) {
      total += delta;
      parts.push(`${name}=${delta}`);
    }
  }
  return { total, byName: parts.join(' ') };
}

/** Issue 14: 10,000 queued one-step tasks at the floor's rate or better. */
const QUEUE_TARGET = 1;

export interface QueueBenchResult {
  workflows: number;
  floorPerSecond: number;
  transactPerSecond: number;
  statementsPerTask: number;
}

export async function runQueueBench(postgresUrl: string = benchBaseUrl): Promise<QueueBenchResult> {
  const target = new URL(postgresUrl);
  const database = `transact_bench_queues_${randomBytes(3).toString('hex')}`;
  target.pathname = `/${database}`;
  const url = target.toString();
  console.log(`\n== Queues: ${WORKFLOWS} one-step workflows on one queue (worker concurrency ${WORKER_CONCURRENCY}; pool ${POOL_SIZE}) ==`);
  DBOS.setConfig({ name: 'bench', systemDatabaseUrl: url, applicationVersion: 'bench', logLevel: 'warn', systemDatabasePoolSize: POOL_SIZE });
  await DBOS.launch();
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, options: '-c jit=off' });
  const watch = new pg.Client({ connectionString: url });
  await watch.connect();
  try {
    // Warm up both (connections, prepared statements).
    await runFloor(pool, 500);
    await runTransact(watch, 500);
    await watch.query(`DELETE FROM dbos.workflow_status WHERE queue_name = 'bench_queue'`);

    const floorMs = await runFloor(pool, WORKFLOWS);
    const stats = systemDatabaseStats()!;
    const before = new Map(stats.byStatement);
    const transactMs = await runTransact(watch, WORKFLOWS);
    const trips = counted(before, stats.byStatement);
    const idle = (await idlePickUp(IDLE_SAMPLES)).sort((a, b) => a - b);

    const perSecond = (ms: number) => (WORKFLOWS / ms) * 1000;
    const ratio = perSecond(transactMs) / perSecond(floorMs);
    console.log(`floor (plain pg: enqueue, step, completion)  ${fmt(floorMs, 0).padStart(6)} ms   ${fmt(perSecond(floorMs), 0).padStart(6)} wf/s   3.00 statements/wf`);
    console.log(
      `Transact queue                                ${fmt(transactMs, 0).padStart(6)} ms   ${fmt(perSecond(transactMs), 0).padStart(6)} wf/s   ` +
        `${fmt(trips.total / WORKFLOWS)} statements/wf (driver, background included)`,
    );
    console.log(
      `  Transact / floor rate: ${fmt(ratio)}x (target >= ${fmt(QUEUE_TARGET, 1)}x: ${ratio >= QUEUE_TARGET ? 'MET' : 'NOT MET'})`,
    );
    console.log(`    by statement: ${trips.byName}`);
    console.log(
      `idle pick-up, enqueue to start (${IDLE_SAMPLES})        p50 ${fmt(percentile(idle, 50))} ms   p99 ${fmt(percentile(idle, 99))} ms   ` +
        `(a 1 s poll would give about 500 ms)`,
    );
    return { workflows: WORKFLOWS, floorPerSecond: perSecond(floorMs), transactPerSecond: perSecond(transactMs), statementsPerTask: trips.total / WORKFLOWS };
  } finally {
    await watch.end();
    await pool.end();
    await DBOS.shutdown();
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).finally(() => admin.end());
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runQueueBench(benchBaseUrl);
