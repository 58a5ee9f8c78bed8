// One entry per database library: how a test makes its data source and runs SQL through the data source's own
// transaction client (so every statement really goes through the library, in the user's transaction).

import type { PGIsolationLevel } from '../../../src/datasources/core.js';

export type Rows = Record<string, unknown>[];

/** What the tests need of a data source, whatever its library. */
export interface TestDataSource {
  readonly name: string;
  runTransaction<T>(fn: () => Promise<T>, config?: Record<string, unknown>): Promise<T>;
  registerTransaction<Args extends unknown[], R>(fn: (...args: Args) => Promise<R>, config?: Record<string, unknown>): (...args: Args) => Promise<R>;
  dataSourceCore: { flushCleanup(): Promise<void>; sweep(now?: number): Promise<number>; destroy(): Promise<void> };
}

export interface Library {
  /** The subpath (`transact/datasources/<kind>`) and the name used in test titles. */
  kind: string;
  /** The data source, on the application database at `url` (connections are opened at launch or first use). */
  create(name: string, url: string): Promise<TestDataSource>;
  /** Runs SQL ($1, $2, … placeholders) through the transaction client of the transaction running here. */
  sql(ds: TestDataSource, text: string, params?: unknown[]): Promise<Rows>;
  /** The transaction config for these settings, in the library's own spelling. */
  config(settings: { isolationLevel?: PGIsolationLevel; readOnly?: boolean; name?: string }): Record<string, unknown>;
  /** The data source's getter for the transaction client (default `client`). */
  clientProperty?: string;
  /** Closes what `create` opened outside the data source (a library client the test handed to it). */
  close?(ds: TestDataSource): Promise<void>;
}

export const nodepg: Library = {
  kind: 'nodepg',
  async create(name, url) {
    const { NodePostgresDataSource } = await import('../../../src/datasources/nodepg.js');
    return new NodePostgresDataSource(name, { connectionString: url, max: 4 }) as unknown as TestDataSource;
  },
  async sql(ds, text, params) {
    const client = (ds as unknown as { client: import('pg').ClientBase }).client;
    return (await client.query(text, params)).rows;
  },
  config: (s) => ({ ...s }),
};

export const knex: Library = {
  kind: 'knex',
  async create(name, url) {
    const { KnexDataSource } = await import('../../../src/datasources/knex.js');
    return new KnexDataSource(name, { client: 'pg', connection: url, pool: { min: 0, max: 4 } }) as unknown as TestDataSource;
  },
  async sql(ds, text, params) {
    const { knexQuery } = await import('../../../src/datasources/knex.js');
    return knexQuery((ds as unknown as { client: import('knex').Knex.Transaction }).client)(text, params);
  },
  config: (s) => ({ ...s, isolationLevel: s.isolationLevel?.toLowerCase() }),
};

export const postgresjs: Library = {
  kind: 'postgres',
  async create(name, url) {
    const { PostgresDataSource } = await import('../../../src/datasources/postgres.js');
    return new PostgresDataSource(name, { host: new URL(url).hostname, port: Number(new URL(url).port), user: 'postgres', database: new URL(url).pathname.slice(1), max: 4 }) as unknown as TestDataSource;
  },
  async sql(ds, text, params) {
    const { postgresQuery } = await import('../../../src/datasources/postgres.js');
    return postgresQuery((ds as unknown as { client: import('postgres').TransactionSql }).client)(text, params);
  },
  config: (s) => ({ ...s }),
};

export const kysely: Library = {
  kind: 'kysely',
  async create(name, url) {
    const { KyselyDataSource } = await import('../../../src/datasources/kysely.js');
    return new KyselyDataSource(name, { connectionString: url, max: 4 }) as unknown as TestDataSource;
  },
  async sql(ds, text, params) {
    const { kyselyQuery } = await import('../../../src/datasources/kysely.js');
    return kyselyQuery((ds as unknown as { client: import('kysely').Kysely<unknown> }).client)(text, params);
  },
  config: (s) => ({ ...s, isolationLevel: s.isolationLevel?.toLowerCase() }),
};

export const drizzle: Library = {
  kind: 'drizzle',
  async create(name, url) {
    const { DrizzleDataSource } = await import('../../../src/datasources/drizzle.js');
    return new DrizzleDataSource(name, { connectionString: url, max: 4 }) as unknown as TestDataSource;
  },
  async sql(ds, text, params) {
    const { drizzleQuery } = await import('../../../src/datasources/drizzle.js');
    return drizzleQuery((ds as unknown as { client: Parameters<typeof drizzleQuery>[0] }).client)(text, params);
  },
  config: ({ readOnly, ...s }) => ({
    ...s,
    isolationLevel: s.isolationLevel?.toLowerCase(),
    ...(readOnly === undefined ? {} : { accessMode: readOnly ? 'read only' : 'read write' }),
  }),
};

export const typeorm: Library = {
  kind: 'typeorm',
  async create(name, url) {
    const { TypeOrmDataSource } = await import('../../../src/datasources/typeorm.js');
    return TypeOrmDataSource.createFromConfig(name, { connectionString: url, max: 4 }, []) as unknown as TestDataSource;
  },
  clientProperty: 'entityManager',
  async sql(ds, text, params) {
    const { typeormQuery } = await import('../../../src/datasources/typeorm.js');
    return typeormQuery((ds as unknown as { entityManager: import('typeorm').EntityManager }).entityManager)(text, params);
  },
  config: (s) => ({ ...s }),
};

/** The PrismaClient (generated from test/datasources/prisma/schema.prisma) each Prisma data source was made with. */
const prismaClients = new WeakMap<TestDataSource, { $disconnect(): Promise<void> }>();

export const prisma: Library = {
  kind: 'prisma',
  async create(name, url) {
    const { ensurePrismaClient } = await import('./prisma-generate.js');
    ensurePrismaClient();
    const { PrismaClient } = await import('../prisma/generated/client.js');
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const { PrismaDataSource } = await import('../../../src/datasources/prisma.js');
    // Prisma's interactive transactions time out (5 s) and wait for a connection (2 s): roomier on a loaded machine.
    const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 4 }), transactionOptions: { maxWait: 20_000, timeout: 60_000 } });
    const ds = new PrismaDataSource<typeof client>(name, client) as unknown as TestDataSource;
    prismaClients.set(ds, client);
    return ds;
  },
  async sql(ds, text, params) {
    const { prismaQuery } = await import('../../../src/datasources/prisma.js');
    return prismaQuery((ds as unknown as { client: import('../../../src/datasources/prisma.js').PrismaLike }).client)(text, params);
  },
  // Prisma's spelling of the level (ReadCommitted, …).
  config: (s) => ({
    ...s,
    isolationLevel: s.isolationLevel?.toLowerCase().replace(/(^|\s)([a-z])/g, (_, _sp: string, c: string) => c.toUpperCase()),
  }),
  async close(ds) {
    await prismaClients.get(ds)?.$disconnect();
  },
};

export const libraries: Record<string, Library> = { nodepg, knex, postgres: postgresjs, kysely, drizzle, typeorm, prisma };
