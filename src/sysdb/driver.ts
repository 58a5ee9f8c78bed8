// The one small interface between the engine's SQL modules and a database: run a statement, run a transaction,
// listen for notifications. Two implementations: PostgreSQL through `pg` and the embedded SQLite database.
// Everything dialect-specific that is not SQL text lives behind this interface.

export type Dialect = 'postgres' | 'sqlite';

export type Row = Record<string, unknown>;

/**
 * A statement is written once, in PostgreSQL's dialect with `$n` parameters, unless the dialects really differ, in
 * which case `sqlite` holds SQLite's text. Two tokens are rendered per database so a statement needs no runtime
 * string building:
 *   - `dbos.` prefixes a table (rendered as the configured schema on PostgreSQL, dropped on SQLite);
 *   - `NOWMS` is the database clock in epoch milliseconds.
 * `name` makes it a prepared statement on PostgreSQL (parsed once per connection).
 */
export interface Statement {
  readonly name: string;
  readonly postgres: string;
  readonly sqlite?: string;
  /**
   * false: a failed attempt is not retried by the driver, because running the statement again after a lost reply
   * would not be safe; the caller reconciles (the queue claim, whose second attempt would claim a second batch).
   */
  readonly retry?: false;
}

export function sql(name: string, postgres: string, sqlite?: string): Statement {
  return { name, postgres, sqlite };
}

export interface Queryable {
  readonly dialect: Dialect;
  query<R = Row>(statement: Statement, params?: readonly unknown[]): Promise<R[]>;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  retry?: false;
}

export interface NotificationListener {
  /** A notification arrived on one of the channels. */
  onNotification(channel: string, payload: string): void;
  /** The listening connection was lost and is back: notifications may have been missed, so waiters re-check. */
  onReconnect(): void;
}

export interface DriverStats {
  /** Statements sent to the database server (each is one network round trip on PostgreSQL). */
  roundTrips: number;
  /** The same, by statement name (BEGIN/COMMIT/ROLLBACK under their own names), for benchmarks and tests. */
  readonly byStatement: Map<string, number>;
}

export function newDriverStats(): DriverStats {
  return { roundTrips: 0, byStatement: new Map() };
}

export function countRoundTrip(stats: DriverStats, name: string): void {
  stats.roundTrips++;
  stats.byStatement.set(name, (stats.byStatement.get(name) ?? 0) + 1);
}

export interface SqlDriver extends Queryable {
  readonly stats: DriverStats;
  /** How many statements can be in flight at once (the pool size; 1 for SQLite). */
  readonly maxConnections: number;
  /**
   * Runs `fn` in one transaction; commits if it resolves, rolls back if it throws. A transaction that failed on a
   * lost connection is run again from the start, unless `options.retry` is false (see Statement.retry).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, isolation?: IsolationLevel, options?: TransactionOptions): Promise<T>;
  /** Starts delivering notifications on `channels` (PostgreSQL LISTEN; in-process signals on SQLite). */
  listen(channels: readonly string[], listener: NotificationListener): Promise<void>;
  /** Sends a notification to listeners of every process (PostgreSQL) or of this process (SQLite). */
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

const NOWMS_PG = '(EXTRACT(EPOCH FROM now())*1000.0)::bigint';
const NOWMS_SQLITE = "CAST(unixepoch('subsec')*1000 AS INTEGER)";

/** Renders a statement's text for one database; drivers cache the result per statement. */
export function renderStatement(statement: Statement, dialect: Dialect, schema: string): string {
  if (dialect === 'postgres') {
    const qualified = `"${schema.replace(/"/g, '""')}".`;
    return statement.postgres.replace(/\bdbos\./g, qualified).replace(/\bNOWMS\b/g, NOWMS_PG);
  }
  return (statement.sqlite ?? statement.postgres).replace(/\bdbos\./g, '').replace(/\bNOWMS\b/g, NOWMS_SQLITE);
}
