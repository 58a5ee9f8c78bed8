// Cancel, resume and fork, from inside the application and from a client.

import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { DBOS, DBOSAwaitedWorkflowCancelledError, DBOSClient, DBOSNonExistentWorkflowError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

const ran: string[] = [];
const work = DBOS.registerStep(
  async (label: string) => {
    ran.push(label);
    return `${label} done`;
  },
  { name: 'work' },
);

let gate = latch();
const gated = DBOS.registerWorkflow(
  async () => {
    const first = await work('first');
    await gate.promise; // cancelled while waiting here
    const second = await work('second');
    return [first, second];
  },
  { name: 'gated' },
);

const threeSteps = DBOS.registerWorkflow(
  async (tag: string) => [await work(`${tag}-0`), await work(`${tag}-1`), await work(`${tag}-2`)],
  { name: 'threeSteps' },
);

const longSleep = DBOS.registerWorkflow(
  async () => {
    await DBOS.sleepSeconds(60);
    return 'slept';
  },
  { name: 'longSleep' },
);

after(dropFreshDatabases);

describeEachBackend('workflow management', (kind) => {
  const databaseUrl = engineOn(kind, 'mgmt');
  beforeEach(() => {
    ran.length = 0;
    gate = latch();
  });

  it('cancels a running workflow: it stops at its next step, and waiters get DBOSAwaitedWorkflowCancelledError', async () => {
    const handle = await DBOS.startWorkflow(gated, { workflowID: `cancel-${kind}` })();
    await waitUntil(() => ran.includes('first'));
    await DBOS.cancelWorkflow(handle.workflowID);
    gate.release();
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    assert.deepEqual(ran, ['first'], 'the step after the cancel did not run');
    assert.equal((await handle.getStatus())?.status, 'CANCELLED');
  });

  it('resumes a cancelled workflow after its last recorded step', async () => {
    const handle = await DBOS.startWorkflow(gated, { workflowID: `resume-${kind}` })();
    await waitUntil(() => ran.includes('first'));
    await DBOS.cancelWorkflow(handle.workflowID);
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    gate.release();
    const resumed = await DBOS.resumeWorkflow<string[]>(handle.workflowID);
    assert.deepEqual(await resumed.getResult(), ['first done', 'second done']);
    assert.deepEqual(ran, ['first', 'second'], 'first ran once, before the cancel');
    assert.equal((await resumed.getStatus())?.status, 'SUCCESS');
  });

  it('forks a workflow from a step: earlier steps are kept, later ones run again', async () => {
    const original = await DBOS.startWorkflow(threeSteps, { workflowID: `original-${kind}` })('o');
    await original.getResult();
    ran.length = 0;
    const fork = await DBOS.forkWorkflow<string[]>(original.workflowID, 1, { newWorkflowID: `fork-${kind}` });
    assert.deepEqual(await fork.getResult(), ['o-0 done', 'o-1 done', 'o-2 done']);
    assert.deepEqual(ran, ['o-1', 'o-2'], 'step 0 was copied, not run');
    const status = await fork.getStatus();
    assert.equal(status?.forkedFrom, original.workflowID);
    assert.equal((await original.getStatus())?.wasForkedFrom, true);
  });

  it('cancels, resumes and forks from a DBOSClient in another process', async () => {
    const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
    try {
      const sleeping = await DBOS.startWorkflow(longSleep, { workflowID: `sleeper-${kind}` })();
      await waitUntil(async () => (await DBOS.listWorkflowSteps(sleeping.workflowID))?.length === 1);
      const started = Date.now();
      await client.cancelWorkflow(sleeping.workflowID);
      await assert.rejects(sleeping.getResult(), DBOSAwaitedWorkflowCancelledError);
      assert.ok(Date.now() - started < 5000, 'the sleeping run noticed the cancel without sleeping a minute');

      const done = await DBOS.startWorkflow(threeSteps, { workflowID: `client-original-${kind}` })('c');
      await done.getResult();
      ran.length = 0;
      const forkID = await client.forkWorkflow(done.workflowID, 2);
      assert.deepEqual(await client.retrieveWorkflow(forkID).getResult({ pollingIntervalMs: 50 }), ['c-0 done', 'c-1 done', 'c-2 done']);
      assert.deepEqual(ran, ['c-2']);

      await assert.rejects(client.resumeWorkflow('no-such-workflow'), DBOSNonExistentWorkflowError);
      await assert.rejects(DBOS.forkWorkflow('no-such-workflow', 0), DBOSNonExistentWorkflowError);
    } finally {
      await client.destroy();
    }
  });
});
