// The transaction benchmark: a workflow of three transaction steps (transact/datasources/nodepg) against the
// application database, beside the floor measured in the same run: the same three transactions (BEGIN, INSERT,
// COMMIT) issued with plain `pg` on a pool of the same size, with no durability at all. Run once per system-database
// backend (embedded SQLite, PostgreSQL); the application database is PostgreSQL. Statements sent to the application
// database are counted at the driver, so the checkpoint's cost there is visible (the target: none).

import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DBOS } from '../src/dbos.js';
import { NodePostgresDataSource } from '../src/datasources/nodepg.js';
import { benchBaseUrl, dropDatabase, fmt, freshBenchDatabase, line, summarize, type Summary } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_TX_SEQUENTIAL ?? 300);
const CONCURRENT = Number(process.env.BENCH_TX_CONCURRENT ?? 500);
const POOL_SIZE = 10;

/** Statements sent to the application database, counted where every pg client sends them. */
let appDatabaseName = '';
let appStatements = 0;
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if ((this as unknown as { database?: string }).database === appDatabaseName) appStatements++;
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

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

async function floorTransaction(pool: pg.Pool, id: string, v: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO bench_tx (id, v) VALUES ($1, $2)', [id, v]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function floorWorkflow(pool: pg.Pool, i: number): Promise<void> {
  const id = randomUUID();
  for (let n = 1; n <= 3; n++) await floorTransaction(pool, `floor-${id}-${n}`, i * 10 + n);
}

export async function runTransactionBench(baseUrl = benchBaseUrl): Promise<void> {
  void baseUrl;
  const appUrl = freshBenchDatabase('tx_app');
  appDatabaseName = decodeURIComponent(new URL(appUrl).pathname.slice(1));
  const admin = new pg.Client({ connectionString: benchBaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${appDatabaseName}"`);
  await admin.end();
  const setup = new pg.Client({ connectionString: appUrl });
  await setup.connect();
  await setup.query('CREATE TABLE bench_tx (id text PRIMARY KEY, v int NOT NULL)');
  await setup.end();

  const ds = new NodePostgresDataSource('bench_app', { connectionString: appUrl, max: POOL_SIZE });
  const insert = ds.registerTransaction(
    async (id: string, v: number) => {
      await ds.client.query('INSERT INTO bench_tx (id, v) VALUES ($1, $2)', [id, v]);
      return v;
    },
    { name: 'benchInsert' },
  );
  const threeTransactions = DBOS.registerWorkflow(
    async (i: number) => {
      const id = DBOS.workflowID!;
      const a = await insert(`${id}-1`, i * 10 + 1);
      const b = await insert(`${id}-2`, i * 10 + 2);
      const c = await insert(`${id}-3`, i * 10 + 3);
      return a + b + c;
    },
    { name: 'threeTransactions' },
  );
  const transactWorkflow = async (i: number) => {
    const handle = await DBOS.startWorkflow(threeTransactions)(i);
    await handle.getResult();
  };

  const pool = new pg.Pool({ connectionString: appUrl, max: POOL_SIZE });
  const sqliteDir = mkdtempSync(join(tmpdir(), 'transact-bench-tx-'));
  try {
    for (const backend of ['sqlite', 'postgres'] as const) {
      const systemDatabaseUrl = backend === 'sqlite' ? `sqlite:${join(sqliteDir, 'system.sqlite')}` : freshBenchDatabase('tx_sys');
      console.log(
        `\n== Transactions: three transaction steps (nodepg data source) vs the same three transactions with plain pg; ` +
          `system database ${backend === 'sqlite' ? 'embedded SQLite' : 'PostgreSQL'} (${SEQUENTIAL} sequential, ${CONCURRENT} concurrent; pool ${POOL_SIZE}) ==`,
      );
      DBOS.setConfig({ name: 'bench-tx', systemDatabaseUrl, applicationVersion: 'bench', logLevel: 'warn', systemDatabasePoolSize: POOL_SIZE });
      await DBOS.launch();
      try {
        await measureSequential((i) => floorWorkflow(pool, i), 30);
        await measureSequential(transactWorkflow, 30);
        await ds.dataSourceCore.flushCleanup();

        let before = appStatements;
        const floorSeq = await measureSequential((i) => floorWorkflow(pool, i), SEQUENTIAL);
        const floorStatements = (appStatements - before) / SEQUENTIAL;
        before = appStatements;
        const txSeq = await measureSequential(transactWorkflow, SEQUENTIAL);
        await ds.dataSourceCore.flushCleanup();
        const txStatements = (appStatements - before) / SEQUENTIAL;

        const floorConc = await measureConcurrent((i) => floorWorkflow(pool, i), CONCURRENT);
        const txConc = await measureConcurrent(transactWorkflow, CONCURRENT);

        console.log(line('floor (plain pg), sequential', floorSeq));
        console.log(line('Transact, sequential', txSeq));
        console.log(
          `  Transact / floor: p50 latency ${fmt(txSeq.p50 / floorSeq.p50)}x, time per workflow ${fmt(floorSeq.perSecond / txSeq.perSecond)}x`,
        );
        console.log(line(`floor (plain pg), ${CONCURRENT} at once`, floorConc));
        console.log(line(`Transact, ${CONCURRENT} at once`, txConc));
        console.log(`  Transact / floor: time per workflow ${fmt(floorConc.perSecond / txConc.perSecond)}x`);
        console.log(
          `  statements to the application database per workflow: floor ${fmt(floorStatements)}, Transact ${fmt(txStatements)} ` +
            `(completion rows ride with COMMIT; their clean-up is one batched DELETE per up to 200 workflows)`,
        );
      } finally {
        await DBOS.shutdown();
        if (backend === 'postgres') await dropDatabase(systemDatabaseUrl);
      }
    }
  } finally {
    await pool.end();
    rmSync(sqliteDir, { recursive: true, force: true });
    // The data source is an add-on of every later launch in this process: forgotten before its database goes, or
    // the next benchmark's launch would try to open it (npm run bench runs the receivers after this one).
    DBOS.clearRegistry();
    await dropDatabase(appUrl);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runTransactionBench();
