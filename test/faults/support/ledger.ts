// The ledger: what really happened, written by the fault suite's own code through plain `pg`, in a PostgreSQL
// database of its own that Transact never touches. Transact's system database says what Transact believes; the
// ledger says what ran. The verdict (verdict.ts) compares the two.
//
//   incarnations  one row per process run (an "incarnation": a process, from spawn to death), named by the test
//   executions    one row per step execution, inserted and committed at the start of the step body, before it
//                 returns; plus one `return` row when a workflow body returns (its last step is behind it)
//   faults        what was done to an incarnation and when: `kill` (SIGKILL, stamped once the process is gone),
//                 `stop` (SIGSTOP, stamped once the process is stopped), `shutdown` (stamped by the worker itself
//                 the moment it calls DBOS.shutdown()), `outage` (the system database's server went away under a
//                 live process for longer than the lease: stamped for every live incarnation once the server is
//                 down), `partition` (a network partition of that worker, stamped at the moment another executor took
//                 its work over: until then it could still legitimately start steps); and the faults that must only
//                 pause work, which explain no execution (see verdict.ts): `restart` (the server stopped with
//                 -m immediate and started again), `short-outage` (the database away for less than the lease),
//                 `terminate` (every backend of the system database terminated), `lost-reply` (a statement
//                 committed, then the worker's connection closed before the reply reached it)
//
// Times are Date.now() of the process that writes the row; every process of a scenario runs on this machine, so
// they share one clock. Within one incarnation, `seq` orders its executions exactly.
//
// This module is imported by the worker fixture too, so it depends on nothing but `pg`.

import pg from 'pg';

export type ExecutionKind = 'step' | 'return';

export interface Execution {
  workflowID: string;
  /** The step's index; for a `return` row, the number of steps (the position after the last one). */
  step: number;
  kind: ExecutionKind;
  incarnation: string;
  pid: number;
  /** Per incarnation, 1, 2, 3, ... in the order its executions started. */
  seq: number;
  atMs: number;
}

export type FaultKind = 'kill' | 'stop' | 'shutdown' | 'outage' | 'partition' | ServerFaultKind;

/** Faults done to the database or the wire that must only pause work: they explain no execution. */
export type ServerFaultKind = 'restart' | 'short-outage' | 'terminate' | 'lost-reply';
export const SERVER_FAULT_KINDS: readonly ServerFaultKind[] = ['restart', 'short-outage', 'terminate', 'lost-reply'];

export interface Fault {
  incarnation: string;
  kind: FaultKind;
  atMs: number;
}

export interface IncarnationRow {
  incarnation: string;
  /** The test's name for the process slot (w1, w2, ...) it runs in. */
  label: string;
  pid: number;
  /** DBOS__VMID as given, then (once launched) the executor ID Transact used. */
  executorID: string | null;
  applicationVersion: string | null;
  startedAtMs: number;
  readyAtMs: number | null;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS incarnations (
     incarnation text PRIMARY KEY,
     label text NOT NULL,
     pid integer NOT NULL,
     executor_id text,
     application_version text,
     started_at_ms bigint NOT NULL,
     ready_at_ms bigint
   )`,
  `CREATE TABLE IF NOT EXISTS executions (
     id bigserial PRIMARY KEY,
     workflow_id text NOT NULL,
     step integer NOT NULL,
     kind text NOT NULL CHECK (kind IN ('step', 'return')),
     incarnation text NOT NULL,
     pid integer NOT NULL,
     seq integer NOT NULL,
     at_ms bigint NOT NULL,
     committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     UNIQUE (incarnation, seq)
   )`,
  `CREATE TABLE IF NOT EXISTS faults (
     id bigserial PRIMARY KEY,
     incarnation text NOT NULL,
     kind text NOT NULL CHECK (kind IN ('kill', 'stop', 'shutdown', 'outage', 'partition', 'restart', 'short-outage', 'terminate', 'lost-reply')),
     at_ms bigint NOT NULL
   )`,
];

/** The worker's side: records this incarnation's executions, each committed before the step goes on. */
export class LedgerWriter {
  private readonly pool: pg.Pool;
  private seq = 0;

  constructor(
    url: string,
    readonly incarnation: string,
    poolSize: number,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize });
    this.pool.on('error', () => {}); // an idle connection ended by the server (a dropped database at cleanup)
  }

  async started(label: string, executorID: string | null): Promise<void> {
    await this.pool.query(
      'INSERT INTO incarnations (incarnation, label, pid, executor_id, started_at_ms) VALUES ($1, $2, $3, $4, $5)',
      [this.incarnation, label, process.pid, executorID, Date.now()],
    );
  }

  /** Launched: the executor ID and application version Transact settled on. */
  async ready(executorID: string, applicationVersion: string): Promise<void> {
    await this.pool.query(
      'UPDATE incarnations SET ready_at_ms = $2, executor_id = $3, application_version = $4 WHERE incarnation = $1',
      [this.incarnation, Date.now(), executorID, applicationVersion],
    );
  }

  /** One execution (or a workflow body's return), committed when this resolves (autocommit). */
  async record(workflowID: string, step: number, kind: ExecutionKind): Promise<void> {
    const seq = ++this.seq;
    const atMs = Date.now();
    const client = await this.connect();
    try {
      await client.query(
        'INSERT INTO executions (workflow_id, step, kind, incarnation, pid, seq, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [workflowID, step, kind, this.incarnation, process.pid, seq, atMs],
      );
    } finally {
      client.release();
    }
  }

  /**
   * A connection, waiting out a server that refuses new ones for a while (too many clients: the test server is shared).
   * Only connecting is retried; an INSERT that fails once sent is not, as it might have been committed.
   */
  private async connect(): Promise<pg.PoolClient> {
    const deadline = Date.now() + 30_000;
    for (let wait = 20; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await this.pool.connect();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async fault(kind: FaultKind, atMs: number): Promise<void> {
    await this.pool.query('INSERT INTO faults (incarnation, kind, at_ms) VALUES ($1, $2, $3)', [this.incarnation, kind, atMs]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The test's side: makes the ledger database, records faults, reads everything back. */
export class Ledger {
  private constructor(
    readonly url: string,
    private readonly client: pg.Pool,
  ) {}

  /** Creates the database named by `url` (it must not exist) through `adminUrl`, and the ledger's tables in it. */
  static async create(adminUrl: string, url: string): Promise<Ledger> {
    const admin = new pg.Client({ connectionString: adminUrl });
    admin.on('error', () => {});
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${decodeURIComponent(new URL(url).pathname.slice(1))}"`);
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {}); // an idle connection ended by the server (the database dropped at cleanup)
    for (const statement of SCHEMA) await pool.query(statement);
    return new Ledger(url, pool);
  }

  async recordFault(incarnation: string, kind: FaultKind, atMs: number): Promise<void> {
    await this.client.query('INSERT INTO faults (incarnation, kind, at_ms) VALUES ($1, $2, $3)', [incarnation, kind, atMs]);
  }

  async executions(): Promise<Execution[]> {
    const { rows } = await this.client.query(
      'SELECT workflow_id, step, kind, incarnation, pid, seq, at_ms FROM executions ORDER BY at_ms, id',
    );
    return rows.map((r) => ({
      workflowID: r.workflow_id,
      step: r.step,
      kind: r.kind,
      incarnation: r.incarnation,
      pid: r.pid,
      seq: r.seq,
      atMs: Number(r.at_ms),
    }));
  }

  async faults(): Promise<Fault[]> {
    const { rows } = await this.client.query('SELECT incarnation, kind, at_ms FROM faults ORDER BY at_ms, id');
    return rows.map((r) => ({ incarnation: r.incarnation, kind: r.kind, atMs: Number(r.at_ms) }));
  }

  async incarnations(): Promise<IncarnationRow[]> {
    const { rows } = await this.client.query('SELECT * FROM incarnations ORDER BY started_at_ms');
    return rows.map((r) => ({
      incarnation: r.incarnation,
      label: r.label,
      pid: r.pid,
      executorID: r.executor_id,
      applicationVersion: r.application_version,
      startedAtMs: Number(r.started_at_ms),
      readyAtMs: r.ready_at_ms === null ? null : Number(r.ready_at_ms),
    }));
  }

  /** How many workflow bodies this incarnation has returned from so far. */
  async returnsBy(incarnation: string): Promise<number> {
    const { rows } = await this.client.query(`SELECT count(*)::int AS n FROM executions WHERE incarnation = $1 AND kind = 'return'`, [
      incarnation,
    ]);
    return rows[0].n;
  }

  /**
   * Workflows this incarnation is in the middle of, as far as the ledger knows: it ran a step of them and has not
   * returned from them (the fault schedule uses it to strike while work is in flight).
   */
  async inFlightAt(incarnation: string): Promise<string[]> {
    const { rows } = await this.client.query(
      `SELECT DISTINCT workflow_id FROM executions e WHERE incarnation = $1 AND kind = 'step'
          AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.incarnation = e.incarnation AND r.workflow_id = e.workflow_id
                            AND r.kind = 'return')`,
      [incarnation],
    );
    return rows.map((r) => r.workflow_id);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
