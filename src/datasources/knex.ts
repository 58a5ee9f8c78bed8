// `transact/datasources/knex`: transactions on Knex (PostgreSQL), with the API of DBOS's @dbos-inc/knex-datasource.
// The completion protocol is src/datasources/core.ts; this file only speaks Knex.

import knexFactory, { type Knex } from 'knex';
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

export type TransactionConfig = Pick<Knex.TransactionConfig, 'isolationLevel' | 'readOnly'> & { name?: string };

/** `$1, $2, …` placeholders as Knex's positional `?` bindings. */
export function knexQuery(runner: Knex | Knex.Transaction): SqlQuery {
  return async (sql, params = []) => {
    const bindings: unknown[] = [];
    const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
      bindings.push(params[Number(n) - 1]);
      return '?';
    });
    const result = (await runner.raw(text, bindings as Knex.RawBinding[])) as { rows?: Record<string, unknown>[] };
    return result.rows ?? [];
  };
}

class KnexDriver implements TransactionDriver<Knex.Transaction> {
  knex?: Knex;

  constructor(
    private readonly config: Knex.Config,
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    this.knex = knexFactory(this.config);
  }

  async close(): Promise<void> {
    const knex = this.knex;
    this.knex = undefined;
    await knex?.destroy();
  }

  private get opened(): Knex {
    if (!this.knex) throw new Error('KnexDataSource is not open');
    return this.knex;
  }

  query: SqlQuery = (sql, params) => knexQuery(this.opened)(sql, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.opened.transaction((trx) => fn(knexQuery(trx)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: Knex.Transaction) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    const config: Knex.TransactionConfig = {};
    if (settings.isolationLevel) config.isolationLevel = settings.isolationLevel.toLowerCase() as Knex.IsolationLevels;
    if (settings.readOnly !== undefined) config.readOnly = settings.readOnly;
    return this.opened.transaction(async (trx) => {
      const value = await body(trx);
      if (complete) await writeCompletion(knexQuery(trx), this.schemaName, complete(value));
      return value;
    }, config);
  }
}

function settingsOf(config: TransactionConfig = {}): TransactionSettings & { name?: string } {
  return {
    name: config.name,
    isolationLevel: config.isolationLevel ? checkIsolation(config.isolationLevel) : undefined,
    readOnly: config.readOnly,
  };
}

function isKnex(value: Knex | Knex.Config): value is Knex {
  return typeof value === 'function' && 'raw' in value;
}

async function withKnex(knexOrConfig: Knex | Knex.Config, fn: (query: SqlQuery) => Promise<void>): Promise<void> {
  const knex = isKnex(knexOrConfig) ? knexOrConfig : knexFactory(knexOrConfig);
  try {
    await knex.transaction((trx) => fn(knexQuery(trx)));
  } finally {
    if (!isKnex(knexOrConfig)) await knex.destroy();
  }
}

export class KnexDataSource {
  readonly #core: DataSourceCore<Knex.Transaction>;

  /** The transaction client of the transaction running here (any KnexDataSource). */
  static get client(): Knex.Transaction {
    return DataSourceCore.currentClient<Knex.Transaction>('KnexDataSource');
  }

  /** The transaction client of the transaction running here, on this data source. */
  get client(): Knex.Transaction {
    return DataSourceCore.currentClient<Knex.Transaction>('KnexDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(knexOrConfig: Knex.Config, schemaName = 'dbos'): Promise<void> {
    await withKnex(knexOrConfig, (query) => migrateDataSourceSchema(query, schemaName));
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(knexOrConfig: Knex.Config, schemaName = 'dbos'): Promise<void> {
    await withKnex(knexOrConfig, (query) => dropDataSourceSchema(query, schemaName));
  }

  constructor(
    readonly name: string,
    config: Knex.Config,
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'KnexDataSource', schemaName, new KnexDriver(config, schemaName), options);
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
  get dataSourceCore(): DataSourceCore<Knex.Transaction> {
    return this.#core;
  }
}
