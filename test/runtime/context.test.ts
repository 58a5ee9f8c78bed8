// What a workflow can ask about where it runs, DBOS.getResult with a timeout, and DBOS's error codes.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as transact from '../../src/index.js';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch } from '../support/wait.js';

const seen: Record<string, unknown>[] = [];
const look = (where: string) =>
  seen.push({
    where,
    workflowID: DBOS.workflowID,
    stepID: DBOS.stepID,
    inWorkflow: DBOS.isInWorkflow(),
    withinWorkflow: DBOS.isWithinWorkflow(),
    inStep: DBOS.isInStep(),
    attempt: DBOS.stepStatus?.currentAttempt,
  });
const lookingStep = DBOS.registerStep(async () => look('step'), { name: 'lookingStep' });
const lookingWorkflow = DBOS.registerWorkflow(
  async () => {
    look('workflow');
    await DBOS.now();
    await lookingStep();
  },
  { name: 'lookingWorkflow' },
);

let gate = latch();
const blocked = DBOS.registerWorkflow(
  async () => {
    await gate.promise;
    return 'finally';
  },
  { name: 'blocked' },
);

after(dropFreshDatabases);

describeEachBackend('the workflow context', (kind) => {
  engineOn(kind, 'ctx');

  it('tells workflow code and step code apart, with IDs', async () => {
    seen.length = 0;
    look('outside');
    await (await DBOS.startWorkflow(lookingWorkflow, { workflowID: `ctx-${kind}` })()).getResult();
    assert.deepEqual(seen, [
      { where: 'outside', workflowID: undefined, stepID: undefined, inWorkflow: false, withinWorkflow: false, inStep: false, attempt: undefined },
      { where: 'workflow', workflowID: `ctx-${kind}`, stepID: undefined, inWorkflow: true, withinWorkflow: true, inStep: false, attempt: undefined },
      { where: 'step', workflowID: `ctx-${kind}`, stepID: 1, inWorkflow: false, withinWorkflow: true, inStep: true, attempt: 1 },
    ]);
  });

  it('DBOS.getResult returns null when the workflow does not finish in time', async () => {
    gate = latch();
    const handle = await DBOS.startWorkflow(blocked)();
    assert.equal(await DBOS.getResult(handle.workflowID, 0.2), null);
    gate.release();
    assert.equal(await DBOS.getResult(handle.workflowID, 10), 'finally');
  });
});

describe('error codes', () => {
  it('match DBOS’s dbosErrorCode for each class', () => {
    const expected: Record<string, number> = {
      DBOSError: 1,
      DBOSInitializationError: 3,
      DBOSWorkflowConflictError: 5,
      DBOSNotRegisteredError: 6,
      DBOSNonExistentWorkflowError: 16,
      DBOSMaxRecoveryAttemptsExceededError: 18,
      DBOSExecutorNotInitializedError: 20,
      DBOSInvalidWorkflowTransitionError: 21,
      DBOSConflictingWorkflowError: 22,
      DBOSMaxStepRetriesError: 23,
      DBOSWorkflowCancelledError: 24,
      DBOSConflictingRegistrationError: 25,
      DBOSUnexpectedStepError: 26,
      DBOSAwaitedWorkflowCancelledError: 27,
      DBOSQueueDuplicatedError: 28,
      DBOSInvalidQueuePriorityError: 29,
      DBOSAwaitedWorkflowExceededMaxRecoveryAttempts: 30,
      DBOSStepTimeoutError: 31,
      DBOSInvalidWorkflowInputError: 32,
      DBOSStreamTimeoutError: 33,
      DBOSStreamNondeterminismError: 34,
      DBOSQueryTimeoutError: 35,
      DBOSWorkflowIDInUseError: 36,
      DBOSStepNondeterminismError: 37,
    };
    const exports = transact as unknown as Record<string, new (...args: never[]) => { dbosErrorCode: number }>;
    for (const [name, code] of Object.entries(expected)) {
      const cls = exports[name];
      assert.ok(cls, `${name} is exported`);
      const args: Record<string, unknown[]> = { DBOSError: ['x'], DBOSMaxStepRetriesError: ['step', 3, [new Error('e')]] };
      const instance = Reflect.construct(cls, args[name] ?? ['x', 'y', 'z', 'w']) as { dbosErrorCode: number; name: string };
      assert.equal(instance.dbosErrorCode, code, name);
      assert.equal(instance.name, name);
      assert.ok(instance instanceof transact.DBOSError);
    }
  });
});
