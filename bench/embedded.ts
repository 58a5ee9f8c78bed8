// The embedded database: three-step workflows on SQLite (synchronous=FULL, the default), against the raw floor of
// the same commits issued with better-sqlite3 directly, in the same run.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { DBOS } from '../src/dbos.js';
import { systemDatabaseStats } from '../src/process/state.js';
import { migrateSqlite } from '../src/sysdb/migrations/index.js';
import { fmt, line, summarize, type Summary } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 500);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 2000);

const step = DBOS.registerStep(async (i: number, n: number) => i * 10 + n, { name: 'embeddedStep' });
const threeSteps = DBOS.registerWorkflow(
  async (i: number) => {
    const a = await step(i, 1);
    const b = await step(i, 2);
    return a + b + (await step(i, 3));
  },
  { name: 'embeddedThreeSteps' },
);

function floorWorkflow(db: Database.Database, i: number): void {
  const id = `floor-${randomUUID()}`;
  const envelope = (v: unknown) => `{"json":${JSON.stringify(v)},"__dbos_serializer":"superjson"}`;
  db.transaction(() => {
    db.prepare(
      `INSERT INTO workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name, owner_xid,
         serialization, recovery_attempts) VALUES (?, 'PENDING', 'threeSteps', 'local', 'bench', 'bench', ?, 'js_superjson', 1)`,
    ).run(id, randomUUID());
    db.prepare('INSERT INTO workflow_input (workflow_uuid, inputs) VALUES (?, ?)').run(id, envelope([i]));
  })();
  for (let n = 1; n <= 3; n++) {
    db.prepare(
      `INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms,
         completed_at_epoch_ms, serialization) VALUES (?, ?, 'step', ?, ?, ?, 'js_superjson')`,
    ).run(id, n - 1, envelope(i * 10 + n), Date.now(), Date.now());
  }
  db.transaction(() => {
    db.prepare("UPDATE workflow_status SET status = 'SUCCESS', owner_xid = NULL WHERE workflow_uuid = ?").run(id);
    db.prepare('INSERT INTO workflow_output (workflow_uuid, output) VALUES (?, ?)').run(id, envelope(i));
  })();
}

async function timed(count: number, concurrent: boolean, run: (i: number) => Promise<void> | void): Promise<Summary> {
  const latencies: number[] = new Array(count);
  const one = async (i: number) => {
    const t0 = performance.now();
    await run(i);
    latencies[i] = performance.now() - t0;
  };
  const begin = performance.now();
  if (concurrent) await Promise.all(Array.from({ length: count }, (_, i) => one(i)));
  else for (let i = 0; i < count; i++) await one(i);
  return summarize(latencies, performance.now() - begin);
}

export async function runEmbeddedBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'transact-bench-'));
  console.log(`\n== Embedded: three-step workflows on SQLite, synchronous=FULL (${SEQUENTIAL} sequential, ${CONCURRENT} concurrent) ==`);
  const floorDb = new Database(join(dir, 'floor.sqlite'));
  floorDb.pragma('journal_mode = WAL');
  floorDb.pragma('synchronous = FULL');
  migrateSqlite(floorDb);
  DBOS.setConfig({ name: 'bench', systemDatabaseUrl: `sqlite:${join(dir, 'transact.sqlite')}`, applicationVersion: 'bench', logLevel: 'warn' });
  await DBOS.launch();
  try {
    const tx = async (i: number) => void (await (await DBOS.startWorkflow(threeSteps)(i)).getResult());
    await timed(50, false, (i) => floorWorkflow(floorDb, i));
    await timed(50, false, tx);
    const floorSeq = await timed(SEQUENTIAL, false, (i) => floorWorkflow(floorDb, i));
    const stats = systemDatabaseStats()!;
    const before = stats.roundTrips;
    const txSeq = await timed(SEQUENTIAL, false, tx);
    const statements = (stats.roundTrips - before) / SEQUENTIAL;
    const floorConc = await timed(CONCURRENT, true, (i) => floorWorkflow(floorDb, i));
    const txConc = await timed(CONCURRENT, true, tx);
    console.log(line('floor (better-sqlite3), sequential', floorSeq));
    console.log(line('Transact, sequential', txSeq));
    console.log(`  Transact / floor: time per workflow ${fmt(floorSeq.perSecond / txSeq.perSecond)}x; statements per workflow ${fmt(statements)}`);
    console.log(line('floor (better-sqlite3), 2000 at once', floorConc));
    console.log(line('Transact, 2000 at once', txConc));
    console.log(`  Transact / floor: time per workflow ${fmt(floorConc.perSecond / txConc.perSecond)}x (concurrent checkpoints share commits)`);
  } finally {
    await DBOS.shutdown();
    floorDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runEmbeddedBench();
