// `transact/datasources/postgres`: transactions on postgres.js, with the API of DBOS's
// @dbos-inc/postgres-datasource. The completion protocol is src/datasources/core.ts; this file only speaks postgres.js.

import postgres from 'postgres';
import type { DualMethodDecorator } from '../decorators.js';
import {
  checkIsolation,
  DataSourceCore,
  dropDataSourceSchema,
  migrateDataSourceSchema,
  writeCompletion,
  type DataSourceOptions,
  type FunctionName,
  type PGTransactionConfig,
  type SqlQuery,
  type TransactionDriver,
  type TransactionSettings,
} from './core.js';

export { PGIsolationLevel as IsolationLevel } from './core.js';

export interface PostgresTransactionOptions extends PGTransactionConfig {
  name?: string;
}

type Options = postgres.Options<{}>; // eslint-disable-line @typescript-eslint/no-empty-object-type

/** `$1, $2, …` statements through postgres.js (unsafe: the text is the data source's own, values are parameters). */
export function postgresQuery(sql: postgres.Sql | postgres.TransactionSql): SqlQuery {
  return async (text, params = []) => [...(await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]))] as Record<string, unknown>[];
}

class PostgresDriver implements TransactionDriver<postgres.TransactionSql> {
  sql?: postgres.Sql;

  constructor(
    private readonly options: Options,
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    this.sql = postgres({ ...this.options, onnotice: this.options.onnotice ?? (() => {}) });
  }

  async close(): Promise<void> {
    const sql = this.sql;
    this.sql = undefined;
    await sql?.end();
  }

  private get opened(): postgres.Sql {
    if (!this.sql) throw new Error('PostgresDataSource is not open');
    return this.sql;
  }

  query: SqlQuery = (text, params) => postgresQuery(this.opened)(text, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.opened.begin((tx) => fn(postgresQuery(tx)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: postgres.TransactionSql) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    let mode = '';
    if (settings.isolationLevel) mode += `ISOLATION LEVEL ${checkIsolation(settings.isolationLevel)}`;
    if (settings.readOnly !== undefined) mode += settings.readOnly ? ' READ ONLY' : ' READ WRITE';
    const run = async (tx: postgres.TransactionSql) => {
      const value = await body(tx);
      if (complete) await writeCompletion(postgresQuery(tx), this.schemaName, complete(value));
      return value;
    };
    return (mode ? this.opened.begin(mode.trim(), run) : this.opened.begin(run)) as Promise<T>;
  }
}

export class PostgresDataSource {
  readonly #core: DataSourceCore<postgres.TransactionSql>;

  /** The transaction client of the transaction running here (any PostgresDataSource). */
  static get client(): postgres.TransactionSql<{}> { // eslint-disable-line @typescript-eslint/no-empty-object-type
    return DataSourceCore.currentClient<postgres.TransactionSql>('PostgresDataSource');
  }

  /** The transaction client of the transaction running here, on this data source. */
  get client(): postgres.TransactionSql<{}> { // eslint-disable-line @typescript-eslint/no-empty-object-type
    return DataSourceCore.currentClient<postgres.TransactionSql>('PostgresDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(options: Options = {}, schemaName = 'dbos'): Promise<void> {
    const sql = postgres({ ...options, max: 1, onnotice: () => {} });
    try {
      await sql.begin((tx) => migrateDataSourceSchema(postgresQuery(tx), schemaName));
    } finally {
      await sql.end();
    }
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(options: Options = {}, schemaName = 'dbos'): Promise<void> {
    const sql = postgres({ ...options, max: 1, onnotice: () => {} });
    try {
      await sql.begin((tx) => dropDataSourceSchema(postgresQuery(tx), schemaName));
    } finally {
      await sql.end();
    }
  }

  constructor(
    readonly name: string,
    options: Options = {},
    schemaName = 'dbos',
    dataSourceOptions: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'PostgresDataSource', schemaName, new PostgresDriver(options, schemaName), dataSourceOptions);
  }

  runTransaction<T>(func: () => Promise<T>, config?: PostgresTransactionOptions): Promise<T> {
    return this.#core.runTransaction(func, config);
  }

  registerTransaction<This, Args extends unknown[], Return>(
    func: (this: This, ...args: Args) => Promise<Return>,
    config?: PostgresTransactionOptions & FunctionName,
  ): (this: This, ...args: Args) => Promise<Return> {
    return this.#core.registerTransaction(func, config);
  }

  transaction(config?: PostgresTransactionOptions): DualMethodDecorator {
    return this.#core.transactionDecorator(config);
  }

  /** The core, for Transact's own tests and tools. */
  get dataSourceCore(): DataSourceCore<postgres.TransactionSql> {
    return this.#core;
  }
}
