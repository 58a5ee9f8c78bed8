// A PostgreSQL server of the fault scenario's own (initdb into a scratch folder, its own port), for server-level
// faults: a crash-like stop (`pg_ctl -m immediate`: the postmaster SIGQUITs every backend, nothing is flushed or
// checkpointed, the next start runs crash recovery), restarts, outages of a chosen length, and terminating every
// backend of one database. The shared server on 5432 is never touched: the ledger stays there, so it records through
// every fault of this one.
//
// test/support/private-postgres.ts has the same kind of server with a fast stop only; this one adds what the fault
// suite needs without changing that file. A process exit hook stops a server a failed test left running.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_ctl'))) return join(root, v, 'bin');
  return undefined;
}

export const faultPostgresUnavailable = postgresBin() ? undefined : 'no PostgreSQL server binaries under /usr/lib/postgresql';

const running = new Set<FaultPostgres>();
process.on('exit', () => {
  for (const server of running) {
    try {
      server.stop('immediate');
    } catch {
      // nothing more can be done while exiting
    }
  }
});

export type StopMode = 'fast' | 'immediate';

export class FaultPostgres {
  private up = false;

  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** A URL for database `name` on this server (which Transact creates, or DBOS.migrate does). */
  url(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  /** The maintenance database, for the test's admin connection. */
  get adminUrl(): string {
    return this.url('postgres');
  }

  get isUp(): boolean {
    return this.up;
  }

  /** The server's log so far (for a failure message). */
  log(): string {
    try {
      return execFileSync('tail', ['-n', '40', join(this.dir, 'log')]).toString();
    } catch {
      return '(no log)';
    }
  }

  /** initdb refuses to run as root: the server tools run as the postgres user when we are root. */
  private run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    else execFileSync(command, args, { stdio: 'pipe' });
  }

  static async create(): Promise<FaultPostgres> {
    const bin = postgresBin();
    if (!bin) throw new Error(faultPostgresUnavailable);
    const dir = mkdtempSync(join(tmpdir(), 'transact-faultpg-'));
    chmodSync(dir, 0o777);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = new FaultPostgres(dir, port, bin);
    server.run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    server.start();
    return server;
  }

  /** Starts the server and waits until it accepts connections (after crash recovery, if it was stopped so). */
  start(): void {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      // fsync off is safe here: an immediate stop crashes PostgreSQL, not the machine, so the page cache keeps what
      // was written. synchronous_commit must stay on: off, a crash loses commits the clients were told of.
      '-c fsync=off',
      '-c max_connections=300',
    ].join(' ');
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
    this.up = true;
    running.add(this);
  }

  /** Stops the server: `immediate` is a crash as the clients see it (every connection drops at once). */
  stop(mode: StopMode): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']);
    this.up = false;
    running.delete(this);
  }

  /** `pg_ctl -m immediate stop`, then start; returns when it went down and when it accepted connections again. */
  restartImmediately(): { downAtMs: number; upAtMs: number } {
    this.stop('immediate');
    const downAtMs = Date.now();
    this.start();
    return { downAtMs, upAtMs: Date.now() };
  }

  /**
   * Terminates every backend connected to `database` except the caller's own admin connection (this one runs on a
   * connection of its own to the maintenance database, so it spares nothing else). Returns how many were ended.
   */
  async terminateBackends(database: string): Promise<Terminated> {
    return terminateBackends(this.adminUrl, database);
  }

  destroy(): void {
    if (this.up) {
      try {
        this.stop('immediate');
      } catch {
        // already down
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** How many backends were terminated, and how many of them were LISTEN connections (their last statement a LISTEN). */
export interface Terminated {
  n: number;
  listening: number;
}

/**
 * Terminates every backend of `database` on the server of `adminUrl`, except this admin connection itself (which is
 * on another database, so it spares nothing of the application's). Only the backends of that one database are
 * touched: on the shared server that database is the scenario's own.
 */
export async function terminateBackends(adminUrl: string, database: string): Promise<Terminated> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `WITH ended AS (
         SELECT pg_terminate_backend(pid) AS ok, query ILIKE 'LISTEN %' AS listening FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
       )
       SELECT count(*) FILTER (WHERE ok)::int AS n, count(*) FILTER (WHERE ok AND listening)::int AS listening FROM ended`,
      [database],
    );
    return { n: rows[0].n, listening: rows[0].listening };
  } finally {
    await admin.end().catch(() => {});
  }
}

/** The database name of a postgres:// URL. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}
