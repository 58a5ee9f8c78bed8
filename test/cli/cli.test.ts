// The operator's command line, against a database an application is running on.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { DBOS, DBOSAwaitedWorkflowCancelledError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
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
    await gate.promise;
    return [a, await step(`${tag}-b`)];
  },
  { name: 'twoSteps' },
);

async function cli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const code = await main(args, (line) => lines.push(line));
  assert.equal(code, 0, lines.join('\n'));
  return lines.join('\n');
}

after(dropFreshDatabases);

describeEachBackend('the transact command line', (kind) => {
  const databaseUrl = engineOn(kind, 'cli');

  it('lists workflows, shows one and its steps', async () => {
    gate = latch();
    gate.release();
    await (await DBOS.startWorkflow(twoSteps, { workflowID: `cli-${kind}` })('x')).getResult();
    const list = await cli('workflow', 'list', '--db', databaseUrl());
    assert.match(list, new RegExp(`cli-${kind}\\s+twoSteps\\s+SUCCESS`));
    const listed = JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--status', 'SUCCESS', '--json'));
    assert.ok(listed.some((w: { workflowID: string }) => w.workflowID === `cli-${kind}`));
    assert.match(await cli('workflow', 'get', `cli-${kind}`, '--db', databaseUrl()), /status\s+SUCCESS[\s\S]*output\s+\["x-a!","x-b!"\]/);
    const steps = await cli('workflow', 'steps', `cli-${kind}`, '--db', databaseUrl());
    assert.match(steps, /0\s+shout\s+x-a!/);
    assert.match(steps, /1\s+shout\s+x-b!/);
    // --app scopes the listing to one application (and unclaimed rows).
    const own = JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--app', TEST_APP, '--json'));
    assert.ok(own.some((w: { workflowID: string }) => w.workflowID === `cli-${kind}`));
    assert.deepEqual(JSON.parse(await cli('workflow', 'list', '--db', databaseUrl(), '--app', 'another-app', '--json')), []);
  });

  it('cancels, resumes and forks', async () => {
    gate = latch();
    ran.length = 0;
    const handle = await DBOS.startWorkflow(twoSteps, { workflowID: `cli-ops-${kind}` })('y');
    await waitUntil(() => ran.includes('y-a'));
    assert.equal(await cli('workflow', 'cancel', handle.workflowID, '--db', databaseUrl()), `cancelled ${handle.workflowID}`);
    // Returns once this process's run has stopped (on SQLite it learns of another process's cancel by polling).
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    gate.release();
    await cli('workflow', 'resume', handle.workflowID, '--db', databaseUrl());
    assert.deepEqual(await DBOS.retrieveWorkflow(handle.workflowID).getResult(), ['y-a!', 'y-b!']);
    const forked = JSON.parse(await cli('workflow', 'fork', handle.workflowID, '--step', '1', '--new-id', `cli-fork-${kind}`, '--db', databaseUrl(), '--json'));
    assert.equal(forked.workflowID, `cli-fork-${kind}`);
    assert.deepEqual(await DBOS.retrieveWorkflow(forked.workflowID).getResult(), ['y-a!', 'y-b!']);
    assert.deepEqual(ran, ['y-a', 'y-b', 'y-b'], 'the fork re-ran only the step from its fork point');
  });

  it('runs as an executable and reports usage errors with exit code 2', async () => {
    const require = createRequire(import.meta.url);
    const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
    const run = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', require.resolve('tsx'), bin, ...args]);
    const { stdout } = await run('workflow', 'list', '--db', databaseUrl(), '--json');
    assert.ok(Array.isArray(JSON.parse(stdout)));
    await assert.rejects(run('workflow', 'get', '--db', databaseUrl()), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /needs a workflow ID/);
      return true;
    });
  });
});
