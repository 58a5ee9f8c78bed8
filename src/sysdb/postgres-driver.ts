import pg from 'pg';
import { dbReconnects } from '../metrics/instruments.js';
import {
  countRoundTrip,
  newDriverStats,
  renderStatement,
  type DriverStats,
  type IsolationLevel,
  type NotificationListener,
  type Queryable,
  type Row,
  type SqlDriver,
  type Statement,
  type TransactionOptions,
} from './driver.js';
import { isTransientDatabaseError, withRetries, type RetryPolicy } from './retry.js';

export interface PostgresDriverOptions {
  url: string;
  schema: string;
  poolSize: number;
  /** Shown in pg_stat_activity, so an operator can tell which executor holds a connection. */
  applicationName?: string;
  retry?: Partial<RetryPolicy>;
  /** Create the database when it does not exist (DBOS does the same). */
  createDatabase?: boolean;
  /** The server ends a session idle inside a transaction this long (ms), releasing its locks; 0 leaves its setting. */
  idleInTransactionTimeoutMs?: number;
  /** A connection attempt that has not succeeded after this long fails (and is retried as an outage); default: none. */
  connectionTimeoutMs?: number;
}

// BIGINT columns hold epoch milliseconds and counters, all well inside Number's exact range; `pg` would hand them
// back as strings.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly stats: DriverStats = newDriverStats();
  private readonly pool: pg.Pool;
  private readonly rendered = new WeakMap<Statement, string>();
  private readonly retry: RetryPolicy;
  private listener?: ListenConnection;

  private constructor(private readonly options: PostgresDriverOptions) {
    this.retry = { initialDelayMs: 50, maxDelayMs: 2000, timeoutMs: 120_000, ...options.retry };
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      application_name: options.applicationName,
      idle_in_transaction_session_timeout: (options.idleInTransactionTimeoutMs ?? 0) > 0 ? options.idleInTransactionTimeoutMs : undefined,
      // Every statement here is a short OLTP one; JIT compilation, triggered by the planner's cost guesses (which are
      // large for the queue claim's CTEs on a big backlog), cost 1.8 s against 5 ms without it (measured).
      options: '-c jit=off',
      connectionTimeoutMillis: options.connectionTimeoutMs,
      types,
    });
    // An idle client whose connection dies emits 'error' on the pool; without a handler that would crash the
    // process. The next query gets a fresh connection (and is retried if it fails).
    this.pool.on('error', () => {});
  }

  static async open(options: PostgresDriverOptions): Promise<PostgresDriver> {
    if (options.createDatabase !== false) await createDatabaseIfMissing(options.url);
    return new PostgresDriver(options);
  }

  get maxConnections(): number {
    return this.options.poolSize;
  }

  get schema(): string {
    return this.options.schema;
  }

  /** The pool, for the migrations (which need a client of their own for DDL). */
  get rawPool(): pg.Pool {
    return this.pool;
  }

  private render(statement: Statement): string {
    let text = this.rendered.get(statement);
    if (text === undefined) {
      text = renderStatement(statement, 'postgres', this.options.schema);
      this.rendered.set(statement, text);
    }
    return text;
  }

  private config(statement: Statement, params: readonly unknown[]): pg.QueryConfig {
    // A prepared statement's name must map to one text per connection; the schema is part of the text.
    const name = statement.name ? `${statement.name}@${this.options.schema}` : undefined;
    return { name, text: this.render(statement), values: params as unknown[] };
  }

  async query<R = Row>(statement: Statement, params: readonly unknown[] = []): Promise<R[]> {
    const attempt = async () => {
      countRoundTrip(this.stats, statement.name || 'dynamic');
      const result = await this.pool.query(this.config(statement, params));
      return result.rows as R[];
    };
    return statement.retry === false ? attempt() : withRetries(this.retry, attempt);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, isolation?: IsolationLevel, options: TransactionOptions = {}): Promise<T> {
    const attempt = async (): Promise<T> => {
      const client = await this.pool.connect();
      let broken = false;
      // A held client is not watched by the pool: when its backend dies between statements, the client emits 'error',
      // and an unhandled 'error' event ends the process. The statement in progress fails on its own and is retried.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        countRoundTrip(this.stats, 'BEGIN');
        await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}` : 'BEGIN');
        const tx: Queryable = {
          dialect: 'postgres',
          query: async <R>(statement: Statement, params: readonly unknown[] = []) => {
            countRoundTrip(this.stats, statement.name || 'dynamic');
            return (await client.query(this.config(statement, params))).rows as R[];
          },
        };
        const result = await fn(tx);
        countRoundTrip(this.stats, 'COMMIT');
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken ||= isTransientDatabaseError(err);
        if (!broken) {
          countRoundTrip(this.stats, 'ROLLBACK');
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    };
    return options.retry === false ? attempt() : withRetries(this.retry, attempt);
  }

  /**
   * The same statements, run on a connection the caller holds inside its own transaction (the client's
   * `…InTransaction` methods): what they write commits or rolls back with the caller's work.
   */
  inCallerTransaction(client: pg.ClientBase): SqlDriver {
    const driver = this;
    const bound: SqlDriver = {
      dialect: 'postgres',
      stats: this.stats,
      maxConnections: 1,
      async query<R>(statement: Statement, params: readonly unknown[] = []): Promise<R[]> {
        countRoundTrip(driver.stats, statement.name || 'dynamic');
        return (await client.query(driver.config(statement, params))).rows as R[];
      },
      // Already inside the caller's transaction: a savepoint keeps a failed part from aborting the caller's work.
      async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
        await client.query('SAVEPOINT transact_inner');
        try {
          const result = await fn(bound);
          await client.query('RELEASE SAVEPOINT transact_inner');
          return result;
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT transact_inner');
          throw err;
        }
      },
      async listen(): Promise<void> {
        throw new Error('A connection bound to a caller transaction cannot LISTEN');
      },
      async notify(channel: string, payload: string): Promise<void> {
        await bound.query(NOTIFY, [channel, payload]);
      },
      async close(): Promise<void> {},
    };
    return bound;
  }

  async listen(channels: readonly string[], listener: NotificationListener): Promise<void> {
    this.listener = new ListenConnection(this.options.url, channels, listener);
    await this.listener.start();
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.query(NOTIFY, [channel, payload]);
  }

  async close(): Promise<void> {
    await this.listener?.stop();
    await this.pool.end();
  }
}

const NOTIFY = { name: 'transact_notify', postgres: 'SELECT pg_notify($1, $2)' };

/** A dedicated connection for LISTEN that reconnects after a loss and tells the listener to re-check. */
class ListenConnection {
  private client?: pg.Client;
  private stopped = false;
  private reconnecting = false;

  constructor(
    private readonly url: string,
    private readonly channels: readonly string[],
    private readonly listener: NotificationListener,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => this.listener.onNotification(msg.channel, msg.payload ?? ''));
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    await client.connect();
    for (const channel of this.channels) await client.query(`LISTEN "${channel}"`);
    this.client = client;
  }

  private reconnect(lost: pg.Client): void {
    if (this.stopped || this.reconnecting || lost !== this.client) return;
    this.reconnecting = true;
    this.client = undefined;
    lost.end().catch(() => {});
    void (async () => {
      let delay = 100;
      while (!this.stopped) {
        try {
          await this.start();
          this.reconnecting = false;
          dbReconnects.inc();
          this.listener.onReconnect();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, delay).unref());
          delay = Math.min(delay * 2, 2000);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

async function createDatabaseIfMissing(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  probe.on('error', () => {}); // a backend lost meanwhile: the pending call reports it
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') return; // not "database does not exist": let queries report it
  } finally {
    await probe.end().catch(() => {});
  }
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.replace(/^\//, ''));
  target.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: target.toString() });
  admin.on('error', () => {});
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    // Created meanwhile by another process: 42P04, or 23505 when both inserts into pg_database raced.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await admin.end().catch(() => {});
  }
}
