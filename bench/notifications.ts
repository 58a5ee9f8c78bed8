// The notification benchmark: how long a message takes from send() to recv() returning in a workflow that waits for
// it, p50 and p99 over 200 messages, beside the floor measured in the same run with plain `pg`: a bare NOTIFY round
// trip, and the same insert-notify-take chain Transact runs, without the engine. Then the same on SQLite.
//
// Before each message the benchmark waits until the workflow's recv has looked in the database and found nothing,
// so every measured message is delivered by a wake-up, never found by the first look; then it lets the machine idle
// for PACE_MS, and the floors are paced the same way (a connection that just idled answers more slowly than one kept
// busy back to back, so unpaced floors would flatter the database).
// Run alone with `npx tsx bench/notifications.ts` (PostgreSQL at TRANSACT_BENCH_DATABASE_URL or the test server).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { DBOS } from '../src/dbos.js';
import { systemDatabaseStats } from '../src/process/state.js';
import { DBOSClient } from '../src/index.js';
import { fmt, percentile } from './stats.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const WARMUP = 20;
const PACE_MS = 5;

let arrived: ((value: number) => void) | undefined;

const benchReceiver = DBOS.registerWorkflow(
  async (count: number) => {
    for (let i = 0; i < count; i++) {
      const value = await DBOS.recv<number>('bench', 120);
      arrived?.(value!);
    }
    return count;
  },
  { name: 'benchReceiver' },
);

interface Latencies {
  p50: number;
  p99: number;
}

function summarize(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function report(label: string, l: Latencies): void {
  console.log(`${label.padEnd(66)} p50 ${fmt(l.p50).padStart(6)} ms   p99 ${fmt(l.p99).padStart(6)} ms`);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withDatabase<T>(baseUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const url = new URL(baseUrl);
  const name = `transact_bench_notify_${randomBytes(3).toString('hex')}`;
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => admin.end());
  }
}

// ------------------------------------------------------------------------------------------------------- the floor

/** A plain NOTIFY from one connection to a LISTEN on another. */
async function notifyRoundTrip(url: string, count: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  const notifier = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), notifier.connect()]);
  try {
    await listener.query('LISTEN transact_bench');
    let heard: ((payload: string) => void) | undefined;
    listener.on('notification', (n) => heard?.(n.payload ?? ''));
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      await pause(PACE_MS);
      const got = new Promise<string>((r) => (heard = r));
      const t0 = performance.now();
      await notifier.query({ name: 'bench_notify', text: 'SELECT pg_notify($1, $2)', values: ['transact_bench', String(i)] });
      await got;
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    await Promise.all([listener.end(), notifier.end()]);
  }
}

let rawStepIDs = 100_000;

/**
 * What Transact does, as plain `pg` statements: insert the message (its trigger NOTIFYs), and on the notification
 * take it and write the step row in one statement. Needs the schema: run after the engine created it.
 */
async function rawSendTake(url: string, destination: string, count: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  const sender = new pg.Client({ connectionString: url });
  const taker = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), sender.connect(), taker.connect()]);
  try {
    await listener.query('LISTEN dbos_notifications_channel');
    let heard: (() => void) | undefined;
    listener.on('notification', (n) => {
      if (n.payload === `${destination}::raw`) heard?.();
    });
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      await pause(PACE_MS);
      const got = new Promise<void>((r) => (heard = r));
      const t0 = performance.now();
      await sender.query({
        name: 'raw_send',
        text: `INSERT INTO dbos.notifications (destination_uuid, topic, message, serialization) VALUES ($1, 'raw', $2, 'portable_json')`,
        values: [destination, String(i)],
      });
      await got;
      await taker.query({
        name: 'raw_take',
        text: `WITH msg AS (
                 SELECT message_uuid, message FROM dbos.notifications
                  WHERE destination_uuid = $1 AND topic = 'raw' AND consumed = false
                  ORDER BY created_at_epoch_ms LIMIT 1 FOR UPDATE
               ), step AS (
                 INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output)
                 SELECT $1, $2, 'raw.recv', message FROM msg RETURNING 1
               )
               UPDATE dbos.notifications SET consumed = true WHERE message_uuid = (SELECT message_uuid FROM msg)`,
        values: [destination, rawStepIDs++],
      });
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    await Promise.all([listener.end(), sender.end(), taker.end()]);
  }
}

// ------------------------------------------------------------------------------------------------------ Transact

/** Has the waiting workflow's recv looked (and found nothing) since `mark`? */
function looks(): number {
  const stats = systemDatabaseStats()!.byStatement;
  return (stats.get('transact_recv') ?? 0) + (stats.get('transact_has_message') ?? 0);
}

async function untilWaiting(mark: number): Promise<void> {
  while (looks() <= mark) await pause(0.2);
  await pause(PACE_MS); // that look's reply is back long before this
}

/** send -> recv returning in a waiting workflow, `count` times, with `sendOne` sending value i. */
async function sendToWaitingWorkflow(count: number, sendOne: (workflowID: string, i: number) => Promise<void>): Promise<number[]> {
  const workflowID = `bench-receiver-${randomBytes(4).toString('hex')}`;
  let mark = looks();
  const handle = await DBOS.startWorkflow(benchReceiver, { workflowID })(count);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    await untilWaiting(mark);
    const got = new Promise<number>((r) => (arrived = r));
    const t0 = performance.now();
    await sendOne(workflowID, i);
    const value = await got;
    samples.push(performance.now() - t0);
    mark = looks();
    if (value !== i) throw new Error(`expected message ${i}, received ${value}`);
  }
  await handle.getResult();
  return samples;
}

async function transactRuns(label: string, client?: DBOSClient): Promise<Latencies> {
  const send = client
    ? (id: string, i: number) => client.send(id, i, 'bench')
    : (id: string, i: number) => DBOS.send(id, i, 'bench');
  await sendToWaitingWorkflow(WARMUP, send);
  const result = summarize(await sendToWaitingWorkflow(MESSAGES, send));
  report(label, result);
  return result;
}

export async function runNotificationBench(postgresUrl: string): Promise<void> {
  console.log(`\n== Notifications: send -> recv returning in a waiting workflow (${MESSAGES} messages each) ==`);
  await withDatabase(postgresUrl, async (url) => {
    DBOS.setConfig({ name: 'bench', systemDatabaseUrl: url, applicationVersion: 'bench', logLevel: 'warn' });
    await DBOS.launch();
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      await notifyRoundTrip(url, WARMUP);
      const floor = summarize(await notifyRoundTrip(url, MESSAGES));
      report('PostgreSQL floor: plain pg NOTIFY -> LISTEN', floor);
      // The raw chain needs a destination row; any workflow row will do.
      const anchor = await DBOS.startWorkflow(benchReceiver, { workflowID: 'raw-anchor' })(0);
      await anchor.getResult();
      await rawSendTake(url, 'raw-anchor', WARMUP);
      report('PostgreSQL floor: plain pg insert -> NOTIFY -> take + step row', summarize(await rawSendTake(url, 'raw-anchor', MESSAGES)));
      const inProcess = await transactRuns('Transact on PostgreSQL, DBOS.send in the same process');
      const fromClient = await transactRuns('Transact on PostgreSQL, DBOSClient.send (NOTIFY path)', client);
      console.log(
        `  Transact / NOTIFY floor at p50: ${fmt(inProcess.p50 / floor.p50)}x (same process), ${fmt(fromClient.p50 / floor.p50)}x (client)`,
      );
    } finally {
      await client.destroy();
      await DBOS.shutdown();
    }
  });

  const dir = mkdtempSync(join(tmpdir(), 'transact-bench-'));
  try {
    const url = `sqlite:${join(dir, 'bench.sqlite')}`;
    DBOS.setConfig({ name: 'bench', systemDatabaseUrl: url, applicationVersion: 'bench', logLevel: 'warn' });
    await DBOS.launch();
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      await transactRuns('Transact on SQLite (synchronous=FULL), DBOS.send');
      await transactRuns('Transact on SQLite, DBOSClient.send (found by the 250 ms poll)', client);
    } finally {
      await client.destroy();
      await DBOS.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { benchBaseUrl } = await import('./stats.js');
  await runNotificationBench(benchBaseUrl);
}
