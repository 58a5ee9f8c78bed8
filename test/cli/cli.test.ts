// The operator's command line, against a database an application is running on: every workflow command, its help,
// its exit codes (done, usage, not found, refused), its JSON, and what it does with a typo, an unreachable database
// and stored text that holds terminal escape sequences.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { main, UsageError } from '../../src/cli/main.js';
import { DBOS, DBOSAwaitedWorkflowCancelledError, DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, scratchDir } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

const ran: string[] = [];
let gate = latch();
const step = DBOS.registerStep(
  async (label: string) => {
    ran.push(label);
    return `${label}!`;
  },
  { name: 'shout' },
);
const twoSteps = DBOS.registerWorkflow(
  async (tag: string) => {
    const a = await step(`${tag}-a`);
    await DBOS.sleepms(5);
    await gate.promise;
    return [a, await step(`${tag}-b`)];
  },
  { name: 'twoSteps' },
);
const failing = DBOS.registerWorkflow(
  async (why: string) => {
    throw new Error(`failed because ${why}`);
  },
  { name: 'failing' },
);

async function cli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const code = await main(args, (line) => lines.push(line), (line) => lines.push(line));
  assert.equal(code, 0, lines.join('\n'));
  return lines.join('\n');
}

const require = createRequire(import.meta.url);
const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
/** The `transact` executable in its own process: exit code, stdout, stderr. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', require.resolve('tsx'), bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

after(dropFreshDatabases);

describeEachBackend('the transact command line', (kind) => {
  const databaseUrl = engineOn(kind, 'cli');

  it('lists workflows newest first, with a hint when more rows match, and filters them', async () => {
    gate = latch();
    gate.release();
    for (let i = 0; i < 3; i++) await (await DBOS.startWorkflow(twoSteps, { workflowID: `cli-${kind}-${i}` })(`x${i}`)).getResult();
    const list = await cli('workflow', 'list', '--db', databaseUrl());
    assert.match(list, /^WORKFLOW ID\s+NAME\s+STATUS\s+QUEUE\s+CREATED \(UTC\)\s+DURATION\s+EXECUTOR\s+VERSION$/m);
    const order = [2, 1, 0].map((i) => list.indexOf(`cli-${kind}-${i} `));
    assert.ok(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]!)), `newest first:\n${list}`);
    assert.match(list, /^3 workflows \(newest first\)$/m);
    const one = await cli('workflow', 'list', '--db', databaseUrl(), '--limit', '1');
    assert.match(one, new RegExp(`cli-${kind}-2\\s+twoSteps\\s+SUCCESS`));
    assert.match(one, /^showing 1-1 of 3 \(newest first\); 2 more: add --offset 1$/m);
    const next = await cli('workflow', 'list', '--db', databaseUrl(), '--limit', '1', '--offset', '1');
    assert.match(next, new RegExp(`cli-${kind}-1\\s`));
    const listed = JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--status', 'SUCCESS', '--json'));
    assert.deepEqual(listed.map((w: { workflowID: string }) => w.workflowID), [2, 1, 0].map((i) => `cli-${kind}-${i}`));
    assert.equal(await cli('workflow', 'list', '--db', databaseUrl(), '--start', '2999-01-01'), '(no workflows)');
    assert.match(await cli('workflow', 'list', '--db', databaseUrl(), '--end', '1d'), /\(no workflows\)/);
    assert.match(await cli('workflow', 'list', '--db', databaseUrl(), '--search', `${kind.toUpperCase()}-1`), /^1 workflow \(newest first\)$/m);
    assert.match(await cli('workflow', 'list', '--db', databaseUrl(), '--app-version', 'test-v1', '--executor', 'nope'), /\(no workflows\)/);
    // --app scopes the listing to one application (and unclaimed rows).
    assert.equal(JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--app', TEST_APP, '--json')).length, 3);
    assert.deepEqual(JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--app', 'another-app', '--json')), []);
  });

  it('refuses a status that does not exist, before connecting', async () => {
    await assert.rejects(main(['workflow', 'list', '--status', 'error', '--db', databaseUrl()]), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^unknown status "error" \(did you mean ERROR\?\); use one of PENDING, ENQUEUED, DELAYED, SUCCESS, ERROR/);
      return true;
    });
    const r = await run('workflow', 'list', '--status', 'Sucess', '--db', databaseUrl());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown status "Sucess"/);
    assert.equal((await run('workflow', 'list', '--start', 'yesterday', '--db', databaseUrl())).code, 2);
  });

  it('shows one workflow with its output, or its error with the stored stack; and its steps', async () => {
    const failed = await DBOS.startWorkflow(failing, { workflowID: `cli-fail-${kind}` })('the disk is full');
    await assert.rejects(failed.getResult());
    const text = await cli('workflow', 'get', failed.workflowID, '--db', databaseUrl());
    assert.match(text, /^status\s+ERROR$/m);
    assert.match(text, /^error\s+Error: failed because the disk is full\n\s+at /m, 'the stack as stored');
    const json = JSON.parse(await cli('workflow', 'get', failed.workflowID, '--db', databaseUrl(), '--json'));
    assert.equal(json.error.message, 'failed because the disk is full', '--json keeps the message');
    assert.match(json.error.stack, /^Error: failed because the disk is full\n\s+at /, '--json keeps the stack');
    assert.match(await cli('workflow', 'get', `cli-${kind}-0`, '--db', databaseUrl()), /^output\s+\[\n\s+"x0-a!",\n\s+"x0-b!"\n\s+\]$/m);

    const steps = await cli('workflow', 'steps', `cli-${kind}-0`, '--db', databaseUrl());
    assert.match(steps, /^0\s+shout\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d+ ms\s+x0-a!$/m);
    assert.match(steps, /^1\s+DBOS\.sleep\s+\S+ \S+\s+\d+ ms\s+sleep until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/m);
    assert.match(steps, /^2\s+shout\s+.*x0-b!$/m);
  });

  it('cancels, resumes and forks, says what it did, and refuses (exit 4) what does not apply', async () => {
    gate = latch();
    ran.length = 0;
    const handle = await DBOS.startWorkflow(twoSteps, { workflowID: `cli-ops-${kind}` })('y');
    await waitUntil(() => ran.includes('y-a'));
    assert.equal(await cli('workflow', 'cancel', handle.workflowID, '--db', databaseUrl()), `cancelled ${handle.workflowID} (it was PENDING)`);
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    const again = await run('workflow', 'cancel', handle.workflowID, '--db', databaseUrl());
    assert.deepEqual([again.code, again.stderr.trim()], [4, `transact: refused: workflow ${handle.workflowID} is already CANCELLED`]);
    gate.release();
    assert.match(await cli('workflow', 'resume', handle.workflowID, '--db', databaseUrl()), new RegExp(`^resumed ${handle.workflowID} \\(it was CANCELLED\\)`));
    assert.deepEqual(await DBOS.retrieveWorkflow(handle.workflowID).getResult(), ['y-a!', 'y-b!']);
    const finished = await run('workflow', 'cancel', handle.workflowID, '--db', databaseUrl(), '--json');
    assert.equal(finished.code, 4);
    assert.deepEqual(JSON.parse(finished.stderr).error.outcome, 'refused');
    assert.match(JSON.parse(finished.stderr).error.message, /already finished with SUCCESS: there is nothing to cancel/);
    const resumeDone = await run('workflow', 'resume', handle.workflowID, '--db', databaseUrl());
    assert.equal(resumeDone.code, 4);
    assert.match(resumeDone.stderr, /a finished workflow cannot be resumed \(fork or rewind it to run it again\)/);

    const forked = JSON.parse(await cli('workflow', 'fork', handle.workflowID, '--step', '2', '--new-id', `cli-fork-${kind}`, '--db', databaseUrl(), '--json'));
    assert.equal(forked.workflowID, `cli-fork-${kind}`);
    assert.deepEqual(await DBOS.retrieveWorkflow(forked.workflowID).getResult(), ['y-a!', 'y-b!']);
    assert.deepEqual(ran, ['y-a', 'y-b', 'y-b'], 'the fork re-ran only the steps from its fork point');
    const taken = await run('workflow', 'fork', handle.workflowID, '--step', '0', '--new-id', `cli-fork-${kind}`, '--db', databaseUrl());
    assert.equal(taken.code, 4);

    const missing = await run('workflow', 'get', 'no-such-workflow', '--db', databaseUrl());
    assert.deepEqual([missing.code, missing.stderr.trim()], [3, 'transact: not found: workflow no-such-workflow does not exist']);
    for (const command of ['cancel', 'resume', 'steps']) assert.equal((await run('workflow', command, 'no-such', '--db', databaseUrl())).code, 3, command);
    assert.equal((await run('workflow', 'fork', 'no-such', '--step', '1', '--db', databaseUrl())).code, 3);
  });

  it('lists queued work under DBOS names, counts before a bulk cancel, and lists executors and queue activity', async () => {
    const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
    try {
      for (let i = 0; i < 3; i++) await client.enqueue({ queueName: 'cli-parked', workflowName: 'twoSteps', workflowID: `cli-parked-${kind}-${i}` }, 'p');
    } finally {
      await client.destroy();
    }
    const queued = await cli('workflow', 'queue', 'list', '--db', databaseUrl(), '--queue', 'cli-parked');
    assert.match(queued, new RegExp(`cli-parked-${kind}-2\\s+twoSteps\\s+ENQUEUED\\s+cli-parked`));
    assert.match(queued, /^3 workflows \(newest first\)$/m);
    assert.equal(await cli('queue', 'list', '--db', databaseUrl(), '--queue', 'cli-parked'), queued);
    assert.match(await cli('queue', 'activity', '--db', databaseUrl()), /^cli-parked\s+3\s+0\s+0\s+\d{4}-/m);

    const count = await cli('workflow', 'cancel-all', '--queue', 'cli-parked', '--db', databaseUrl());
    assert.equal(count, '3 workflows (PENDING, ENQUEUED, DELAYED, MAX_RECOVERY_ATTEMPTS_EXCEEDED) match; run again with --yes to cancel them');
    assert.equal((await cli('workflow', 'queue', 'list', '--db', databaseUrl(), '--queue', 'cli-parked', '--json')).length > 2, true, 'counting cancelled nothing');
    assert.equal(await cli('workflow', 'cancel-all', '--queue', 'cli-parked', '--yes', '--db', databaseUrl()), 'cancelled 3 of 3 workflows');
    assert.equal(await cli('workflow', 'cancel-all', '--queue', 'cli-parked', '--db', databaseUrl()), 'no PENDING, ENQUEUED, DELAYED, MAX_RECOVERY_ATTEMPTS_EXCEEDED workflow matches: nothing to cancel');
    assert.match(await cli('workflow', 'resume-all', '--search', `cli-parked-${kind}`, '--db', databaseUrl()), /^3 workflows \(CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED, ENQUEUED, DELAYED\) match/);

    const executors = await cli('executor', 'list', '--db', databaseUrl());
    assert.match(executors, new RegExp(`^\\S+\\s+${TEST_APP}\\s+test-v1\\s+\\S+\\s+${process.pid}\\s+.*ago\\s+alive$`, 'm'));
  });

  it('prints stored text with its control characters escaped, in tables and in JSON', async () => {
    const id = `cli-\u001b]0;owned\u0007-\u001b[2J-\u009b31m-\u202e-${kind}`;
    gate = latch();
    gate.release();
    await (await DBOS.startWorkflow(twoSteps, { workflowID: id })('\u001b[31mred')).getResult();
    for (const args of [['workflow', 'list', '--search', `cli-\u001b]0;owned`], ['workflow', 'get', id], ['workflow', 'steps', id]]) {
      for (const json of [false, true]) {
        const r = await run(...args, '--db', databaseUrl(), ...(json ? ['--json'] : []));
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, `${args.join(' ')}${json ? ' --json' : ''} prints no control character`);
        if (args[1] !== 'list') assert.match(r.stdout, /\\(x1b|u001b)\[31mred/, 'the stored text is there, escaped');
        if (args[1] !== 'steps') assert.match(r.stdout, json ? /\\u001b\]0;owned\\u0007-\\u001b\[2J-\\u009b31m-\\u202e-/ : /\\x1b\]0;owned\\x07-\\x1b\[2J-\\x9b31m-\\u202e-/);
      }
    }
  });

  it('explains every command with --help, prints its version, and exits 2 on a wrong call', async () => {
    const help = await run('--help');
    assert.equal(help.code, 0);
    for (const name of ['workflow list', 'workflow get', 'workflow steps', 'workflow cancel', 'workflow resume', 'workflow fork', 'workflow queue list']) {
      assert.ok(help.stdout.includes(name), name);
      const one = await cli(...name.split(' '), '--help');
      assert.match(one, new RegExp(`^usage: transact ${name}`), name);
    }
    assert.match(await cli('workflow', 'list', '--help'), /--status S[\s\S]*--app-version V[\s\S]*--executor E[\s\S]*--start T/);
    assert.match((await run('--version')).stdout, /^transact \d+\.\d+\.\d+\n$/);
    const wrong = await run('workflow', 'lsit', '--db', databaseUrl());
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^unknown command: workflow lsit; workflow commands: list, get, steps/);
    const missing = await run('workflow', 'get', '--db', databaseUrl());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /workflow get needs a workflow ID\nusage: transact workflow get <id>/);
    assert.equal((await run('workflow', 'list', '--bogus')).code, 2);
  });
});

describe('the transact command line, when the database is not there', () => {
  it('refuses a mistyped SQLite path without creating anything', async () => {
    const dir = scratchDir('cli-typo');
    const file = join(dir, 'no-such-folder', 'sytem.sqlite');
    const r = await run('workflow', 'list', '--db', `sqlite:${file}`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `transact: No system database at ${file}: the file does not exist. Check the path, or launch the application first.`);
    assert.ok(!existsSync(join(dir, 'no-such-folder')), 'no folder was created');
    await assert.rejects(DBOSClient.create({ systemDatabaseUrl: `sqlite:${join(dir, 'x.sqlite')}` }), /No system database at/);
    assert.ok(!existsSync(join(dir, 'x.sqlite')), 'no file was created');
  });

  it('gives up on a PostgreSQL server that refuses connections within seconds, with the real cause', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await run('workflow', 'list', '--db', `postgres://postgres:secret@127.0.0.1:${port}/shop`, '--timeout', '2');
    const took = Date.now() - started;
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^transact: Cannot reach the system database at postgres://postgres:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/shop \\(gave up after 2000 ms\\): connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\n$`));
    assert.doesNotMatch(r.stderr, /schema version|secret/);
    assert.ok(took < 10_000, `took ${took} ms`);
  });

  it('gives up on an address that accepts connections and never answers, within the connect timeout (DBOSClient too)', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      await assert.rejects(DBOSClient.create({ systemDatabaseUrl: `postgres://postgres@127.0.0.1:${port}/shop`, connectTimeoutMs: 1500 }), (err: Error) => {
        assert.match(err.message, /^Cannot reach the system database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop \(gave up after 1500 ms\): .*timeout/i);
        return true;
      });
      assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
      const r = await run('workflow', 'get', 'some-id', '--db', `postgres://postgres@127.0.0.1:${port}/shop`, '--timeout', '1', '--json');
      assert.equal(r.code, 1);
      const error = JSON.parse(r.stderr).error;
      assert.equal(error.outcome, 'unreachable');
      assert.match(error.message, /Cannot reach the system database/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
