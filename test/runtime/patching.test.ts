// Patching (dbos-spec §3.6): a workflow's code changes while executions of the old code are unfinished. The engine
// is shut down with executions waiting in DBOS.recv (they stay PENDING), the "new code" is a module flag the test
// flips, and the next launch (same executor, same PATCHING_ENABLED version) recovers them under it.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSInitializationError, DBOSInvalidWorkflowTransitionError, DBOSUnexpectedStepError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn, TEST_VERSION } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';

/** 1: before the patch; 2: `patch('fix')` chooses the branch; 3: `deprecatePatch('fix')`, the old branch removed. */
let code: 1 | 2 | 3 = 1;
const runs = new Map<string, number>();

function sideEffect(name: string): string {
  const key = `${DBOS.workflowID}:${name}`;
  runs.set(key, (runs.get(key) ?? 0) + 1);
  return name;
}
const timesRun = (workflowID: string, step: string) => runs.get(`${workflowID}:${step}`) ?? 0;

const prepare = DBOS.registerStep(async () => sideEffect('prepare'), { name: 'prepare' });
const oldMiddle = DBOS.registerStep(async () => sideEffect('old'), { name: 'oldMiddle' });
const newMiddle = DBOS.registerStep(async () => sideEffect('new'), { name: 'newMiddle' });

async function middle(): Promise<string> {
  if (code === 1) return oldMiddle();
  if (code === 2) return (await DBOS.patch('fix')) ? newMiddle() : oldMiddle();
  await DBOS.deprecatePatch('fix');
  return newMiddle();
}

/** The patch point comes before the wait: an execution paused in recv has got past it. */
const patchedEarly = DBOS.registerWorkflow(
  async () => {
    await prepare();
    const branch = await middle();
    return `${branch}:${await DBOS.recv<string>('go', 60)}`;
  },
  { name: 'patchedEarly' },
);

/** The patch point comes after the wait: an execution paused in recv has not reached it yet. */
const patchedLate = DBOS.registerWorkflow(
  async () => {
    await prepare();
    const message = await DBOS.recv<string>('go', 60);
    return `${await middle()}:${message}`;
  },
  { name: 'patchedLate' },
);

const patchOutsideWorkflowCode = DBOS.registerWorkflow(
  async (where: 'workflow' | 'step', which: 'patch' | 'deprecatePatch') => {
    const call = () => (which === 'patch' ? DBOS.patch('fix') : DBOS.deprecatePatch('fix'));
    return where === 'workflow' ? call() : DBOS.runStep(call, { name: 'patchInStep' });
  },
  { name: 'patchOutsideWorkflowCode' },
);

/** The workflow's recorded steps as `functionID name`. */
async function stepNames(workflowID: string): Promise<string[]> {
  return ((await DBOS.listWorkflowSteps(workflowID)) ?? []).map((s) => `${s.functionID} ${s.name}`);
}

/** Waits until the workflow is waiting for its message (recv's deadline is recorded as DBOS.sleep first). */
function waitingInRecv(workflowID: string): Promise<boolean> {
  return waitUntil(async () => (await stepNames(workflowID)).some((s) => s.endsWith(' DBOS.sleep')), { message: `${workflowID} waiting in recv` });
}

/** Restarts the engine on the same database with the code at `next`; PENDING executions are recovered under it. */
async function restartWithCode(url: string, next: typeof code): Promise<void> {
  await DBOS.shutdown();
  code = next;
  await launchPatching(url);
}

// No explicit version: with patching enabled the version is PATCHING_ENABLED, whatever the code.
const launchPatching = (url: string) => launchOn(url, { enablePatching: true, applicationVersion: undefined });

after(dropFreshDatabases);
afterEach(() => DBOS.shutdown());

describeEachBackend('patching', (kind) => {
  it('keeps an execution that got past the patch point on the old branch, and sends new ones down the new branch', async () => {
    const url = freshDatabase(kind, 'patch');
    code = 1;
    await launchPatching(url);
    assert.equal(DBOS.applicationVersion, 'PATCHING_ENABLED');
    const early = `early-${kind}`;
    const late = `late-${kind}`;
    await DBOS.startWorkflow(patchedEarly, { workflowID: early })();
    await DBOS.startWorkflow(patchedLate, { workflowID: late })();
    await Promise.all([waitingInRecv(early), waitingInRecv(late)]);

    await restartWithCode(url, 2);
    await DBOS.send(early, 'go', 'go');
    await DBOS.send(late, 'go', 'go');
    // The old execution finds oldMiddle at the patch's function ID: patch() is false and leaves the ID to it.
    assert.equal(await DBOS.retrieveWorkflow(early).getResult(), 'old:go');
    assert.deepEqual(await stepNames(early), ['0 prepare', '1 oldMiddle', '2 DBOS.recv', '3 DBOS.sleep']);
    assert.equal(timesRun(early, 'old'), 1, 'the recorded old step was replayed, not run again');
    assert.equal(timesRun(early, 'new'), 0);
    // The one paused before the patch point had recorded nothing there: it records the marker and runs the new code.
    assert.equal(await DBOS.retrieveWorkflow(late).getResult(), 'new:go');
    assert.deepEqual(await stepNames(late), ['0 prepare', '1 DBOS.recv', '2 DBOS.sleep', '3 DBOS.patch-fix', '4 newMiddle']);

    const fresh = `fresh-${kind}`;
    const handle = await DBOS.startWorkflow(patchedEarly, { workflowID: fresh })();
    await DBOS.send(fresh, 'go', 'go');
    assert.equal(await handle.getResult(), 'new:go');
    assert.deepEqual(await stepNames(fresh), ['0 prepare', '1 DBOS.patch-fix', '2 newMiddle', '3 DBOS.recv', '4 DBOS.sleep']);
    assert.equal(timesRun(fresh, 'old'), 0);
  });

  it('replays a recorded patch marker as true, and deprecatePatch skips it without writing one of its own', async () => {
    const url = freshDatabase(kind, 'deprecate');
    code = 1;
    await launchPatching(url);
    const unpatched = `unpatched-${kind}`;
    await DBOS.startWorkflow(patchedEarly, { workflowID: unpatched })();
    await waitingInRecv(unpatched);

    await restartWithCode(url, 2);
    const patchedOnce = `patched-once-${kind}`;
    const patchedTwice = `patched-twice-${kind}`;
    await DBOS.startWorkflow(patchedEarly, { workflowID: patchedOnce })();
    await DBOS.startWorkflow(patchedEarly, { workflowID: patchedTwice })();
    await Promise.all([waitingInRecv(patchedOnce), waitingInRecv(patchedTwice)]);

    // Same code again: the marker is found, so patch() is true and newMiddle keeps its ID.
    await restartWithCode(url, 2);
    await DBOS.send(patchedOnce, 'go', 'go');
    assert.equal(await DBOS.retrieveWorkflow(patchedOnce).getResult(), 'new:go');
    assert.deepEqual(await stepNames(patchedOnce), ['0 prepare', '1 DBOS.patch-fix', '2 newMiddle', '3 DBOS.recv', '4 DBOS.sleep']);
    assert.equal(timesRun(patchedOnce, 'new'), 1, 'replayed, not run again');

    // The patch deprecated: a patched execution's marker is skipped, and new executions record none.
    await restartWithCode(url, 3);
    await DBOS.send(patchedTwice, 'go', 'go');
    assert.equal(await DBOS.retrieveWorkflow(patchedTwice).getResult(), 'new:go');
    assert.deepEqual(await stepNames(patchedTwice), ['0 prepare', '1 DBOS.patch-fix', '2 newMiddle', '3 DBOS.recv', '4 DBOS.sleep']);
    assert.equal(timesRun(patchedTwice, 'new'), 1);

    const fresh = `deprecated-fresh-${kind}`;
    const handle = await DBOS.startWorkflow(patchedEarly, { workflowID: fresh })();
    await DBOS.send(fresh, 'go', 'go');
    assert.equal(await handle.getResult(), 'new:go');
    assert.deepEqual(await stepNames(fresh), ['0 prepare', '1 newMiddle', '2 DBOS.recv', '3 DBOS.sleep']);

    // deprecatePatch does not take the ID of a step that is not its marker: an unpatched execution still unfinished
    // meets newMiddle where oldMiddle was recorded (why the old branch goes only once those executions are done).
    await assert.rejects(DBOS.retrieveWorkflow(unpatched).getResult(), DBOSUnexpectedStepError);
    assert.equal(timesRun(unpatched, 'new'), 0);
  });

  it('refuses patch and deprecatePatch outside workflow code and without enablePatching', async () => {
    const url = freshDatabase(kind, 'patch_errors');
    await launchPatching(url);
    await assert.rejects(DBOS.patch('fix'), DBOSInvalidWorkflowTransitionError);
    await assert.rejects(DBOS.deprecatePatch('fix'), DBOSInvalidWorkflowTransitionError);
    await assert.rejects(patchOutsideWorkflowCode('step', 'patch'), DBOSInvalidWorkflowTransitionError);
    await assert.rejects(patchOutsideWorkflowCode('step', 'deprecatePatch'), DBOSInvalidWorkflowTransitionError);
    assert.equal(await patchOutsideWorkflowCode('workflow', 'patch'), true);
    await DBOS.shutdown();

    // Without enablePatching (and with an explicit version, which patching would not have replaced anyway).
    await launchOn(url, { enablePatching: false });
    assert.equal(DBOS.applicationVersion, TEST_VERSION);
    await assert.rejects(patchOutsideWorkflowCode('workflow', 'patch'), DBOSInitializationError);
    await assert.rejects(patchOutsideWorkflowCode('workflow', 'deprecatePatch'), DBOSInitializationError);
    await assert.rejects(DBOS.patch('fix'), DBOSInitializationError);
  });

  it('keeps an explicit application version when patching is enabled', async () => {
    await launchOn(freshDatabase(kind, 'patch_version'), { enablePatching: true });
    assert.equal(DBOS.applicationVersion, TEST_VERSION);
  });
});
