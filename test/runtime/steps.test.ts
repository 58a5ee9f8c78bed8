import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { DBOS, DBOSMaxStepRetriesError, DBOSUnexpectedStepError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, launchOn } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

let attemptTimes: number[] = [];
let failuresLeft = 0;

const flaky = DBOS.registerStep(
  async () => {
    attemptTimes.push(Date.now());
    if (failuresLeft-- > 0) throw new Error(`flaky failure ${attemptTimes.length}`);
    return 'finally';
  },
  { name: 'flaky', retriesAllowed: true, intervalSeconds: 0.05, backoffRate: 2, maxAttempts: 4 },
);

const noRetry = DBOS.registerStep(
  async () => {
    attemptTimes.push(Date.now());
    throw new TypeError('no second chance');
  },
  { name: 'noRetry' },
);

let slowAttempts = 0;
const slowStep = DBOS.registerStep(
  async () => {
    slowAttempts++;
    if (slowAttempts === 1) await new Promise((r) => setTimeout(r, 2000));
    return `attempt ${slowAttempts}`;
  },
  { name: 'slowStep', timeoutMS: 100, retriesAllowed: true, maxAttempts: 2, intervalSeconds: 0.01 },
);
const slowWorkflow = DBOS.registerWorkflow(async () => slowStep(), { name: 'slowWorkflow' });

const retryWorkflow = DBOS.registerWorkflow(async () => flaky(), { name: 'retryWorkflow' });
const noRetryWorkflow = DBOS.registerWorkflow(async () => noRetry(), { name: 'noRetryWorkflow' });

let stepRuns = 0;
const counted = DBOS.registerStep(
  async (label: string, delayMs: number) => {
    stepRuns++;
    await new Promise((r) => setTimeout(r, delayMs));
    return label;
  },
  { name: 'counted' },
);

const parallel = DBOS.registerWorkflow(
  async () => {
    // The step that finishes first is called last: IDs follow call order, not completion order.
    const results = await Promise.all([counted('a', 30), counted('b', 15), counted('c', 0)]);
    const now = await DBOS.now();
    const id = await DBOS.randomUUID();
    return { results, now, id };
  },
  { name: 'parallel' },
);

// A workflow whose code changes between runs: the replay meets a different step than the one recorded.
let useSecondVersion = false;
let gate = latch();
const first = DBOS.registerStep(async () => 'first', { name: 'first' });
const second = DBOS.registerStep(async () => 'second', { name: 'second' });
const changing = DBOS.registerWorkflow(
  async () => {
    if (useSecondVersion) return second();
    await first();
    await gate.promise; // the "crash" comes while the workflow waits here
    return 'done';
  },
  { name: 'changing' },
);

after(dropFreshDatabases);

describeEachBackend('steps', (kind) => {
  const databaseUrl = engineOn(kind, 'steps');
  beforeEach(() => {
    attemptTimes = [];
    stepRuns = 0;
  });

  it('retries a failing step with exponential backoff until it succeeds', async () => {
    failuresLeft = 2;
    const handle = await DBOS.startWorkflow(retryWorkflow)();
    assert.equal(await handle.getResult(), 'finally');
    assert.equal(attemptTimes.length, 3);
    const gaps = [attemptTimes[1]! - attemptTimes[0]!, attemptTimes[2]! - attemptTimes[1]!];
    assert.ok(gaps[0]! >= 45, `first retry after ${gaps[0]} ms, expected about 50`);
    assert.ok(gaps[1]! >= 95, `second retry after ${gaps[1]} ms, expected about 100`);
    const steps = await DBOS.listWorkflowSteps(handle.workflowID);
    assert.deepEqual(steps?.map((s) => [s.name, s.output, s.error]), [['flaky', 'finally', null]]);
  });

  it('records DBOSMaxStepRetriesError when a step exhausts its attempts', async () => {
    failuresLeft = 100;
    const handle = await DBOS.startWorkflow(retryWorkflow)();
    await assert.rejects(handle.getResult(), (err: Error) => {
      assert.ok(err instanceof DBOSMaxStepRetriesError);
      assert.match(err.message, /flaky failure 4/);
      return true;
    });
    assert.equal(attemptTimes.length, 4);
    const [step] = (await DBOS.listWorkflowSteps(handle.workflowID))!;
    assert.ok(step!.error instanceof DBOSMaxStepRetriesError, 'the recorded error keeps its class');
    assert.equal((await handle.getStatus())?.status, 'ERROR');
    // From the database, the error keeps its class name and message.
    const stored = (await DBOS.getWorkflow(handle.workflowID))?.error as Error;
    assert.equal(stored.name, 'DBOSMaxStepRetriesError');
  });

  it('runs a step without retries once, and the workflow fails with its error', async () => {
    const handle = await DBOS.startWorkflow(noRetryWorkflow)();
    await assert.rejects(handle.getResult(), { name: 'TypeError', message: 'no second chance' });
    assert.equal(attemptTimes.length, 1);
    const fromDatabase = await DBOS.retrieveWorkflow(handle.workflowID).getStatus();
    assert.equal((fromDatabase?.error as Error).name, 'TypeError');
    assert.equal((fromDatabase?.error as Error).message, 'no second chance');
  });

  it('fails an attempt that exceeds the step timeout, and retries it', async () => {
    slowAttempts = 0;
    const started = Date.now();
    assert.equal(await (await DBOS.startWorkflow(slowWorkflow)()).getResult(), 'attempt 2');
    assert.ok(Date.now() - started < 1500, 'the slow first attempt was abandoned at its timeout');
  });

  it('hands out function IDs in call order, so Promise.all over steps records the same IDs', async () => {
    const handle = await DBOS.startWorkflow(parallel)();
    const result = await handle.getResult();
    assert.deepEqual(result.results, ['a', 'b', 'c']);
    const steps = (await DBOS.listWorkflowSteps(handle.workflowID))!;
    assert.deepEqual(
      steps.map((s) => [s.functionID, s.name, s.output]),
      [
        [0, 'counted', 'a'],
        [1, 'counted', 'b'],
        [2, 'counted', 'c'],
        [3, 'DBOS.now', result.now],
        [4, 'DBOS.randomUUID', result.id],
      ],
    );
  });

  it('a step called outside a workflow is a plain call', async () => {
    assert.equal(await counted('plain', 0), 'plain');
    assert.equal(stepRuns, 1);
  });

  it('fails a replay that meets a different step than the one recorded', async () => {
    useSecondVersion = false;
    gate = latch();
    const handle = await DBOS.startWorkflow(changing, { workflowID: `changing-${kind}` })();
    // Wait until the first step is recorded, then stop the process's engine while the workflow is in flight.
    await waitUntil(async () => (await DBOS.listWorkflowSteps(handle.workflowID))?.length, { message: 'the first step' });
    await DBOS.shutdown();
    gate.release();
    useSecondVersion = true;
    await launchOn(databaseUrl()); // recovery replays the workflow with the new code
    await assert.rejects(DBOS.retrieveWorkflow(handle.workflowID).getResult(), (err: Error) => {
      assert.ok(err instanceof DBOSUnexpectedStepError, `got ${err}`);
      assert.match(err.message, /function first was recorded when second was expected/);
      return true;
    });
  });
});
