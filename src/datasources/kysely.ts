// `transact/datasources/kysely`: transactions on Kysely (PostgreSQL dialect), with the API of DBOS's
// @dbos-inc/kysely-datasource. The completion protocol is src/datasources/core.ts; this file only speaks Kysely.

import { CompiledQuery, Kysely, PostgresDialect, type IsolationLevel, type Transaction } from 'kysely';
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

export interface TransactionConfig {
  name?: string;
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
}

export interface transaction_completion {
  workflow_id: string;
  function_num: number;
  output: string | null;
  error: string | null;
}

/** `$1, $2, …` statements through Kysely (PostgresDialect speaks them as they are). */
export function kyselyQuery(db: Kysely<any>): SqlQuery { // eslint-disable-line @typescript-eslint/no-explicit-any
  return async (text, params = []) => (await db.executeQuery(CompiledQuery.raw(text, params))).rows as Record<string, unknown>[];
}

function fromPool(config: pg.PoolConfig): Kysely<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool(config) }) });
}

class KyselyDriver implements TransactionDriver<Transaction<any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  db?: Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  constructor(
    private readonly source: pg.PoolConfig | Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    this.db = this.source instanceof Kysely ? this.source : fromPool(this.source);
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    // A Kysely instance the application handed over stays the application's to destroy.
    if (db && !(this.source instanceof Kysely)) await db.destroy();
  }

  private get opened(): Kysely<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!this.db) throw new Error('KyselyDataSource is not open');
    return this.db;
  }

  query: SqlQuery = (text, params) => kyselyQuery(this.opened)(text, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.opened.transaction().execute((trx) => fn(kyselyQuery(trx)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: Transaction<any>) => Promise<T>, // eslint-disable-line @typescript-eslint/no-explicit-any
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    let builder = this.opened.transaction();
    if (settings.isolationLevel) builder = builder.setIsolationLevel(settings.isolationLevel.toLowerCase() as IsolationLevel);
    if (settings.readOnly !== undefined) builder = builder.setAccessMode(settings.readOnly ? 'read only' : 'read write');
    return builder.execute(async (trx) => {
      const value = await body(trx);
      if (complete) await writeCompletion(kyselyQuery(trx), this.schemaName, complete(value));
      return value;
    });
  }
}

function settingsOf(config: TransactionConfig = {}): TransactionSettings & { name?: string } {
  return {
    name: config.name,
    isolationLevel: config.isolationLevel ? checkIsolation(config.isolationLevel) : undefined,
    readOnly: config.readOnly,
  };
}

export class KyselyDataSource<DB> {
  readonly #core: DataSourceCore<Transaction<DB>>;

  /** The transaction client of the transaction running here, on this data source. */
  get client(): Kysely<DB> {
    return DataSourceCore.currentClient<Kysely<DB>>('KyselyDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(poolConfig: pg.PoolConfig, schemaName = 'dbos'): Promise<void> {
    const db = fromPool(poolConfig);
    try {
      await db.transaction().execute((trx) => migrateDataSourceSchema(kyselyQuery(trx), schemaName));
    } finally {
      await db.destroy();
    }
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(poolConfig: pg.PoolConfig, schemaName = 'dbos'): Promise<void> {
    const db = fromPool(poolConfig);
    try {
      await db.transaction().execute((trx) => dropDataSourceSchema(kyselyQuery(trx), schemaName));
    } finally {
      await db.destroy();
    }
  }

  constructor(
    readonly name: string,
    poolConfigOrKysely: pg.PoolConfig | Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'KyselyDataSource', schemaName, new KyselyDriver(poolConfigOrKysely, schemaName), options) as never;
  }

  runTransaction<R>(func: () => Promise<R>, config?: TransactionConfig): Promise<R> {
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
  get dataSourceCore(): DataSourceCore<Transaction<DB>> {
    return this.#core;
  }
}
