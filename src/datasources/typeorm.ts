// `transact/datasources/typeorm`: transactions on TypeORM (PostgreSQL), with the API of DBOS's
// @dbos-inc/typeorm-datasource. The completion protocol is src/datasources/core.ts; this file only speaks TypeORM.

import type pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { DualMethodDecorator } from '../decorators.js';
import {
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

export interface TypeORMTransactionConfig extends PGTransactionConfig {
  name?: string;
}

/** Statements through a TypeORM data source or entity manager (rows of a SELECT or of RETURNING). */
export function typeormQuery(runner: { query: EntityManager['query'] }): SqlQuery {
  return async (text, params) => {
    const result: unknown = await runner.query(text, params);
    // UPDATE and DELETE come back as [rows, count].
    if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0];
    return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
  };
}

async function createDataSource(config: pg.PoolConfig, entities: Function[]): Promise<DataSource> { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  const ds = new DataSource({
    type: 'postgres',
    entities,
    url: config.connectionString,
    host: config.host,
    port: config.port,
    username: config.user,
    password: config.password as string | undefined,
    database: config.database,
    poolSize: config.max,
  });
  await ds.initialize();
  return ds;
}

class TypeOrmDriver implements TransactionDriver<EntityManager> {
  ds?: DataSource;

  constructor(
    private readonly source: { config: pg.PoolConfig; entities: Function[] } | DataSource, // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    if (this.source instanceof DataSource) {
      if (!this.source.isInitialized) await this.source.initialize();
      this.ds = this.source;
    } else {
      this.ds = await createDataSource(this.source.config, this.source.entities);
    }
  }

  async close(): Promise<void> {
    const ds = this.ds;
    this.ds = undefined;
    // A DataSource the application handed over stays the application's to destroy.
    if (ds && !(this.source instanceof DataSource)) await ds.destroy();
  }

  get opened(): DataSource {
    if (!this.ds) throw new Error('TypeOrmDataSource is not open');
    return this.ds;
  }

  query: SqlQuery = (text, params) => typeormQuery(this.opened)(text, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.opened.transaction((em) => fn(typeormQuery(em)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: EntityManager) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    const run = async (em: EntityManager) => {
      if (settings.readOnly !== undefined) await em.query(settings.readOnly ? 'SET TRANSACTION READ ONLY' : 'SET TRANSACTION READ WRITE');
      const value = await body(em);
      if (complete) await writeCompletion(typeormQuery(em), this.schemaName, complete(value));
      return value;
    };
    return settings.isolationLevel ? this.opened.transaction(settings.isolationLevel, run) : this.opened.transaction(run);
  }
}

export class TypeOrmDataSource {
  readonly #core: DataSourceCore<EntityManager>;

  /** The entity manager of the transaction running here (any TypeOrmDataSource). */
  static get entityManager(): EntityManager {
    return DataSourceCore.currentClient<EntityManager>('TypeOrmDataSource');
  }

  /** The entity manager of the transaction running here, on this data source. */
  get entityManager(): EntityManager {
    return DataSourceCore.currentClient<EntityManager>('TypeOrmDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(config: pg.PoolConfig, schemaName = 'dbos'): Promise<void> {
    const ds = await createDataSource(config, []);
    try {
      await ds.transaction((em) => migrateDataSourceSchema(typeormQuery(em), schemaName));
    } finally {
      await ds.destroy();
    }
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(config: pg.PoolConfig, schemaName = 'dbos'): Promise<void> {
    const ds = await createDataSource(config, []);
    try {
      await dropDataSourceSchema(typeormQuery(ds), schemaName);
    } finally {
      await ds.destroy();
    }
  }

  private constructor(
    readonly name: string,
    source: { config: pg.PoolConfig; entities: Function[] } | DataSource, // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    schemaName: string,
    options: DataSourceOptions,
  ) {
    this.#core = new DataSourceCore(name, 'TypeOrmDataSource', schemaName, new TypeOrmDriver(source, schemaName), options);
  }

  /** A data source whose TypeORM DataSource is made (and destroyed) by Transact from a `pg` pool configuration. */
  static createFromConfig(
    name: string,
    config: pg.PoolConfig,
    entities: Function[], // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ): TypeOrmDataSource {
    return new TypeOrmDataSource(name, { config, entities }, schemaName, options);
  }

  /** A data source on the application's own TypeORM DataSource (initialized if it is not yet; never destroyed). */
  static createFromDataSource(name: string, ds: DataSource, schemaName = 'dbos', options: DataSourceOptions = {}): TypeOrmDataSource {
    return new TypeOrmDataSource(name, ds, schemaName, options);
  }

  runTransaction<T>(func: () => Promise<T>, config?: TypeORMTransactionConfig): Promise<T> {
    return this.#core.runTransaction(func, config);
  }

  registerTransaction<This, Args extends unknown[], Return>(
    func: (this: This, ...args: Args) => Promise<Return>,
    config?: TypeORMTransactionConfig & FunctionName,
  ): (this: This, ...args: Args) => Promise<Return> {
    return this.#core.registerTransaction(func, config);
  }

  transaction(config?: TypeORMTransactionConfig): DualMethodDecorator {
    return this.#core.transactionDecorator(config);
  }

  /** The core, for Transact's own tests and tools. */
  get dataSourceCore(): DataSourceCore<EntityManager> {
    return this.#core;
  }
}
