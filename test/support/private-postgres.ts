// A PostgreSQL server of the test's own, on its own port, so a test can stop and restart it without disturbing
// the shared server that other test files use at the same time.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_ctl'))) return join(root, v, 'bin');
  return undefined;
}

export const privatePostgresUnavailable = postgresBin() ? undefined : 'no PostgreSQL server binaries under /usr/lib/postgresql';

export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/transact_private`;
  }

  /** initdb refuses to run as root: run the server tools as the postgres user when we are root. */
  private run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    else execFileSync(command, args, { stdio: 'pipe' });
  }

  /** Extra server settings (`-c name=value` each), for every start. */
  private extraOptions = '';

  static async create(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
    const bin = postgresBin();
    if (!bin) throw new Error(privatePostgresUnavailable);
    const dir = mkdtempSync(join(tmpdir(), 'transact-pg-'));
    chmodSync(dir, 0o777);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = new PrivatePostgres(dir, port, bin);
    server.extraOptions = Object.entries(settings)
      .map(([k, v]) => ` -c ${k}=${v}`)
      .join('');
    server.run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    server.start();
    return server;
  }

  start(): void {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off${this.extraOptions}`;
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-w', 'start']);
  }

  stop(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
