// The command line's management operations (rewind, delete, priority, delay, versions, registered queues, the
// parent/fork filters of `workflow list`), checked against the rows they leave in the database.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { main, UsageError } from '../../src/cli/main.js';
import { DBOS, DBOSClient, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { engineOn, TEST_VERSION } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

const ran: string[] = [];
let gate = latch();
const mark = DBOS.registerStep(
  async (label: string) => {
    ran.push(label);
    return `${label}!`;
  },
  { name: 'mark' },
);
/** Step 0 marks `tag-a`, then waits at the gate; step 1 marks `tag-b`. */
const gated = DBOS.registerWorkflow(
  async (tag: string) => {
    const a = await mark(`${tag}-a`);
    await gate.promise;
    return [a, await mark(`${tag}-b`)];
  },
  { name: 'gated' },
);
const child = DBOS.registerWorkflow(async (n: number) => n * 2, { name: 'child' });
const parent = DBOS.registerWorkflow(async (n: number) => (await child(n)) + 1, { name: 'parent' });

let queueGate = latch();
const waiting = DBOS.registerWorkflow(
  async (label: string, wait: boolean) => {
    ran.push(label);
    if (wait) await queueGate.promise;
    return label;
  },
  { name: 'waiting' },
);
new WorkflowQueue('cli-serial', { workerConcurrency: 1 });
new WorkflowQueue('cli-later');

/** Runs the command in this process; returns its output, failing the test on a non-zero exit code. */
async function cli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const code = await main(args, (line) => lines.push(line));
  assert.equal(code, 0, lines.join('\n'));
  return lines.join('\n');
}

/** Runs the `transact` executable as an operator would, in its own process. */
function runBin(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const require = createRequire(import.meta.url);
  const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
  return promisify(execFile)(process.execPath, ['--import', require.resolve('tsx'), bin, ...args]);
}

async function statusOf(url: string, workflowID: string): Promise<unknown> {
  const [row] = await queryRows(url, 'SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1', [workflowID]);
  return row?.status;
}

async function column(url: string, workflowID: string, name: string): Promise<unknown> {
  const [row] = await queryRows(url, `SELECT ${name} AS v FROM dbos.workflow_status WHERE workflow_uuid = $1`, [workflowID]);
  return row?.v;
}

after(dropFreshDatabases);

describeEachBackend('the transact command line: management', (kind) => {
  const databaseUrl = engineOn(kind, 'climanage');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
  });
  after(() => client.destroy());

  it('rewinds a finished workflow, which runs again under its ID from the given step', async () => {
    const id = `cli-rewind-${kind}`;
    ran.length = 0;
    gate = latch();
    gate.release();
    assert.deepEqual(await (await DBOS.startWorkflow(gated, { workflowID: id })('r')).getResult(), ['r-a!', 'r-b!']);

    const out = JSON.parse(await cli('workflow', 'rewind', id, '--step', '1', '--db', databaseUrl(), '--json'));
    assert.deepEqual(out, { rewound: id, startStep: 1, queueName: null });
    assert.deepEqual(await DBOS.retrieveWorkflow(id).getResult(), ['r-a!', 'r-b!']);
    assert.equal(await statusOf(databaseUrl(), id), 'SUCCESS');
    assert.deepEqual(ran, ['r-a', 'r-b', 'r-b'], 'only the steps from step 1 ran again');

    // From the start by default, in the human form.
    assert.equal(await cli('workflow', 'rewind', id, '--db', databaseUrl()), `rewound ${id}: it runs again from step 0`);
    assert.deepEqual(await DBOS.retrieveWorkflow(id).getResult(), ['r-a!', 'r-b!']);
    assert.deepEqual(ran, ['r-a', 'r-b', 'r-b', 'r-a', 'r-b']);
  });

  it('refuses to rewind a running workflow: one line on stderr and exit code 4 (3 for a workflow that does not exist)', async () => {
    ran.length = 0;
    gate = latch();
    const handle = await DBOS.startWorkflow(gated, { workflowID: `cli-busy-${kind}` })('busy');
    await waitUntil(() => ran.includes('busy-a'), { message: 'the workflow to wait at its gate' });
    await assert.rejects(runBin('workflow', 'rewind', handle.workflowID, '--db', databaseUrl()), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 4);
      assert.match(err.stderr, new RegExp(`^transact: refused: Cannot rewind workflow ${handle.workflowID}: its status is PENDING`));
      assert.equal(err.stderr.trimEnd().split('\n').length, 1, 'one line');
      return true;
    });
    await assert.rejects(runBin('workflow', 'rewind', 'no-such-workflow', '--db', databaseUrl()), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 3);
      assert.equal(err.stderr.trim(), 'transact: not found: workflow no-such-workflow does not exist');
      return true;
    });
    gate.release();
    assert.deepEqual(await handle.getResult(), ['busy-a!', 'busy-b!'], 'the refused rewind changed nothing');
    assert.deepEqual(ran, ['busy-a', 'busy-b']);
  });

  it('lists child, top-level and forked workflows with --parent, --top-level and --forks', async () => {
    const id = `cli-family-${kind}`;
    assert.equal(await (await DBOS.startWorkflow(parent, { workflowID: id })(5)).getResult(), 11);
    const [childRow] = await queryRows(databaseUrl(), 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1', [id]);
    const childID = String(childRow!.workflow_uuid);
    const forkID = await client.forkWorkflow(id, 0, { newWorkflowID: `cli-family-fork-${kind}` });
    assert.equal(await DBOS.retrieveWorkflow(forkID).getResult(), 11);

    const ids = async (...filters: string[]) =>
      (JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--json', '--limit', '1000', ...filters)) as { workflowID: string }[]).map(
        (w) => w.workflowID,
      );
    const children = await ids('--parent');
    assert.ok(children.includes(childID));
    assert.ok(!children.includes(id) && !children.includes(forkID));
    const topLevel = await ids('--top-level');
    assert.ok(topLevel.includes(id) && topLevel.includes(forkID));
    assert.ok(!topLevel.includes(childID));
    assert.deepEqual(await ids('--forks', '--name', 'parent'), [forkID]);
    assert.deepEqual(await ids('--queue', 'cli-no-such-queue'), []);
    await assert.rejects(main(['workflow', 'list', '--parent', '--top-level', '--db', databaseUrl()]), UsageError);
  });

  it('deletes workflows, with their descendants when asked, and nothing when an ID is unknown', async () => {
    const url = databaseUrl();
    const alone = `cli-del-alone-${kind}`;
    const tree = `cli-del-tree-${kind}`;
    await (await DBOS.startWorkflow(parent, { workflowID: alone })(1)).getResult();
    await (await DBOS.startWorkflow(parent, { workflowID: tree })(2)).getResult();
    const childOf = async (id: string) =>
      String((await queryRows(url, 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1', [id]))[0]!.workflow_uuid);
    const aloneChild = await childOf(alone);
    const treeChild = await childOf(tree);

    await assert.rejects(main(['workflow', 'delete', alone, 'cli-no-such-workflow', '--db', url]), /cli-no-such-workflow does not exist/);
    assert.equal(await statusOf(url, alone), 'SUCCESS', 'nothing was deleted');

    assert.equal(await cli('workflow', 'delete', alone, '--db', url), `deleted ${alone}`);
    assert.equal(await statusOf(url, alone), undefined);
    assert.equal((await queryRows(url, 'SELECT 1 FROM dbos.operation_outputs WHERE workflow_uuid = $1', [alone])).length, 0);
    assert.equal(await statusOf(url, aloneChild), 'SUCCESS', 'the child stays without --children');

    const out = JSON.parse(await cli('workflow', 'delete', tree, aloneChild, '--children', '--db', url, '--json'));
    assert.deepEqual(out, { deleted: [tree, aloneChild], deleteChildren: true });
    for (const id of [tree, treeChild, aloneChild]) assert.equal(await statusOf(url, id), undefined, `${id} is gone`);
  });

  it('changes the priority of a waiting workflow and the start of a delayed one', async () => {
    const url = databaseUrl();
    ran.length = 0;
    queueGate = latch();
    const blocker = await DBOS.startWorkflow(waiting, { queueName: 'cli-serial' })('blocker', true);
    await waitUntil(() => ran.includes('blocker'), { message: 'the blocker to hold the queue' });
    const a = await DBOS.startWorkflow(waiting, { queueName: 'cli-serial', enqueueOptions: { priority: 5 } })('a', false);
    const b = await DBOS.startWorkflow(waiting, { queueName: 'cli-serial', enqueueOptions: { priority: 5 } })('b', false);
    assert.equal(await cli('workflow', 'set-priority', b.workflowID, '1', '--db', url), `priority of ${b.workflowID} set to 1`);
    assert.equal(Number(await column(url, b.workflowID, 'priority')), 1);
    queueGate.release();
    await Promise.all([blocker, a, b].map((h) => h.getResult()));
    assert.deepEqual(ran, ['blocker', 'b', 'a'], 'the reprioritized workflow ran first');
    await assert.rejects(main(['workflow', 'set-priority', b.workflowID, 'high', '--db', url]), UsageError);

    const late = await DBOS.startWorkflow(waiting, { queueName: 'cli-later', enqueueOptions: { delaySeconds: 3600 } })('late', false);
    assert.equal(await statusOf(url, late.workflowID), 'DELAYED');
    const before = Date.now();
    const out = JSON.parse(await cli('workflow', 'set-delay', late.workflowID, '7200', '--db', url, '--json'));
    assert.deepEqual(out, { workflowID: late.workflowID, delaySeconds: 7200 });
    const due = Number(await column(url, late.workflowID, 'delay_until_epoch_ms'));
    assert.ok(due >= before + 7_200_000 - 5_000 && due <= Date.now() + 7_200_000 + 5_000, 'due in two hours');
    await cli('workflow', 'set-delay', late.workflowID, '0', '--db', url);
    assert.equal(await late.getResult(), 'late', 'a delay of 0 lets it start at once');
  });

  it('lists versions, shows the latest and makes another one the latest', async () => {
    const url = databaseUrl();
    const insert =
      'INSERT INTO dbos.application_versions (version_id, version_name, version_timestamp, created_at, application_name) VALUES ($1, $2, $3, $3, $4)';
    await execSql(url, insert, [randomUUID(), 'cli-old', Date.now() - 60_000, null]);

    const names = (JSON.parse(await cli('version', 'list', '--db', url, '--json')) as { versionName: string }[]).map((v) => v.versionName);
    assert.deepEqual(names, [TEST_VERSION, 'cli-old']);
    assert.match(await cli('version', 'list', '--db', url), new RegExp(`${TEST_VERSION}\\s+yes[\\s\\S]*cli-old`));
    assert.match(await cli('version', 'latest', '--db', url), new RegExp(`^version\\s+${TEST_VERSION}$`, 'm'));

    assert.equal(await cli('version', 'set-latest', 'cli-old', '--db', url), 'the latest version is now cli-old');
    assert.equal((await client.getLatestApplicationVersion())?.versionName, 'cli-old');
    assert.equal(JSON.parse(await cli('version', 'latest', '--db', url, '--json')).versionName, 'cli-old');
    await assert.rejects(main(['version', 'set-latest', 'cli-no-such-version', '--db', url]), /cli-no-such-version does not exist/);

    await cli('version', 'set-latest', TEST_VERSION, '--db', url); // the engine's own version again, for the tests after
    assert.equal((await client.getLatestApplicationVersion())?.versionName, TEST_VERSION);
  });

  it('registers, lists and deletes queues with their limits', async () => {
    const url = databaseUrl();
    const name = `cli-registered-${kind}`;
    const registered = JSON.parse(
      await cli('queue', 'register', name, '--concurrency', '4', '--worker-concurrency', '2', '--rate', '10/60', '--db', url, '--json'),
    );
    assert.equal(registered.name, name);
    const [row] = await queryRows(
      url,
      'SELECT concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec FROM dbos.queues WHERE name = $1',
      [name],
    );
    assert.deepEqual(
      [row!.concurrency, row!.worker_concurrency, row!.rate_limit_max, row!.rate_limit_period_sec].map(Number),
      [4, 2, 10, 60],
    );
    assert.match(await cli('queue', 'registered', '--db', url), new RegExp(`${name}\\s+4\\s+2\\s+10/60s`));
    const listed = JSON.parse(await cli('queue', 'registered', '--db', url, '--json'));
    assert.deepEqual(
      listed.find((q: { name: string }) => q.name === name),
      {
        name,
        concurrency: 4,
        workerConcurrency: 2,
        rateLimit: { limitPerPeriod: 10, periodSec: 60 },
        partitionConcurrency: null,
        partitionWorkerConcurrency: null,
        partitionRateLimit: null,
        minPollingIntervalMs: 1000,
        applicationName: null,
      },
    );

    // The application's process picks the queue up and runs what is enqueued on it.
    assert.equal(await (await DBOS.startWorkflow(waiting, { queueName: name })('on-registered', false)).getResult(), 'on-registered');

    // Registering again replaces the settings; limits the client rejects are an error (exit 1 from the executable).
    await cli('queue', 'register', name, '--worker-concurrency', '3', '--db', url);
    const [again] = await queryRows(url, 'SELECT concurrency, worker_concurrency, rate_limit_max FROM dbos.queues WHERE name = $1', [name]);
    assert.deepEqual([again!.concurrency, Number(again!.worker_concurrency), again!.rate_limit_max], [null, 3, null]);
    await assert.rejects(main(['queue', 'register', name, '--concurrency', '1', '--worker-concurrency', '2', '--db', url]), /cannot exceed/);
    await assert.rejects(main(['queue', 'register', name, '--rate', 'ten', '--db', url]), UsageError);

    assert.equal(await cli('queue', 'delete', name, '--db', url), `deleted queue ${name}`);
    assert.equal((await queryRows(url, 'SELECT 1 FROM dbos.queues WHERE name = $1', [name])).length, 0);
    await assert.rejects(main(['queue', 'delete', name, '--db', url]), /is not registered/);
  });

  it('reports a usage mistake of the new commands with exit code 2', async () => {
    await assert.rejects(runBin('workflow', 'set-delay', 'some-id', '--db', databaseUrl()), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /workflow set-delay needs <id> <seconds>/);
      return true;
    });
  });
});
