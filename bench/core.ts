// The core benchmark: three-step workflows on PostgreSQL, against the raw floor measured in the same run. The floor
// issues the same commits a workflow makes (start with its input, three step checkpoints, completion with its output)
// with plain `pg` prepared statements into the same tables, without the engine: five statements and five commits per
// workflow, back to back, over a pool of the same size. Round trips are counted by the driver. The target (issue 14):
// 2,000 concurrent workflows at three times the floor's rate or better, in the same run.

import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { DBOS } from '../src/dbos.js';
import { systemDatabaseStats } from '../src/process/state.js';
import { benchBaseUrl, dropDatabase, fmt, freshBenchDatabase, line, summarize, type Summary } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 500);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 2000);
const POOL_SIZE = 10;
const CONCURRENT_REPS = Number(process.env.BENCH_CONCURRENT_REPS ?? 3);
/** Issue 14: 2,000 concurrent three-step workflows at three times the floor's rate or better. */
const CONCURRENT_TARGET = 3;

const step = DBOS.registerStep(async (i: number, n: number) => i * 10 + n, { name: 'benchStep' });
const threeSteps = DBOS.registerWorkflow(
  async (i: number) => {
    const a = await step(i, 1);
    const b = await step(i, 2);
    const c = await step(i, 3);
    return a + b + c;
  },
  { name: 'threeSteps' },
);

// ------------------------------------------------------------------------------------------------ the raw floor

const FLOOR_START = {
  name: 'floor_start',
  text: `WITH s AS (
           INSERT INTO dbos.workflow_status (workflow_uuid, status, name, executor_id, application_version,
                                             application_name, owner_xid, serialization, recovery_attempts)
           VALUES ($1, 'PENDING', 'threeSteps', 'local', 'bench', 'bench', $2, 'js_superjson', 1) RETURNING workflow_uuid)
         INSERT INTO dbos.workflow_input (workflow_uuid, inputs) SELECT workflow_uuid, $3 FROM s`,
};
const FLOOR_STEP = {
  name: 'floor_step',
  text: `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
                                         completed_at_epoch_ms, serialization)
         VALUES ($1, $2, 'benchStep', $3, $4, $4, 'js_superjson')`,
};
const FLOOR_COMPLETE = {
  name: 'floor_complete',
  text: `WITH u AS (UPDATE dbos.workflow_status SET status = 'SUCCESS', owner_xid = NULL,
                    completed_at = (EXTRACT(EPOCH FROM now())*1000)::bigint WHERE workflow_uuid = $1 RETURNING workflow_uuid)
         INSERT INTO dbos.workflow_output (workflow_uuid, output) SELECT workflow_uuid, $2 FROM u`,
};

async function floorWorkflow(pool: pg.Pool, i: number): Promise<void> {
  const id = `floor-${randomUUID()}`;
  const envelope = (v: unknown) => `{"json":${JSON.stringify(v)},"__dbos_serializer":"superjson"}`;
  await pool.query({ ...FLOOR_START, values: [id, randomUUID(), envelope([i])] });
  for (let n = 1; n <= 3; n++) await pool.query({ ...FLOOR_STEP, values: [id, n - 1, envelope(i * 10 + n), Date.now()] });
  await pool.query({ ...FLOOR_COMPLETE, values: [id, envelope(i * 30 + 6)] });
}

async function measureSequential(run: (i: number) => Promise<void>, count: number): Promise<Summary> {
  const latencies: number[] = [];
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await run(i);
    latencies.push(performance.now() - t0);
  }
  return summarize(latencies, performance.now() - begin);
}

async function measureConcurrent(run: (i: number) => Promise<void>, count: number): Promise<Summary> {
  const latencies: number[] = new Array(count);
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = performance.now();
      await run(i);
      latencies[i] = performance.now() - t0;
    }),
  );
  return summarize(latencies, performance.now() - begin);
}

async function transactWorkflow(i: number): Promise<void> {
  const handle = await DBOS.startWorkflow(threeSteps)(i);
  await handle.getResult();
}

function countedRoundTrips(before: Map<string, number>, after: Map<string, number>): { total: number; byName: string } {
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

export interface CoreBenchResult {
  workflows: number;
  floorPerSecond: number;
  transactPerSecond: number;
  statementsPerWorkflow: number;
}

export async function runCoreBench(baseUrl = benchBaseUrl): Promise<CoreBenchResult> {
  void baseUrl;
  const url = freshBenchDatabase('core');
  console.log(`\n== Core: three-step workflows on PostgreSQL (${SEQUENTIAL} sequential, ${CONCURRENT} concurrent; pool ${POOL_SIZE}) ==`);
  DBOS.setConfig({ name: 'bench', systemDatabaseUrl: url, applicationVersion: 'bench', logLevel: 'warn', systemDatabasePoolSize: POOL_SIZE });
  await DBOS.launch();
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  try {
    // Warm up both (connections, prepared statements, JIT).
    await measureSequential((i) => floorWorkflow(pool, i), 50);
    await measureSequential(transactWorkflow, 50);

    const floorSeq = await measureSequential((i) => floorWorkflow(pool, i), SEQUENTIAL);
    const stats = systemDatabaseStats()!;
    const before = new Map(stats.byStatement);
    const txSeq = await measureSequential(transactWorkflow, SEQUENTIAL);
    const trips = countedRoundTrips(before, stats.byStatement);

    // The concurrent runs are interleaved (floor, Transact, floor, ...) so that both see the same machine: on a shared
    // host the load moves between runs. Each ratio is of one pair; the median pair is reported.
    const pairs: { floor: Summary; transact: Summary }[] = [];
    const concBefore = new Map(stats.byStatement);
    for (let r = 0; r < CONCURRENT_REPS; r++) {
      const floor = await measureConcurrent((i) => floorWorkflow(pool, i), CONCURRENT);
      // The floor's statements go through its own pool: the driver counts Transact's alone.
      const transact = await measureConcurrent(transactWorkflow, CONCURRENT);
      pairs.push({ floor, transact });
    }
    const concTrips = countedRoundTrips(concBefore, stats.byStatement);
    pairs.sort((a, b) => a.transact.perSecond / a.floor.perSecond - b.transact.perSecond / b.floor.perSecond);
    const median = pairs[Math.floor(pairs.length / 2)]!;
    const concRatio = median.transact.perSecond / median.floor.perSecond;

    console.log(line('floor (plain pg), sequential', floorSeq));
    console.log(line('Transact, sequential', txSeq));
    console.log(`  Transact / floor: p50 latency ${fmt(txSeq.p50 / floorSeq.p50)}x, time per workflow ${fmt(floorSeq.perSecond / txSeq.perSecond)}x`);
    console.log(
      `  statements per workflow (counted by the driver over the sequential run, background polling included): ${fmt(trips.total / SEQUENTIAL)}`,
    );
    console.log(`    by statement: ${trips.byName}`);
    console.log(line(`floor (plain pg), ${CONCURRENT} at once (median pair)`, median.floor));
    console.log(line(`Transact, ${CONCURRENT} at once (median pair)`, median.transact));
    console.log(
      `  Transact / floor rate, ${CONCURRENT} at once: ${pairs.map((p) => fmt(p.transact.perSecond / p.floor.perSecond)).join(', ')} ` +
        `(median ${fmt(concRatio)}x; target >= ${fmt(CONCURRENT_TARGET, 1)}x: ${concRatio >= CONCURRENT_TARGET ? 'MET' : 'NOT MET'})`,
    );
    console.log(
      `  statements per workflow, ${CONCURRENT} at once (driver, ${CONCURRENT_REPS} runs, background included): ` +
        `${fmt(concTrips.total / (CONCURRENT * CONCURRENT_REPS))} (the floor: 5.00)`,
    );
    console.log(`    by statement: ${concTrips.byName}`);
    return {
      workflows: CONCURRENT,
      floorPerSecond: median.floor.perSecond,
      transactPerSecond: median.transact.perSecond,
      statementsPerWorkflow: concTrips.total / (CONCURRENT * CONCURRENT_REPS),
    };
  } finally {
    await pool.end();
    await DBOS.shutdown();
    await dropDatabase(url);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runCoreBench();
