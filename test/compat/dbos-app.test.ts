// A DBOS 5.3.0 application (compat/dbos-app/app.ts: legacy decorators, a queue, messages and events, management
// calls, DBOSClient, errors through the `Error` namespace) runs on DBOS, then, with only its import line changed, on
// Transact (PostgreSQL and SQLite system databases), and prints the same lines. The DBOS package is the test-only
// install in compat/dbos-client.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';

const require = createRequire(import.meta.url);
const tsx = require.resolve('tsx');
const dir = new URL('../../compat/dbos-app/', import.meta.url);
const original = fileURLToPath(new URL('app.ts', dir));
const dbosInstalled = existsSync(new URL('../dbos-client/node_modules/@dbos-inc/dbos-sdk/package.json', dir))
  ? undefined
  : 'compat/dbos-client is not installed (npm ci --prefix compat/dbos-client)';

/** Runs one copy of the app; returns its `<key> <json>` lines (other output, such as DBOS's banner, is left out). */
function run(file: string, tsconfig: string, systemDatabaseUrl: string): Promise<Map<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', tsx, file],
      { cwd: fileURLToPath(dir), env: { ...process.env, APP_SYSTEM_DB: systemDatabaseUrl, TSX_TSCONFIG_PATH: fileURLToPath(new URL(tsconfig, dir)) }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${file} failed: ${err.message}\n${stdout}\n${stderr.slice(-3000)}`));
        const lines = new Map<string, unknown>();
        for (const line of stdout.split('\n')) {
          const m = /^([a-z-]+) (.*)$/.exec(line);
          if (!m) continue;
          try {
            lines.set(m[1]!, JSON.parse(m[2]!));
          } catch {
            // not one of the app's lines
          }
        }
        if (lines.get('done') !== true) return reject(new Error(`${file} did not finish:\n${stdout}\n${stderr.slice(-3000)}`));
        resolve(lines);
      },
    );
  });
}

describe('a DBOS 5.3.0 application moved to Transact by its import line', { skip: postgresUnavailable ?? (process.env.CI === 'true' ? undefined : dbosInstalled) }, () => {
  const copy = fileURLToPath(new URL(`.transact-app-${process.pid}.ts`, dir));
  const modules = fileURLToPath(new URL('node_modules', dir));
  after(async () => {
    rmSync(copy, { force: true });
    await dropFreshDatabases();
  });

  it('prints on Transact, on PostgreSQL and on SQLite, what it prints on DBOS', { timeout: 240_000 }, async () => {
    // The DBOS package (and what it needs) from compat/dbos-client's install.
    if (!existsSync(modules)) symlinkSync('../dbos-client/node_modules', modules, 'dir');
    const source = readFileSync(original, 'utf8');
    const moved = source.replace(`from '@dbos-inc/dbos-sdk';`, `from 'transact';`);
    const changed = source.split('\n').filter((l, i) => l !== moved.split('\n')[i]);
    assert.deepEqual(changed, [`import { DBOS, DBOSClient, Error as DBOSErrors } from '@dbos-inc/dbos-sdk';`], 'only the import line differs');
    writeFileSync(copy, moved);

    const onDbos = await run(original, 'tsconfig.json', freshDatabase('postgres', 'dbosapp'));
    assert.deepEqual(onDbos.get('result'), ['order-1', 'reserved:apple', 'reserved:pear', 'visa'], 'the app ran on DBOS');
    for (const kind of ['postgres', 'sqlite'] as const) {
      const onTransact = await run(copy, 'tsconfig.transact.json', freshDatabase(kind, 'trapp'));
      assert.deepEqual([...onTransact.keys()], [...onDbos.keys()], `${kind}: the same lines`);
      for (const [key, value] of onDbos) assert.deepEqual(onTransact.get(key), value, `${kind}: ${key}`);
    }
  });
});
