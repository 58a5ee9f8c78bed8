// One fault scenario's world: a fresh system database (migrated before any worker starts), a fresh ledger, a
// cluster of worker processes, a DBOSClient that enqueues, and at the end the verdict, read from the ledger and the
// system database and printed as one line.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DBOS, DBOSClient } from '../../../src/index.js';
import { QUEUE_CHANNEL } from '../../../src/sysdb/workflows.js';
import { freshDatabase, postgresBaseUrl, withPg, type BackendKind } from '../../support/backends.js';
import { queryRows } from '../../support/rows.js';
import { Cluster } from './cluster.js';
import { Ledger } from './ledger.js';
import { isClean, judge, type StepCheckpoint, type Verdict, type WorkflowRecord } from './verdict.js';
import { DEFAULT_QUEUE, FAULT_APP, FAULT_WORKFLOW } from './workload.js';

export interface ScenarioOptions {
  /** The scenario's name: the verdict line's, and the prefix of its workflow IDs. */
  name: string;
  backend: BackendKind;
  steps?: number;
  queue?: string;
  /** The environment of every worker: FAULT_APP_VERSION, FAULT_LEASE_MS, FAULT_WORKER_CONCURRENCY, FAULT_STEP_MS, ... */
  workerEnv?: Record<string, string>;
  /**
   * `code` (default): each worker declares the queue. `database`: the test registers it through the client (with
   * the workers' FAULT_WORKER_CONCURRENCY) and the workers find it in the system database.
   */
  queueSource?: 'code' | 'database';
  /** A system database of the test's choosing (on a private server, say); default: a fresh one of `backend`. */
  systemDatabaseUrl?: string;
}

export class Scenario {
  /** Every workflow enqueued so far, with its seed. */
  readonly expected = new Map<string, number>();
  readonly steps: number;
  readonly queue: string;
  private next = 0;

  private constructor(
    readonly name: string,
    readonly systemDatabaseUrl: string,
    readonly ledger: Ledger,
    readonly cluster: Cluster,
    readonly client: DBOSClient,
    options: ScenarioOptions,
  ) {
    this.steps = options.steps ?? 3;
    this.queue = options.queue ?? DEFAULT_QUEUE;
  }

  static async create(options: ScenarioOptions): Promise<Scenario> {
    const systemDatabaseUrl = options.systemDatabaseUrl ?? freshDatabase(options.backend, `f_${options.name}`);
    await DBOS.migrate(systemDatabaseUrl); // once, before any worker: the workers' launches do not race to create it
    const ledger = await Ledger.create(postgresBaseUrl, freshDatabase('postgres', 'ledger'));
    const env: Record<string, string> = {
      FAULT_SYSTEM_DB: systemDatabaseUrl,
      FAULT_STEPS: String(options.steps ?? 3),
      FAULT_QUEUE: options.queue ?? DEFAULT_QUEUE,
      FAULT_QUEUE_SOURCE: options.queueSource ?? 'code',
      ...options.workerEnv,
    };
    const client = await DBOSClient.create({ systemDatabaseUrl, systemDatabasePoolSize: 2 });
    if (options.queueSource === 'database') {
      await client.registerQueue(options.queue ?? DEFAULT_QUEUE, {
        workerConcurrency: Number(env.FAULT_WORKER_CONCURRENCY ?? 10),
        applicationName: FAULT_APP,
      });
    }
    return new Scenario(options.name, systemDatabaseUrl, ledger, new Cluster(ledger, env), client, options);
  }

  /** The ID prefix of this scenario's workflows. */
  get prefix(): string {
    return `${this.name}-`;
  }

  /** Enqueues `count` workflows through the client, `inFlight` enqueues at a time; returns their IDs. */
  async enqueue(count: number, inFlight = 10): Promise<string[]> {
    const ids = Array.from({ length: count }, () => {
      const seed = ++this.next;
      return `${this.prefix}${String(seed).padStart(5, '0')}`;
    });
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(inFlight, count) }, async () => {
        while (i < ids.length) {
          const id = ids[i++]!;
          const seed = Number(id.slice(this.prefix.length));
          await this.client.enqueue({ queueName: this.queue, workflowName: FAULT_WORKFLOW, workflowID: id }, seed);
          this.expected.set(id, seed);
        }
      }),
    );
    return ids;
  }

  /**
   * Enqueues `total` workflows at about `perSecond`, in batches every 100 ms, so that work is in flight during the
   * whole fault schedule. Resolves when all are enqueued.
   */
  async enqueueSteadily(total: number, perSecond: number): Promise<void> {
    const perBatch = Math.max(1, Math.round(perSecond / 10));
    const start = Date.now();
    let sent = 0;
    while (sent < total) {
      const batch = Math.min(perBatch, total - sent);
      await this.enqueue(batch);
      sent += batch;
      const due = start + (sent / perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the feed's pace, not a wait for a condition
    }
  }

  /**
   * Until `until` settles, announces the queue (the notification an enqueue sends: NOTIFY on Transact's queue
   * channel with the queue's name) back to back, so that a process launching meanwhile gets them at every moment of
   * its launch. PostgreSQL only. Returns how many were sent.
   */
  async announceQueueUntil(until: Promise<unknown>): Promise<number> {
    let done = false;
    void until.finally(() => (done = true)).catch(() => {});
    return withPg(this.systemDatabaseUrl, async (pgClient) => {
      let sent = 0;
      while (!done) {
        await pgClient.query('SELECT pg_notify($1, $2)', [QUEUE_CHANNEL, this.queue]);
        sent++;
      }
      return sent;
    });
  }

  /**
   * Enqueues at about `perSecond`, in batches every 100 ms, until `until` settles (a fault schedule of unknown
   * length). Resolves with how many were enqueued.
   */
  async enqueueUntil(until: Promise<unknown>, perSecond: number): Promise<number> {
    let done = false;
    void until.finally(() => (done = true)).catch(() => {});
    const perBatch = Math.max(1, Math.round(perSecond / 10));
    const start = Date.now();
    let sent = 0;
    while (!done) {
      await this.enqueue(perBatch);
      sent += perBatch;
      const due = start + (sent / perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the feed's pace
    }
    return sent;
  }

  /** How many of this scenario's workflows are in each status. */
  async statusCounts(): Promise<Record<string, number>> {
    const rows = await queryRows(
      this.systemDatabaseUrl,
      'SELECT status, count(*) AS n FROM dbos.workflow_status WHERE workflow_uuid LIKE $1 GROUP BY status',
      [`${this.prefix}%`],
    );
    return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
  }

  /**
   * Waits until every enqueued workflow has finished (any final status), or the deadline passes. Does not throw at
   * the deadline: the verdict then reports what is stuck, with the evidence. Returns whether all finished.
   */
  async waitForAll(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await this.statusCounts();
      const open = (counts.PENDING ?? 0) + (counts.ENQUEUED ?? 0) + (counts.DELAYED ?? 0);
      const rows = Object.values(counts).reduce((a, b) => a + b, 0);
      if (open === 0 && rows >= this.expected.size) return true;
      if (Date.now() > deadline) {
        console.log(`${this.name}: not all finished by the deadline: ${JSON.stringify(counts)} of ${this.expected.size}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The system database's rows of this scenario's workflows and their step checkpoints. */
  async systemState(): Promise<Map<string, WorkflowRecord>> {
    const like = [`${this.prefix}%`];
    const statuses = await queryRows(
      this.systemDatabaseUrl,
      `SELECT ws.workflow_uuid, ws.status, ws.executor_id, ws.recovery_attempts, COALESCE(wo.output, ws.output) AS output
         FROM dbos.workflow_status ws LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
        WHERE ws.workflow_uuid LIKE $1`,
      like,
    );
    const steps = await queryRows(
      this.systemDatabaseUrl,
      `SELECT workflow_uuid, function_id, function_name, output, error, started_at_epoch_ms, completed_at_epoch_ms FROM dbos.operation_outputs WHERE workflow_uuid LIKE $1`,
      like,
    );
    const byWorkflow = new Map<string, StepCheckpoint[]>();
    for (const s of steps) {
      const id = String(s.workflow_uuid);
      byWorkflow.set(id, [
        ...(byWorkflow.get(id) ?? []),
        { functionID: Number(s.function_id), name: String(s.function_name), output: decode(s.output), error: (s.error as string | null) ?? null,
          startedAtMs: s.started_at_epoch_ms == null ? null : Number(s.started_at_epoch_ms),
          completedAtMs: s.completed_at_epoch_ms == null ? null : Number(s.completed_at_epoch_ms),
        },
      ]);
    }
    return new Map(
      statuses.map((r) => {
        const id = String(r.workflow_uuid);
        return [
          id,
          {
            workflowID: id,
            status: String(r.status),
            output: decode(r.output),
            executorID: (r.executor_id as string | null) ?? null,
            recoveryAttempts: Number(r.recovery_attempts),
            steps: byWorkflow.get(id) ?? [],
          },
        ];
      }),
    );
  }

  /** Reads the ledger and the system database, judges, prints the verdict line, and keeps the details in a file. */
  async verdict(): Promise<Verdict> {
    const [executions, faults, incarnations, workflows] = await Promise.all([
      this.ledger.executions(),
      this.ledger.faults(),
      this.ledger.incarnations(),
      this.systemState(),
    ]);
    const names = new Map(incarnations.map((i) => [i.incarnation, `${i.incarnation}(pid ${i.pid})`]));
    const verdict = judge({
      scenario: this.name,
      stepsPerWorkflow: this.steps,
      expected: this.expected,
      executions,
      faults,
      workflows,
      names,
    });
    console.log(verdict.line);
    const dir = join(tmpdir(), 'transact-faults');
    mkdirSync(dir, { recursive: true });
    const report = join(dir, `${this.name}.txt`);
    const timeline = faults.map((f) => `${f.kind} ${names.get(f.incarnation)} at ${f.atMs}`);
    const runs = incarnations.map((i) => `${names.get(i.incarnation)} executor ${i.executorID ?? '(default)'} version ${i.applicationVersion} started ${i.startedAtMs} ready ${i.readyAtMs}`);
    writeFileSync(report, [verdict.line, '', ...runs, '', ...timeline, '', ...verdict.problems, ''].join('\n'));
    if (!isClean(verdict)) console.log(`${this.name}: the full diagnosis is in ${report}`);
    return verdict;
  }

  /** PRAGMA integrity_check of an embedded system database. */
  integrityCheck(): string {
    const db = new Database(this.systemDatabaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    } finally {
      db.close();
    }
  }

  async dispose(): Promise<void> {
    await this.cluster.killAll();
    await this.client.destroy().catch(() => {});
    await this.ledger.close().catch(() => {});
  }
}

/** A stored value in the native format: the envelope `{"json": value, ...}` around plain JSON. */
function decode(text: unknown): unknown {
  if (text === null || text === undefined) return undefined;
  const parsed = JSON.parse(String(text));
  return parsed && typeof parsed === 'object' && 'json' in parsed ? parsed.json : parsed;
}

/** The promise held: nothing lost, stuck, wrong, no unexplained execution, no worker crashed. Fails with the evidence. */
export function assertPromiseKept(verdict: Verdict, cluster?: Cluster): void {
  const crashes = cluster?.crashes() ?? [];
  const shown = verdict.problems.slice(0, 30);
  const more = verdict.problems.length > shown.length ? [`... and ${verdict.problems.length - shown.length} more`] : [];
  assert.ok(isClean(verdict) && crashes.length === 0, [verdict.line, ...crashes, ...shown, ...more].join('\n'));
}

/** Picks one element at random. */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
