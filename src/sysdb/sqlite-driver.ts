import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  countRoundTrip,
  newDriverStats,
  renderStatement,
  type DriverStats,
  type NotificationListener,
  type Queryable,
  type Row,
  type SqlDriver,
  type Statement,
  type TransactionOptions,
} from './driver.js';
import { withRetries, type RetryPolicy } from './retry.js';

export interface SqliteDriverOptions {
  file: string;
  /** FULL (default) makes every acknowledged commit survive power loss; NORMAL survives a process crash only. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How long one attempt waits for another process's write lock. The wait blocks this process's event loop, so it is
   * kept short; an attempt that times out (SQLITE_BUSY) is retried after an asynchronous pause, like a lost
   * connection on PostgreSQL (src/sysdb/retry.ts).
   */
  busyTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * The embedded database. better-sqlite3 is synchronous, so one connection serves the whole process; an async mutex
 * keeps a transaction's statements from interleaving with statements of other async work on the same connection.
 * Other processes (a CLI, a second worker) open the same file; WAL lets them read while this one writes, and
 * `BEGIN IMMEDIATE` plus a busy timeout orders writers.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly stats: DriverStats = newDriverStats();
  readonly maxConnections = 1;
  readonly db: Database.Database;
  private readonly prepared = new WeakMap<Statement, Database.Statement>();
  private readonly mutex: Mutex;
  private listeners: NotificationListener[] = [];
  private closed = false;
  private readonly retry: RetryPolicy;

  constructor(readonly options: SqliteDriverOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.mutex = options.file === ':memory:' ? new Mutex() : mutexForFile(resolve(options.file));
    this.db = new Database(options.file);
    this.retry = { initialDelayMs: 5, maxDelayMs: 500, timeoutMs: 120_000, ...options.retry };
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 1000}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
  }

  private statement(statement: Statement): Database.Statement {
    let prepared = this.prepared.get(statement);
    if (!prepared) {
      prepared = this.db.prepare(renderStatement(statement, 'sqlite', ''));
      this.prepared.set(statement, prepared);
    }
    return prepared;
  }

  /** Runs one statement now, synchronously. Only for callers that hold the mutex or know none is held. */
  runNow<R>(statement: Statement, params: readonly unknown[]): R[] {
    if (this.closed) throw new Error('The system database is closed');
    countRoundTrip(this.stats, statement.name || 'dynamic');
    const prepared = this.statement(statement);
    const bound = bind(params);
    if (prepared.reader) return (bound ? prepared.all(bound) : prepared.all()) as R[];
    if (bound) prepared.run(bound);
    else prepared.run();
    return [];
  }

  async query<R = Row>(statement: Statement, params: readonly unknown[] = []): Promise<R[]> {
    const attempt = async () => {
      if (!this.mutex.held) return this.runNow<R>(statement, params);
      return this.mutex.run(async () => this.runNow<R>(statement, params));
    };
    return statement.retry === false ? attempt() : withRetries(this.retry, attempt);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, _isolation?: unknown, options: TransactionOptions = {}): Promise<T> {
    const attempt = () => this.transactionOnce(fn);
    return options.retry === false ? attempt() : withRetries(this.retry, attempt);
  }

  private transactionOnce<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.exec('BEGIN IMMEDIATE');
      const tx: Queryable = {
        dialect: 'sqlite',
        query: async <R>(statement: Statement, params: readonly unknown[] = []) => this.runNow<R>(statement, params),
      };
      try {
        const result = await fn(tx);
        this.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.exec('ROLLBACK');
        throw err;
      }
    });
  }

  private exec(text: string): void {
    countRoundTrip(this.stats, text.split(' ')[0]!);
    this.db.exec(text);
  }

  async listen(_channels: readonly string[], listener: NotificationListener): Promise<void> {
    this.listeners.push(listener);
  }

  /** In-process only: other processes sharing the file notice changes through their waiters' short poll. */
  async notify(channel: string, payload: string): Promise<void> {
    for (const listener of this.listeners) listener.onNotification(channel, payload);
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true;
      this.listeners = [];
      this.db.close();
    });
  }
}

function bind(params: readonly unknown[]): Record<string, unknown> | undefined {
  if (params.length === 0) return undefined;
  const bound: Record<string, unknown> = {};
  params.forEach((value, i) => {
    bound[i + 1] = toSqlite(value);
  });
  return bound;
}

// SQLite has no boolean or array types: booleans are stored as 0/1 and arrays travel as JSON (read with json_each).
function toSqlite(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Array.isArray(value)) return JSON.stringify(value);
  return value;
}

/**
 * Every connection of this process to one file shares one mutex (the engine and a DBOSClient, say). Waiting for
 * SQLite's write lock is a synchronous busy-wait that blocks the event loop, so a second connection of the same
 * process must never wait on it while a transaction of the first is open across an await: it could not commit.
 */
const fileMutexes = new Map<string, Mutex>();

function mutexForFile(path: string): Mutex {
  let mutex = fileMutexes.get(path);
  if (!mutex) fileMutexes.set(path, (mutex = new Mutex()));
  return mutex;
}

/** A FIFO async mutex; `held` lets single statements skip it when nothing is in progress. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  get held(): boolean {
    return this.depth > 0;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.depth++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    try {
      await previous;
      return await fn();
    } finally {
      this.depth--;
      release();
    }
  }
}
