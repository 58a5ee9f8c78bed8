// `transact/datasources/nodepg`: transactions on node-postgres (`pg`), with the API of DBOS's
// @dbos-inc/nodepg-datasource. The completion protocol is src/datasources/core.ts; this file only speaks `pg`.
//
// The completion row leaves with COMMIT in one round trip (a simple-protocol query of two statements, its values
// inlined as literals), so a transaction step costs the application database exactly the round trips of the same
// transaction without durability.

import pg from 'pg';
import {
  asCompletionConflict,
  beginStatement,
  completionInsertText,
  DataSourceCore,
  dropDataSourceSchema,
  migrateDataSourceSchema,
  type DataSourceOptions,
  type FunctionName,
  type PGTransactionConfig,
  type SqlQuery,
  type TransactionDriver,
} from './core.js';
import type { DualMethodDecorator } from '../decorators.js';

export { PGIsolationLevel as IsolationLevel, PGIsolationLevel, type PGTransactionConfig } from './core.js';

export interface NodePostgresTransactionOptions extends PGTransactionConfig {
  name?: string;
}

class NodePgDriver implements TransactionDriver<pg.PoolClient> {
  pool?: pg.Pool;

  constructor(
    private readonly config: pg.PoolConfig,
    private readonly schemaName: string,
  ) {}

  async open(): Promise<void> {
    this.pool = new pg.Pool(this.config);
    this.pool.on('error', () => {}); // an idle connection ended by the server; the next query reconnects
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private get opened(): pg.Pool {
    if (!this.pool) throw new Error('NodePostgresDataSource is not open');
    return this.pool;
  }

  query: SqlQuery = async (sql, params) => (await this.opened.query(sql, params)).rows;

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.transaction({}, (client) => fn(async (sql, params) => (await client.query(sql, params)).rows));
  }

  async transaction<T>(
    settings: { isolationLevel?: string; readOnly?: boolean },
    body: (client: pg.PoolClient) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    const client = await this.opened.connect();
    let broken: Error | undefined;
    try {
      await client.query(beginStatement(settings as never));
      let committed = false;
      try {
        const value = await body(client);
        if (complete) {
          const record = complete(value);
          try {
            await client.query(`${completionInsertText(this.schemaName, record)}; COMMIT`);
          } catch (err) {
            throw asCompletionConflict(err, record);
          }
        } else {
          await client.query('COMMIT');
        }
        committed = true;
        return value;
      } finally {
        if (!committed) {
          await client.query('ROLLBACK').catch((err: Error) => {
            broken = err;
          });
        }
      }
    } catch (err) {
      if (isConnectionError(err)) broken ??= err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code === '57P01';
}

export class NodePostgresDataSource {
  readonly #core: DataSourceCore<pg.PoolClient>;

  /** The transaction client of the transaction running here (any NodePostgresDataSource). */
  static get client(): pg.ClientBase {
    return DataSourceCore.currentClient<pg.ClientBase>('NodePostgresDataSource');
  }

  /** The transaction client of the transaction running here, on this data source. */
  get client(): pg.ClientBase {
    return DataSourceCore.currentClient<pg.ClientBase>('NodePostgresDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(config: pg.ClientConfig, schemaName = 'dbos'): Promise<void> {
    await withClient(config, (query) => migrateDataSourceSchema(query, schemaName));
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(config: pg.ClientConfig, schemaName = 'dbos'): Promise<void> {
    await withClient(config, (query) => dropDataSourceSchema(query, schemaName));
  }

  constructor(
    readonly name: string,
    config: pg.PoolConfig,
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'NodePostgresDataSource', schemaName, new NodePgDriver(config, schemaName), options);
  }

  runTransaction<T>(func: () => Promise<T>, config?: NodePostgresTransactionOptions): Promise<T> {
    return this.#core.runTransaction(func, config);
  }

  registerTransaction<This, Args extends unknown[], Return>(
    func: (this: This, ...args: Args) => Promise<Return>,
    config?: NodePostgresTransactionOptions & FunctionName,
  ): (this: This, ...args: Args) => Promise<Return> {
    return this.#core.registerTransaction(func, config);
  }

  transaction(config?: NodePostgresTransactionOptions): DualMethodDecorator {
    return this.#core.transactionDecorator(config);
  }

  /** The core, for Transact's own tests and tools. */
  get dataSourceCore(): DataSourceCore<pg.PoolClient> {
    return this.#core;
  }
}

async function withClient(config: pg.ClientConfig, fn: (query: SqlQuery) => Promise<void>): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query('BEGIN');
    await fn(async (sql, params) => (await client.query(sql, params)).rows);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
