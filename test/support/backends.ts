// Every engine test runs on both backends: the embedded SQLite database and real PostgreSQL. Each call to
// `freshDatabase` names a database nobody else uses, so test files run in parallel without sharing state.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';

export type BackendKind = 'sqlite' | 'postgres';

export const postgresBaseUrl = process.env.TRANSACT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresBaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why PostgreSQL cannot be used, or undefined when it can. */
export const postgresUnavailable = await probePostgres();

/** A URL for a database that does not exist yet (DBOS.launch creates it) and is this caller's alone. */
export function freshDatabase(kind: BackendKind, tag = 't'): string {
  const suffix = `${tag}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'transact-test-'));
    createdDirs.push(dir);
    return `sqlite:${join(dir, 'system.sqlite')}`;
  }
  const url = new URL(postgresBaseUrl);
  url.pathname = `/transact_${suffix}`;
  createdDatabases.push(url.toString());
  return url.toString();
}

const createdDirs: string[] = [];

/** A temporary folder of this test file's own (side-effect logs and the like), removed by dropFreshDatabases. */
export function scratchDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `transact-${tag}-`));
  createdDirs.push(dir);
  return dir;
}
const createdDatabases: string[] = [];

/** Drops what `freshDatabase` made in this process. */
export async function dropFreshDatabases(): Promise<void> {
  for (const dir of createdDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  const urls = createdDatabases.splice(0);
  if (urls.length === 0 || postgresUnavailable) return;
  const admin = new pg.Client({ connectionString: postgresBaseUrl });
  await admin.connect();
  try {
    for (const url of urls) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

/**
 * Declares `body` once per backend, as `title [sqlite]` and `title [postgres]`. PostgreSQL runs are skipped when
 * the server is unreachable, except under CI=true, where that is a failure.
 */
export function describeEachBackend(title: string, body: (kind: BackendKind) => void, only?: BackendKind[]): void {
  for (const kind of only ?? (['sqlite', 'postgres'] as const)) {
    if (kind === 'postgres' && postgresUnavailable) {
      if (process.env.CI === 'true') {
        describe(`${title} [postgres]`, () => {
          it('needs PostgreSQL', () => {
            throw new Error(`PostgreSQL is unreachable at ${postgresBaseUrl}: ${postgresUnavailable}`);
          });
        });
      } else {
        // One skipped test per suite, so the run's summary counts the suites PostgreSQL would have run.
        describe(`${title} [postgres]`, () => {
          it('needs PostgreSQL', { skip: `PostgreSQL unreachable at ${postgresBaseUrl}: ${postgresUnavailable}` }, () => {});
        });
      }
      continue;
    }
    describe(`${title} [${kind}]`, () => body(kind));
  }
}

/** Runs SQL against a test database directly (to look at rows the way another tool would). */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
