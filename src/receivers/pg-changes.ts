// PostgreSQL table changes (`transact/pg-changes`, with `pg`): one workflow per row inserted or updated in a table of
// the application's own database, exactly once, including changes made while no process was listening.
//
// At launch the receiver installs (idempotently) in that database: a change log `transact_changes` (one row per insert
// or update: its sequence, the writing transaction's ID, the table, the operation and the new row as JSON), a trigger
// on the table that appends to it and sends NOTIFY, and `transact_change_positions`, where each consumer's position
// is kept. NOTIFY only wakes the receiver; what it reads is the log, from its stored position, so nothing written
// while it was down is lost (the catch-up is the same query as the steady state), and a poll (`pollMs`) covers a lost
// notification.
//
//   workflow ID   `pgchanges-<consumer>-<log sequence>`
//   arguments     (table, operation 'INSERT' | 'UPDATE', the row as an object)
//   acknowledged  the position moves past a batch only once its workflows are stored (./intake.ts); a crash in between
//                 reads the batch again, and the IDs make it harmless.
//
// Why the log is read in (transaction ID, sequence) order, and only below the oldest transaction still running: a
// sequence is taken when a row is written, not when its transaction commits, so a later sequence can commit first.
// Rows of transactions older than every running one can no longer appear, so a position below that line never skips
// a row committed late. One process at a time advances a consumer's position (its row is locked while it does).

import type pg from 'pg';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { registeredWorkflowName } from '../process/state.js';
import { DBOSInitializationError, DBOSNotRegisteredError } from '../errors.js';
import type { AnyFunction } from '../runtime/registry.js';
import { registerInternalQueue, registerPollerQueue } from './api.js';
import { MessageIntake, pause, type IntakeTarget } from './intake.js';
import { ConsumerStatus, type ReceiverStatus } from './status.js';

export interface PgChangesConfig {
  /** The application database holding the tables (not necessarily the system database). */
  connectionString: string;
  /** The safety-net poll, when no notification arrives (default 5000 ms). */
  pollMs?: number;
  /** The first wait after a database error (default 500 ms; doubles up to 30 s). */
  reconnectMs?: number;
  maxUnfinished?: number;
}

export interface PgChangesOptions {
  /** The consumer's name: its position and workflow IDs (default: the workflow's name). */
  name?: string;
  /** Changes read, stored and acknowledged together (default 200). */
  batchSize?: number;
  queueName?: string;
}

export type PgChangeArgs = [string, 'INSERT' | 'UPDATE', Record<string, unknown>];

export const PG_CHANGES_QUEUE = '_transact_pg_changes_queue';
export const PG_CHANGES_CHANNEL = 'transact_changes';

export function pgChangeWorkflowID(consumer: string, seq: string | number): string {
  return `pgchanges-${consumer}-${seq}`;
}

const SETUP = [
  `CREATE TABLE IF NOT EXISTS transact_changes (
     seq bigserial PRIMARY KEY,
     tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
     table_name text NOT NULL,
     op text NOT NULL,
     row_data jsonb NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS transact_changes_order ON transact_changes (table_name, tx, seq)`,
  `CREATE TABLE IF NOT EXISTS transact_change_positions (consumer text PRIMARY KEY, tx xid8 NOT NULL, seq bigint NOT NULL)`,
  `CREATE OR REPLACE FUNCTION transact_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO transact_changes (table_name, op, row_data) VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(NEW));
     PERFORM pg_notify('${PG_CHANGES_CHANNEL}', TG_TABLE_NAME);
     RETURN NULL;
   END $$`,
];

interface Registration {
  fn: AnyFunction;
  table: string;
  options: PgChangesOptions;
}

export class PgChangesReceiver implements DBOSLifecycleCallback {
  private readonly registrations: Registration[] = [];
  private consumers: TableConsumer[] = [];
  private stop = new AbortController();
  private listener?: pg.Client;

  constructor(private readonly config: PgChangesConfig) {
    DBOS.registerLifecycleCallback(this);
  }

  /** Runs registered workflow `func(table, op, row)` once for every row inserted or updated in `table`. */
  registerConsumer<This, Return>(func: (this: This, ...args: PgChangeArgs) => Promise<Return>, table: string, options: PgChangesOptions = {}): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new DBOSInitializationError(`pg-changes: table name ${table} must be a plain identifier`);
    const queueName = options.queueName ?? PG_CHANGES_QUEUE;
    if (queueName === PG_CHANGES_QUEUE) registerInternalQueue(PG_CHANGES_QUEUE);
    registerPollerQueue(queueName);
    this.registrations.push({ fn: func as AnyFunction, table, options });
  }

  status(): ReceiverStatus[] {
    return this.consumers.map((c) => c.status.snapshot());
  }

  async initialize(): Promise<void> {
    if (this.registrations.length === 0) return;
    this.stop = new AbortController();
    const { default: pgModule } = await import('pg');
    const pool = new pgModule.Pool({ connectionString: this.config.connectionString, max: 2 });
    pool.on('error', () => {});
    const intake = new MessageIntake({ backoff: { retryTime: 500, multiplier: 2 }, stopped: this.stop.signal, maxUnfinished: this.config.maxUnfinished });
    try {
      for (const statement of SETUP) await pool.query(statement);
      for (const r of this.registrations) {
        const registered = registeredWorkflowName(r.fn);
        if (!registered) throw new DBOSNotRegisteredError(`${r.fn.name || 'anonymous function'} (a table-change consumer must be a registered workflow)`);
        const name = r.options.name ?? (registered.className ? `${registered.className}.${registered.name}` : registered.name);
        const trigger = `transact_changes_${r.table}`;
        await pool.query(`DROP TRIGGER IF EXISTS ${trigger} ON ${r.table}`);
        await pool.query(`CREATE TRIGGER ${trigger} AFTER INSERT OR UPDATE ON ${r.table} FOR EACH ROW EXECUTE FUNCTION transact_record_change()`);
        await pool.query(`INSERT INTO transact_change_positions (consumer, tx, seq) VALUES ($1, '0'::xid8, 0) ON CONFLICT DO NOTHING`, [name]);
        const target: IntakeTarget = { fn: r.fn, label: `Table-change consumer ${name}`, queueName: r.options.queueName ?? PG_CHANGES_QUEUE, batchSize: r.options.batchSize ?? 200 };
        this.consumers.push(new TableConsumer(pool, r.table, name, target, intake, this.config, this.stop.signal));
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    this.listen(pgModule);
    for (const c of this.consumers) c.run();
    this.pool = pool;
  }

  private pool?: pg.Pool;

  /** A LISTEN connection that wakes the consumers; reconnected after a loss (the poll covers the gap). */
  private listen(pgModule: typeof pg): void {
    const connect = async () => {
      while (!this.stop.signal.aborted) {
        const client = new pgModule.Client({ connectionString: this.config.connectionString });
        try {
          await client.connect();
          client.on('notification', (n) => {
            for (const c of this.consumers) if (c.table === n.payload) c.wake();
          });
          client.on('error', () => {});
          client.on('end', () => {
            if (!this.stop.signal.aborted) void connect();
          });
          await client.query(`LISTEN ${PG_CHANGES_CHANNEL}`);
          this.listener = client;
          for (const c of this.consumers) c.wake(); // what was written while not listening
          return;
        } catch {
          await client.end().catch(() => {});
          await pause(this.config.reconnectMs ?? 500, this.stop.signal);
        }
      }
    };
    void connect();
  }

  async destroy(): Promise<void> {
    this.stop.abort();
    const consumers = this.consumers;
    this.consumers = [];
    for (const c of consumers) c.wake();
    await Promise.all(consumers.map((c) => c.close()));
    await this.listener?.end().catch(() => {});
    await this.pool?.end().catch(() => {});
  }
}

class TableConsumer {
  readonly status: ConsumerStatus;
  private running?: Promise<void>;
  private wakeUp?: () => void;
  private woken = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly table: string,
    readonly name: string,
    private readonly target: IntakeTarget,
    private readonly intake: MessageIntake,
    private readonly config: PgChangesConfig,
    private readonly stopped: AbortSignal,
  ) {
    this.status = new ConsumerStatus('pg-changes', target.label.replace(/^Table-change consumer /, ''), table, target);
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  run(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    const floor = this.config.reconnectMs ?? 500;
    let wait = floor;
    while (!this.stopped.aborted) {
      try {
        this.woken = false;
        const { read, result } = await this.step();
        if (this.status.state !== 'paused') this.status.set('running');
        wait = floor;
        if (result === 'paused') {
          this.status.set('paused');
          await this.intake.drained(this.target.queueName);
          this.status.set('running');
          continue;
        }
        if (read === this.target.batchSize) continue; // more is waiting
        if (!this.woken) await this.sleep(this.config.pollMs ?? 5000);
      } catch (err) {
        if (this.stopped.aborted) break;
        this.status.crashed(err, wait);
        await pause(wait, this.stopped);
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  /** One batch: lock the position, read what follows it (below the oldest running transaction), store, advance. */
  private async step(): Promise<{ read: number; result: 'done' | 'stopped' | 'paused' | 'locked' }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const position = await client.query(`SELECT tx, seq FROM transact_change_positions WHERE consumer = $1 FOR UPDATE SKIP LOCKED`, [this.name]);
      if (position.rows.length === 0) {
        await client.query('ROLLBACK');
        return { read: 0, result: 'locked' }; // another process is advancing it
      }
      const { tx, seq } = position.rows[0] as { tx: string; seq: string };
      const { rows } = await client.query(
        `SELECT seq::text AS seq, tx::text AS tx, op, row_data FROM transact_changes
          WHERE table_name = $1 AND (tx, seq) > ($2::xid8, $3::bigint) AND tx < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx, seq LIMIT $4`,
        [this.table, tx, seq, this.target.batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        this.status.setLag(this.table, 0);
        return { read: 0, result: 'done' };
      }
      let last: { tx: string; seq: string } | undefined;
      const items = rows.map((r) => ({
        workflowID: pgChangeWorkflowID(this.name, r.seq),
        args: [this.table, r.op, r.row_data],
        position: `${this.table}#${r.seq}`,
        tx: r.tx as string,
        seq: r.seq as string,
      }));
      const result = await this.intake.take(this.target, items, {
        commit: async (chunk) => {
          const end = chunk[chunk.length - 1]!;
          last = { tx: end.tx, seq: end.seq };
          this.status.took(chunk.length);
        },
        heartbeat: async () => {},
        abandoned: () => this.stopped.aborted,
      });
      if (last) await client.query(`UPDATE transact_change_positions SET tx = $2::xid8, seq = $3 WHERE consumer = $1`, [this.name, last.tx, last.seq]);
      await client.query('COMMIT');
      return { read: rows.length, result };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const stopped = this.stopped;
      stopped.addEventListener('abort', done, { once: true });
      this.wakeUp = done;
      function done() {
        clearTimeout(timer);
        stopped.removeEventListener('abort', done);
        resolve();
      }
    }).finally(() => (this.wakeUp = undefined));
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {});
    this.status.remove();
  }
}
