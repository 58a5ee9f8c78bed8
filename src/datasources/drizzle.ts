// `transact/datasources/drizzle`: transactions on Drizzle ORM (node-postgres driver), with the API of DBOS's
// @dbos-inc/drizzle-datasource. The completion protocol is src/datasources/core.ts; this file only speaks Drizzle.

import { sql, type SQL } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgTransactionConfig } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { DualMethodDecorator } from '../decorators.js';
import {
  checkIsolation,
  DataSourceCore,
  dropDataSourceSchema,
  migrateDataSourceSchema,
  writeCompletion,
  type DataSourceOptions,
  type FunctionName,
  type SqlQuery,
  type TransactionDriver,
  type TransactionSettings,
} from './core.js';

export type TransactionConfig = Pick<PgTransactionConfig, 'isolationLevel' | 'accessMode'> & { name?: string };

export interface transaction_completion {
  workflow_id: string;
  function_num: number;
  output: string | null;
  error: string | null;
}

type Entities = { [key: string]: object };

/** A `$1, $2, …` statement as Drizzle SQL: the text as raw chunks, the values as parameters. */
export function drizzleSql(text: string, params: unknown[] = []): SQL {
  const chunks: SQL[] = [];
  let last = 0;
  for (const m of text.matchAll(/\$(\d+)/g)) {
    chunks.push(sql.raw(text.slice(last, m.index)));
    chunks.push(sql`${params[Number(m[1]) - 1]}`);
    last = m.index! + m[0].length;
  }
  chunks.push(sql.raw(text.slice(last)));
  return sql.join(chunks);
}

/** Statements through a Drizzle database or transaction. */
export function drizzleQuery(db: { execute: NodePgDatabase['execute'] }): SqlQuery {
  return async (text, params) => (await db.execute(drizzleSql(text, params))).rows as Record<string, unknown>[];
}

class DrizzleDriver implements TransactionDriver<NodePgDatabase<Entities>> {
  pool?: pg.Pool;
  db?: NodePgDatabase<Entities>;

  constructor(
    private readonly source: pg.PoolConfig | pg.Pool,
    private readonly entities: Entities,
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    this.pool = this.source instanceof pg.Pool ? this.source : new pg.Pool(this.source);
    if (!(this.source instanceof pg.Pool)) this.pool.on('error', () => {});
    this.db = drizzle(this.pool, { schema: this.entities });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.db = undefined;
    // A pool the application handed over stays the application's to end.
    if (pool && !(this.source instanceof pg.Pool)) await pool.end();
  }

  private get opened(): NodePgDatabase<Entities> {
    if (!this.db) throw new Error('DrizzleDataSource is not open');
    return this.db;
  }

  query: SqlQuery = (text, params) => drizzleQuery(this.opened)(text, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.opened.transaction((tx) => fn(drizzleQuery(tx)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: NodePgDatabase<Entities>) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    const config: PgTransactionConfig = {};
    if (settings.isolationLevel) config.isolationLevel = settings.isolationLevel.toLowerCase() as PgTransactionConfig['isolationLevel'];
    if (settings.readOnly !== undefined) config.accessMode = settings.readOnly ? 'read only' : 'read write';
    return this.opened.transaction(async (tx) => {
      const value = await body(tx as unknown as NodePgDatabase<Entities>);
      if (complete) await writeCompletion(drizzleQuery(tx), this.schemaName, complete(value));
      return value;
    }, config);
  }
}

function settingsOf(config: TransactionConfig = {}): TransactionSettings & { name?: string } {
  return {
    name: config.name,
    isolationLevel: config.isolationLevel ? checkIsolation(config.isolationLevel) : undefined,
    readOnly: config.accessMode === undefined ? undefined : config.accessMode === 'read only',
  };
}

export class DrizzleDataSource<CT = NodePgDatabase<Entities>> {
  readonly #core: DataSourceCore<NodePgDatabase<Entities>>;

  /** The transaction client of the transaction running here (any DrizzleDataSource). */
  static get client(): NodePgDatabase<Entities> {
    return DataSourceCore.currentClient<NodePgDatabase<Entities>>('DrizzleDataSource');
  }

  /** The transaction client of the transaction running here, on this data source. */
  get client(): CT {
    return DataSourceCore.currentClient<CT>('DrizzleDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(configOrClient: pg.ClientConfig | pg.Client | pg.PoolClient, schemaName = 'dbos'): Promise<void> {
    const given = configOrClient instanceof pg.Client || 'release' in configOrClient;
    const client = given ? (configOrClient as pg.Client) : new pg.Client(configOrClient as pg.ClientConfig);
    if (!given) await client.connect();
    try {
      await client.query('BEGIN');
      await migrateDataSourceSchema(async (text, params) => (await client.query(text, params)).rows, schemaName);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      if (!given) await client.end();
    }
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(config: pg.ClientConfig, schemaName = 'dbos'): Promise<void> {
    const client = new pg.Client(config);
    await client.connect();
    try {
      await dropDataSourceSchema(async (text, params) => (await client.query(text, params)).rows, schemaName);
    } finally {
      await client.end();
    }
  }

  constructor(
    readonly name: string,
    configOrPool: pg.PoolConfig | pg.Pool,
    entities: Entities = {},
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'DrizzleDataSource', schemaName, new DrizzleDriver(configOrPool, entities, schemaName), options);
  }

  runTransaction<T>(func: () => Promise<T>, config?: TransactionConfig): Promise<T> {
    return this.#core.runTransaction(func, settingsOf(config));
  }

  registerTransaction<This, Args extends unknown[], Return>(
    func: (this: This, ...args: Args) => Promise<Return>,
    config?: TransactionConfig & FunctionName,
  ): (this: This, ...args: Args) => Promise<Return> {
    return this.#core.registerTransaction(func, { className: config?.className, ctorOrProto: config?.ctorOrProto, ...settingsOf(config) });
  }

  transaction(config?: TransactionConfig): DualMethodDecorator {
    return this.#core.transactionDecorator(settingsOf(config));
  }

  /** The core, for Transact's own tests and tools. */
  get dataSourceCore(): DataSourceCore<NodePgDatabase<Entities>> {
    return this.#core;
  }
}
