// A DBOS application using @dbos-inc/knex-datasource (compat/dbos-datasources/knex-app.ts, with the DBOS release
// that data source was published with, 4.5.13) runs on Transact after changing only its two imports, and DBOS's data
// source and Transact's write through one application database without colliding:
//   1. the app on DBOS: DBOS creates dbos.transaction_completion (its 4.x way: no version record)
//   2. the same file with `@dbos-inc/dbos-sdk` -> `transact` and `@dbos-inc/knex-datasource` ->
//      `transact/datasources/knex`, on Transact (each system-database backend): Transact adopts the table and adds
//      its version record; the workflow returns what DBOS's did, its steps are the same
//   3. the app on DBOS again, on the table Transact migrated
// (four per run: the read-only transaction writes none.) DBOS's completion rows are DBOS's: Transact's clean-up and retention sweep leave them alone.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { createAppDatabase, dropAppDatabase } from './support/suite.js';

const require = createRequire(import.meta.url);
const tsx = require.resolve('tsx');
const dir = new URL('../../compat/dbos-datasources/', import.meta.url);
const original = fileURLToPath(new URL('knex-app.ts', dir));
const installed = (() => {
  try {
    readFileSync(new URL('node_modules/@dbos-inc/knex-datasource/package.json', dir));
    return undefined;
  } catch {
    return 'compat/dbos-datasources is not installed (npm ci there)';
  }
})();

function run(file: string, tsconfig: string, env: Record<string, string>): Promise<{ result: unknown; steps: unknown; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', tsx, file],
      {
        cwd: fileURLToPath(dir),
        env: { ...process.env, ...env, TSX_TSCONFIG_PATH: fileURLToPath(new URL(tsconfig, dir)) },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${file} failed: ${err.message}\n${stdout}\n${stderr}`));
        const line = (prefix: string) => stdout.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length);
        const result = line('result ');
        if (!result) return reject(new Error(`no result from ${file}:\n${stdout}\n${stderr}`));
        resolve({ result: JSON.parse(result), steps: JSON.parse(line('steps ') ?? 'null'), stderr });
      },
    );
  });
}

describe('a DBOS app on @dbos-inc/knex-datasource, moved to Transact by its imports', { skip: postgresUnavailable ?? (process.env.CI === 'true' ? undefined : installed) }, () => {
  let appUrl = '';
  const copy = fileURLToPath(new URL(`.transact-knex-app-${process.pid}.ts`, dir));
  before(async () => {
    appUrl = await createAppDatabase('dbosapp');
    const c = new pg.Client({ connectionString: appUrl });
    await c.connect();
    await c.query('CREATE TABLE bank_ledger (id serial PRIMARY KEY, account text NOT NULL, amount int NOT NULL, workflow_id text)');
    await c.end();
  });
  after(async () => {
    rmSync(copy, { force: true });
    if (appUrl) await dropAppDatabase(appUrl);
    await dropFreshDatabases();
  });

  it('runs on DBOS, then on Transact with only its imports changed, then on DBOS again: same results, one table', async () => {
    const source = readFileSync(original, 'utf8');
    const moved = source
      .replace(`from '@dbos-inc/dbos-sdk';`, `from 'transact';`)
      .replace(`from '@dbos-inc/knex-datasource';`, `from 'transact/datasources/knex';`);
    const changed = source.split('\n').filter((l, i) => l !== moved.split('\n')[i]);
    assert.deepEqual(changed, [`import { DBOS } from '@dbos-inc/dbos-sdk';`, `import { KnexDataSource } from '@dbos-inc/knex-datasource';`]);
    writeFileSync(copy, moved);

    const expected = {
      afterSalary: 100,
      afterBonus: 150,
      withdrawn: 30,
      balance: { total: 120, isolation: 'repeatable read' },
      probe: 42,
      inTransactionNow: false,
    };
    const expectedSteps = [
      [0, 'deposit'],
      [1, 'deposit'],
      [2, 'withdraw'],
      [3, 'balance'],
      [4, 'probe'],
    ];
    const tag = randomBytes(3).toString('hex');
    const onDbos = await run(original, 'tsconfig.json', {
      SYSTEM_DATABASE_URL: freshDatabase('postgres', 'dbosapp'),
      APP_DATABASE_URL: appUrl,
      WORKFLOW_ID: `dbos-1-${tag}`,
      ACCOUNT: 'alice',
    });
    assert.deepEqual(onDbos.result, expected);
    assert.deepEqual(onDbos.steps, expectedSteps);

    for (const backend of ['sqlite', 'postgres'] as const) {
      const onTransact = await run(copy, 'tsconfig.transact.json', {
        SYSTEM_DATABASE_URL: freshDatabase(backend, 'dbosapp'),
        APP_DATABASE_URL: appUrl,
        WORKFLOW_ID: `transact-${backend}-${tag}`,
        ACCOUNT: `bob-${backend}`,
      });
      assert.deepEqual(onTransact.result, expected, `on Transact [${backend}]`);
      assert.deepEqual(onTransact.steps, expectedSteps, `steps on Transact [${backend}]`);
    }

    const again = await run(original, 'tsconfig.json', {
      SYSTEM_DATABASE_URL: freshDatabase('postgres', 'dbosapp'),
      APP_DATABASE_URL: appUrl,
      WORKFLOW_ID: `dbos-2-${tag}`,
      ACCOUNT: 'carol',
    });
    assert.deepEqual(again.result, expected);

    const c = new pg.Client({ connectionString: appUrl });
    await c.connect();
    try {
      // One ledger, every run's rows in it, each exactly once.
      const ledger = await c.query('SELECT workflow_id, count(*)::int AS n, sum(amount)::int AS total FROM bank_ledger GROUP BY 1 ORDER BY 1');
      assert.deepEqual(
        ledger.rows.map((r) => [r.workflow_id.replace(tag, 'T'), r.n, r.total]),
        [
          ['dbos-1-T', 3, 120],
          ['dbos-2-T', 3, 120],
          ['transact-postgres-T', 3, 120],
          ['transact-sqlite-T', 3, 120],
        ],
      );
      // Transact adopted DBOS's table and recorded its version; DBOS's completion rows are still there (DBOS 4.x keeps
      // them), Transact's were deleted when its workflows finished.
      assert.deepEqual((await c.query('SELECT version FROM dbos.dbos_transaction_completion_migrations')).rows, [{ version: '1' }]);
      const completions = await c.query('SELECT workflow_id, count(*)::int AS n FROM dbos.transaction_completion GROUP BY 1 ORDER BY 1');
      assert.deepEqual(
        completions.rows.map((r) => [r.workflow_id.replace(tag, 'T'), r.n]),
        [
          ['dbos-1-T', 4],
          ['dbos-2-T', 4],
        ],
      );
    } finally {
      await c.end();
    }
  });
});
