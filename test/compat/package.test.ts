// The published package, as a new user gets it: `npm pack`, installed from the tarball into scratch projects that
// have nothing else (no @types/pg, no OpenTelemetry, no @types/node), type-checked with skipLibCheck: false, and run:
//
//   - a CommonJS TypeScript project ("module": "commonjs", legacy decorators), loaded with require();
//   - an ES module TypeScript project ("module": "NodeNext", standard decorators, top-level await);
//
// each running the README's Quick start on SQLite and on PostgreSQL. A plain .mjs file also loads the package both
// ways in one process and checks that there is one engine (one DBOS class, one registry).
//
// The dependencies come from npm's cache when they are there (the registry otherwise); better-sqlite3's native
// module is taken from this repository's install when the versions agree, so no compiler runs.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dropFreshDatabases, freshDatabase, postgresUnavailable, scratchDir } from '../support/backends.js';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const tsc = join(repo, 'node_modules', '.bin', 'tsc');

/** The README's Quick start, with stand-ins for the payment and shipping services and a short durable sleep. */
function quickStart(style: 'esm' | 'cjs'): string {
  const body = `
const payments = { async charge(orderID: string): Promise<string> { return 'receipt-' + orderID; } };
const warehouse = { async ship(_orderID: string): Promise<void> {} };

class Checkout {
  @DBOS.step({ retriesAllowed: true, maxAttempts: 5 })
  static async chargeCard(orderID: string): Promise<string> {
    return payments.charge(orderID);
  }

  @DBOS.step()
  static async ship(orderID: string): Promise<void> {
    await warehouse.ship(orderID);
  }

  @DBOS.workflow()
  static async checkout(orderID: string): Promise<string> {
    const receipt = await Checkout.chargeCard(orderID);
    await DBOS.sleepSeconds(0.2);
    await Checkout.ship(orderID);
    return receipt;
  }
}
`;
  const main = `
  DBOS.setConfig({ name: 'shop', systemDatabaseUrl: process.argv[2], logLevel: 'info' });
  await DBOS.launch();
  const handle = await DBOS.startWorkflow(Checkout, { workflowID: 'order-42' }).checkout('order-42');
  console.log('RESULT ' + (await handle.getResult()));
  const again = await DBOS.startWorkflow(Checkout, { workflowID: 'order-42' }).checkout('order-42');
  console.log('AGAIN ' + (await again.getResult()));
  const status = await DBOS.getWorkflowStatus('order-42');
  console.log('STATUS ' + (status?.status === StatusString.SUCCESS ? 'SUCCESS' : status?.status));
  try {
    await DBOS.retrieveWorkflow('no-such-workflow').getResult();
  } catch (err) {
    console.log('ERRORS ' + String(err instanceof DBOSErrors.DBOSNonExistentWorkflowError || err instanceof DBOSErrors.DBOSError));
  }
  await DBOS.shutdown();
`;
  const ambient = `declare const process: { argv: string[] };\ndeclare const console: { log(...args: unknown[]): void };\n`;
  if (style === 'esm') {
    return `import { DBOS, StatusString, Error as DBOSErrors } from 'transact';\n${ambient}${body}${main}`;
  }
  return `import { DBOS, StatusString, Error as DBOSErrors } from 'transact';\n${ambient}${body}
async function main(): Promise<void> {${main}}
main().catch((err) => { console.log('FAILED', err); throw err; });
`;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** A scratch project with `transact` installed from the tarball. */
async function project(dir: string, tarball: string, packageJson: object): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, 'package.json'), { name: 'scratch', private: true, ...packageJson });
  await run('npm', ['install', tarball, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    timeout: 120_000,
  });
  // better-sqlite3's native module, without compiling it: this repository's, when the versions agree.
  const installed = join(dir, 'node_modules', 'better-sqlite3');
  const binary = join('build', 'Release', 'better_sqlite3.node');
  if (!existsSync(join(installed, binary))) {
    const ours = join(repo, 'node_modules', 'better-sqlite3');
    const version = (p: string) => (JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as { version: string }).version;
    if (version(installed) === version(ours) && existsSync(join(ours, binary))) {
      mkdirSync(join(installed, 'build', 'Release'), { recursive: true });
      copyFileSync(join(ours, binary), join(installed, binary));
    } else {
      await run('npm', ['rebuild', 'better-sqlite3', '--loglevel=error'], { cwd: dir, timeout: 300_000 });
    }
  }
}

async function compile(dir: string): Promise<void> {
  try {
    await run(tsc, ['-p', dir], { cwd: dir, timeout: 120_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`tsc failed in ${dir}:\n${e.stdout}${e.stderr}`);
  }
}

async function quickStartRun(dir: string, script: string, url: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [script, url], { cwd: dir, timeout: 60_000 });
  const output = stdout + stderr;
  assert.match(output, /RESULT receipt-order-42/, output);
  assert.match(output, /AGAIN receipt-order-42/, output);
  assert.match(output, /STATUS SUCCESS/, output);
  assert.match(output, /ERRORS true/, output);
  // The launch says where the system database is, under which executor ID and version.
  assert.match(output, /system database (SQLite|PostgreSQL) .*executor .*application version/, output);
  assert.doesNotMatch(output, /:[^@/:]*@127\.0\.0\.1/, 'no password in the log');
  return output;
}

const backends = postgresUnavailable && process.env.CI !== 'true' ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);

describe('the packed tarball', () => {
  let root: string;
  let tarball: string;
  const esm = () => join(root, 'esm');
  const cjs = () => join(root, 'cjs');

  before(async () => {
    root = scratchDir('package');
    await run('npm', ['run', 'build', '--silent'], { cwd: repo, timeout: 180_000 });
    const { stdout } = await run('npm', ['pack', '--pack-destination', root, '--silent'], { cwd: repo, timeout: 60_000 });
    tarball = join(root, stdout.trim().split('\n').pop()!);
    await Promise.all([
      project(esm(), tarball, { type: 'module' }),
      project(cjs(), tarball, {}),
    ]);
  });

  after(() => dropFreshDatabases());

  it('holds the ES module build, the CommonJS entries and their declarations, and no tests or sources', async () => {
    const pkg = join(esm(), 'node_modules', 'transact');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/kafka.js', 'dist/cjs/testing.js', 'dist/testing/crash-child.js', 'dist/cjs/package.json']) {
      assert.ok(existsSync(join(pkg, file)), `${file} is in the package`);
    }
    const shipped = readdirSync(pkg);
    for (const absent of ['src', 'test', 'scripts', 'node_modules', 'tsconfig.json']) assert.ok(!shipped.includes(absent), `${absent} is not shipped`);
    assert.ok(!readdirSync(join(pkg, 'dist')).some((f) => f.endsWith('.test.js')), 'no tests in dist');
  });

  it('an ES module project (NodeNext, standard decorators) type-checks without @types/pg, OpenTelemetry or @types/node', async () => {
    writeJson(join(esm(), 'tsconfig.json'), {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['app.ts', 'config.ts'],
    });
    writeFileSync(join(esm(), 'app.ts'), quickStart('esm'));
    // DBOSConfig is exact: a misspelt key does not compile (the directive fails the build if it does).
    writeFileSync(
      join(esm(), 'config.ts'),
      `import type { DBOSConfig } from 'transact';\n// @ts-expect-error unknown key\nexport const config: DBOSConfig = { name: 'x', systemDatabaseURL: 'sqlite:x' };\n`,
    );
    await compile(esm());
  });

  it('a CommonJS project ("module": "commonjs", legacy decorators) type-checks the same way', async () => {
    writeJson(join(cjs(), 'tsconfig.json'), {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'commonjs',
        strict: true,
        esModuleInterop: true,
        experimentalDecorators: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['app.ts'],
    });
    writeFileSync(join(cjs(), 'app.ts'), quickStart('cjs'));
    await compile(cjs());
    assert.match(readFileSync(join(cjs(), 'app.js'), 'utf8'), /require\("transact"\)/);
  });

  for (const kind of backends) {
    it(`the ES module project runs the Quick start [${kind}]`, async () => {
      await quickStartRun(esm(), 'app.js', freshDatabase(kind, 'pkgesm'));
    });

    it(`the CommonJS project runs the Quick start [${kind}]`, async () => {
      await quickStartRun(cjs(), 'app.js', freshDatabase(kind, 'pkgcjs'));
    });
  }

  it('transact/testing from the package: crashTest in process and in a SIGKILLed child, the virtual clock, import and require', async () => {
    writeFileSync(
      join(esm(), 'kit-workflows.mjs'),
      `import { DBOS } from 'transact';
export const step = DBOS.registerStep(async (n) => n * 2, { name: 'double' });
export const twice = DBOS.registerWorkflow(async (n) => (await step(n)) + (await step(n + 1)), { name: 'twice' });
export const napper = DBOS.registerWorkflow(async () => { await DBOS.sleep(7 * 86400000); return 'rested'; }, { name: 'napper' });
`,
    );
    writeFileSync(
      join(esm(), 'kit.mjs'),
      `import { createRequire } from 'node:module';
import { crashTest, testRuntime } from 'transact/testing';
import { DBOS } from 'transact';
import { twice, napper } from './kit-workflows.mjs';
const require = createRequire(import.meta.url);
DBOS.setConfig({ name: 'kit', logLevel: 'error' });
const inProcess = await crashTest(twice, [20]);
const inChild = await crashTest(twice, [20], { childProcess: { module: new URL('./kit-workflows.mjs', import.meta.url) }, operations: ['double'] });
const rt = await testRuntime({ virtualClock: true });
const handle = await DBOS.startWorkflow(napper)();
await rt.clock.waitForTimers(1);
await rt.clock.advance('7 days');
const rested = await handle.getResult();
await rt.shutdown();
console.log(JSON.stringify({
  inProcess: [inProcess.ok, inProcess.boundaries.length],
  inChild: [inChild.ok, inChild.boundaries.length, inChild.boundaries.every((b) => b.killedPid && b.killedPid !== process.pid)],
  rested,
  sameKit: require('transact/testing').crashTest === crashTest,
}));
`,
    );
    const { stdout } = await run(process.execPath, ['kit.mjs'], { cwd: esm(), timeout: 120_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    // Two steps: before, during, after the run and after the checkpoint of each, and before the outcome.
    assert.deepEqual(result, { inProcess: [true, 9], inChild: [true, 8, true], rested: 'rested', sameKit: true });
  });

  it('require() and import in one process share one engine, and the default export is the package', async () => {
    writeFileSync(
      join(esm(), 'both.mjs'),
      `import { createRequire } from 'node:module';
import transact, { DBOS, Error as E, WorkflowQueue } from 'transact';
import * as kafkaEsm from 'transact/kafka';
const require = createRequire(import.meta.url);
const cjs = require('transact');
const kafkaCjs = require('transact/kafka');
const checks = {
  sameDBOS: cjs.DBOS === DBOS,
  sameErrors: cjs.Error.DBOSError === E.DBOSError,
  sameQueue: cjs.WorkflowQueue === WorkflowQueue,
  defaultIsPackage: transact.DBOS === DBOS && transact.Error === E,
  sameKafka: kafkaCjs.KafkaReceiver === kafkaEsm.KafkaReceiver,
};
// One registry: a workflow registered through one is known to the other.
const wf = cjs.DBOS.registerWorkflow(async function both() { return 1; });
checks.oneRegistry = DBOS.getAssociatedInfo('nobody').length === 0 && typeof wf === 'function';
DBOS.associateFunctionWithInfo('probe', wf, {});
checks.sharedInfo = cjs.DBOS.getAssociatedInfo('probe').length === 1;
console.log(JSON.stringify(checks));
`,
    );
    const { stdout } = await run(process.execPath, ['both.mjs'], { cwd: esm(), timeout: 30_000 });
    const checks = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, boolean>;
    for (const [name, ok] of Object.entries(checks)) assert.equal(ok, true, name);
  });
});
