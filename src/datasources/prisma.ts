// `transact/datasources/prisma`: transactions on Prisma (PostgreSQL), with the API of DBOS's
// @dbos-inc/prisma-datasource. The completion protocol is src/datasources/core.ts; this file only speaks Prisma.
//
// The application hands over its own PrismaClient (any generator, any driver adapter or engine; Prisma 7's Rust-free
// client with @prisma/adapter-pg needs no engine binary), or a function that returns it. The client stays the
// application's: Transact never connects or disconnects it. A transaction is one of Prisma's interactive
// transactions (`$transaction(fn, {isolationLevel})`); its timeouts are the client's (`transactionOptions`).
// Nothing of @prisma/client is loaded at run time: the client is used through the methods every PrismaClient has.

import type { DualMethodDecorator } from '../decorators.js';
import {
  checkIsolation,
  DataSourceCore,
  dropDataSourceSchema,
  migrateDataSourceSchema,
  writeCompletion,
  type DataSourceOptions,
  type FunctionName,
  type PGIsolationLevel,
  type SqlQuery,
  type TransactionDriver,
  type TransactionSettings,
} from './core.js';

/** Prisma's spelling of the isolation levels (Prisma.TransactionIsolationLevel for PostgreSQL). */
export type TransactionIsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/** DBOS's TransactionConfig of the Prisma data source (PostgreSQL's spelling of the level is taken too). */
export type TransactionConfig = {
  isolationLevel?: TransactionIsolationLevel | PGIsolationLevel;
  readOnly?: boolean;
  name?: string;
};

/** What the data source needs of a PrismaClient, or of the client of one of its interactive transactions. */
export interface PrismaLike {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

interface PrismaTransactional extends PrismaLike {
  $transaction<R>(fn: (tx: PrismaLike) => Promise<R>, options?: { isolationLevel?: TransactionIsolationLevel }): Promise<R>;
}

const PRISMA_LEVELS: Record<PGIsolationLevel, TransactionIsolationLevel> = {
  'READ UNCOMMITTED': 'ReadUncommitted',
  'READ COMMITTED': 'ReadCommitted',
  'REPEATABLE READ': 'RepeatableRead',
  SERIALIZABLE: 'Serializable',
};

function pgLevel(level: string): PGIsolationLevel {
  const found = Object.entries(PRISMA_LEVELS).find(([, prisma]) => prisma === level);
  return found ? (found[0] as PGIsolationLevel) : checkIsolation(level);
}

/**
 * The SQLSTATE behind an error of Prisma, which codes its errors its own way (P2010, P2034, …): a driver adapter's
 * error carries PostgreSQL's code as `originalCode`, the Rust engine's raw-query error as `meta.code`, and a write
 * conflict or deadlock reported by Prisma alone is P2034 (a serialization failure for the retry).
 */
export function prismaSqlState(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): string | undefined => {
    if (!e || typeof e !== 'object' || depth > 6 || seen.has(e)) return undefined;
    seen.add(e);
    const o = e as { originalCode?: unknown; code?: unknown; meta?: unknown; cause?: unknown; driverAdapterError?: unknown };
    if (typeof o.originalCode === 'string' && /^[0-9A-Z]{5}$/.test(o.originalCode)) return o.originalCode;
    const found = visit(o.cause, depth + 1) ?? visit(o.driverAdapterError, depth + 1) ?? visit(o.meta, depth + 1);
    if (found) return found;
    // A bare SQLSTATE (a plain pg error, or the Rust engine's meta.code); Prisma's own P-codes are not SQLSTATEs.
    if (typeof o.code === 'string' && /^[0-9A-Z]{5}$/.test(o.code) && !/^P\d{4}$/.test(o.code)) return o.code;
    if (o.code === 'P2034') return '40001';
    return undefined;
  };
  return visit(error, 0);
}

/** An error of Prisma as the core reads it: the SQLSTATE as `code`, Prisma's error as the cause. */
class PrismaDatabaseError extends Error {
  constructor(
    readonly code: string,
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = 'PrismaDatabaseError';
  }
}

/** Statements through a PrismaClient or a transaction client; a database error carries its SQLSTATE as `code`. */
export function prismaQuery(client: PrismaLike): SqlQuery {
  return async (text, params = []) => {
    try {
      const rows = await client.$queryRawUnsafe<unknown>(text, ...params);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    } catch (err) {
      const state = prismaSqlState(err);
      throw state ? new PrismaDatabaseError(state, err) : err;
    }
  };
}

type PrismaAccess = PrismaLike | (() => PrismaLike);

class PrismaDriver implements TransactionDriver<PrismaLike> {
  constructor(
    private readonly name: string,
    private readonly access: PrismaAccess,
    private readonly schemaName: string,
  ) {}

  /** The application's client (a function is asked each time: the client may be made after the data source). */
  private get prisma(): PrismaTransactional {
    const client = typeof this.access === 'function' ? this.access() : this.access;
    if (!client) throw new Error(`PrismaDataSource ${this.name}: the Prisma client is not available`);
    return client as PrismaTransactional;
  }

  async open(): Promise<void> {
    void this.prisma;
  }

  // The client is the application's to disconnect.
  async close(): Promise<void> {}

  query: SqlQuery = (text, params) => prismaQuery(this.prisma)(text, params);

  async inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void> {
    await this.prisma.$transaction((tx) => fn(prismaQuery(tx)));
  }

  async transaction<T>(
    settings: TransactionSettings,
    body: (client: PrismaLike) => Promise<T>,
    complete?: (value: T) => { workflowID: string; functionID: number; output: string },
  ): Promise<T> {
    const options = settings.isolationLevel ? { isolationLevel: PRISMA_LEVELS[settings.isolationLevel] } : undefined;
    try {
      return await this.prisma.$transaction(async (tx) => {
        // Prisma has no access mode of its own: the first statement of the transaction sets it.
        if (settings.readOnly !== undefined) await tx.$executeRawUnsafe(settings.readOnly ? 'SET TRANSACTION READ ONLY' : 'SET TRANSACTION READ WRITE');
        const value = await body(tx);
        if (complete) await writeCompletion(prismaQuery(tx), this.schemaName, complete(value));
        return value;
      }, options);
    } catch (err) {
      // Serialization failures and deadlocks (in the function or at COMMIT) are retried by the core, which must see
      // their SQLSTATE; anything else is the function's error, as Prisma gave it.
      const state = err instanceof PrismaDatabaseError ? undefined : prismaSqlState(err);
      if (state === '40001' || state === '40P01') throw new PrismaDatabaseError(state, err);
      throw err;
    }
  }
}

function settingsOf(config: TransactionConfig = {}): TransactionSettings & { name?: string } {
  return {
    name: config.name,
    isolationLevel: config.isolationLevel ? pgLevel(config.isolationLevel) : undefined,
    readOnly: config.readOnly,
  };
}

export class PrismaDataSource<PrismaClient = PrismaLike> {
  readonly #core: DataSourceCore<PrismaLike>;

  /** The transaction client of the transaction running here (any PrismaDataSource). */
  static get client(): PrismaLike {
    return DataSourceCore.currentClient<PrismaLike>('PrismaDataSource');
  }

  /** The transaction client of the transaction running here, on this data source (Prisma's `tx`). */
  get client(): PrismaClient {
    return DataSourceCore.currentClient<PrismaClient>('PrismaDataSource', this.#core as DataSourceCore<unknown>);
  }

  /** Creates (or brings up to date) the `transaction_completion` table and its version record. */
  static async initializeDBOSSchema(prisma: PrismaLike, schemaName = 'dbos'): Promise<void> {
    await (prisma as PrismaTransactional).$transaction((tx) => migrateDataSourceSchema(prismaQuery(tx), schemaName));
  }

  /** Drops the `transaction_completion` table and its version record. */
  static async uninitializeDBOSSchema(prisma: PrismaLike, schemaName = 'dbos'): Promise<void> {
    await dropDataSourceSchema(prismaQuery(prisma), schemaName);
  }

  constructor(
    readonly name: string,
    prismaAccess: PrismaLike | (() => PrismaLike),
    schemaName = 'dbos',
    options: DataSourceOptions = {},
  ) {
    this.#core = new DataSourceCore(name, 'PrismaDataSource', schemaName, new PrismaDriver(name, prismaAccess, schemaName), options);
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
  get dataSourceCore(): DataSourceCore<PrismaLike> {
    return this.#core;
  }
}
