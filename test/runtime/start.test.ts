import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import {
  DBOS,
  DBOSAwaitedWorkflowCancelledError,
  DBOSConflictingWorkflowError,
  DBOSError,
  DBOSInvalidQueuePriorityError,
  DBOSInvalidWorkflowInputError,
  DBOSNotRegisteredError,
  DBOSSerializationError,
  DBOSWorkflowIDInUseError,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch } from '../support/wait.js';

let runs = 0;
let gate = latch();
const slow = DBOS.registerWorkflow(
  async (x: number) => {
    runs++;
    await gate.promise;
    return x * 10;
  },
  { name: 'slow' },
);
const other = DBOS.registerWorkflow(async (x: number) => x, { name: 'other' });

class CustomError extends Error {
  constructor(
    message: string,
    readonly detail: { code: number },
  ) {
    super(message);
    this.name = 'CustomError';
  }
}
const failing = DBOS.registerWorkflow(
  async () => {
    throw new CustomError('out of stock', { code: 42 });
  },
  { name: 'failing' },
);

const child = DBOS.registerWorkflow(async (n: number) => `child ${n} of ${DBOS.workflowID}`, { name: 'child' });
const parent = DBOS.registerWorkflow(
  async () => {
    const direct = await child(1); // function IDs 0 (start) and 1 (DBOS.getResult)
    const handle = await DBOS.startWorkflow(child)(2); // function ID 2
    const named = await DBOS.startWorkflow(child, { workflowID: `${DBOS.workflowID}-named` })(3); // 3
    return [direct, await handle.getResult(), handle.workflowID, await named.getResult()];
  },
  { name: 'parent' },
);

const sleeper = DBOS.registerWorkflow(
  async (ms: number) => {
    await DBOS.sleepms(ms);
    return 'woke';
  },
  { name: 'sleeper' },
);
const sleepyParent = DBOS.registerWorkflow(
  async () => {
    const h = await DBOS.startWorkflow(sleeper)(10_000);
    return h.getResult();
  },
  { name: 'sleepyParent' },
);

after(dropFreshDatabases);

describeEachBackend('starting workflows', (kind) => {
  engineOn(kind, 'start');
  beforeEach(() => {
    runs = 0;
    gate = latch();
  });

  const rowCount = async () => (await DBOS.listWorkflows({})).length;

  it('runs a workflow ID once, however often it is started', async () => {
    const id = `once-${kind}`;
    const [h1, h2] = await Promise.all([
      DBOS.startWorkflow(slow, { workflowID: id })(1),
      DBOS.startWorkflow(slow, { workflowID: id })(2),
    ]);
    gate.release();
    const result = await h1.getResult();
    assert.ok(result === 10 || result === 20, 'one of the two starts won');
    assert.equal(await h2.getResult(), result, 'the other attached to the same run');
    const h3 = await DBOS.startWorkflow(slow, { workflowID: id })(3);
    assert.equal(await h3.getResult(), result, 'a start after completion returns the recorded result');
    assert.equal(await DBOS.withNextWorkflowID(id, () => slow(4)), result);
    assert.equal(runs, 1);
  });

  it('rejects a reused ID under the reject policy', async () => {
    gate.release();
    const id = `reject-${kind}`;
    await (await DBOS.startWorkflow(slow, { workflowID: id })(1)).getResult();
    await assert.rejects(DBOS.startWorkflow(slow, { workflowID: id, workflowIDReusePolicy: 'reject' })(1), DBOSWorkflowIDInUseError);
  });

  it('returns a thrown workflow error from getResult with its class name, message and fields', async () => {
    const handle = await DBOS.startWorkflow(failing)();
    await assert.rejects(handle.getResult(), (err: CustomError) => err instanceof CustomError && err.detail.code === 42);
    const fromDatabase = await DBOS.retrieveWorkflow(handle.workflowID).getStatus();
    assert.equal(fromDatabase?.status, 'ERROR');
    const stored = fromDatabase?.error as CustomError;
    assert.equal(stored.name, 'CustomError');
    assert.equal(stored.message, 'out of stock');
    assert.deepEqual(stored.detail, { code: 42 });
  });

  it('gives child workflows the ID <parentID>-<functionID>, and their handles survive replay', async () => {
    const id = `parent-${kind}`;
    const result = await DBOS.startWorkflow(parent, { workflowID: id })();
    assert.deepEqual(await result.getResult(), [`child 1 of ${id}-0`, `child 2 of ${id}-2`, `${id}-2`, `child 3 of ${id}-named`]);
    const steps = (await DBOS.listWorkflowSteps(id))!;
    assert.deepEqual(
      steps.map((s) => [s.functionID, s.name, s.childWorkflowID]),
      [
        [0, 'child', `${id}-0`],
        [1, 'DBOS.getResult', `${id}-0`],
        [2, 'child', `${id}-2`],
        [3, 'child', `${id}-named`],
        [4, 'DBOS.getResult', `${id}-2`],
        [5, 'DBOS.getResult', `${id}-named`],
      ],
    );
    const children = await DBOS.listWorkflows({ parentWorkflowID: id });
    assert.equal(children.length, 3);
  });

  it('cancels a workflow past its timeout, and its children with it', async () => {
    const handle = await DBOS.startWorkflow(sleepyParent, { timeoutMS: 300 })();
    const started = Date.now();
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    assert.ok(Date.now() - started < 5000, 'cancelled at the deadline, not after the 10 s sleep');
    assert.equal((await handle.getStatus())?.status, 'CANCELLED');
    const [childStatus] = await DBOS.listWorkflows({ parentWorkflowID: handle.workflowID });
    assert.ok(childStatus?.deadlineEpochMS, 'the child inherited the deadline');
    await assert.rejects(DBOS.retrieveWorkflow(childStatus!.workflowID).getResult(), DBOSAwaitedWorkflowCancelledError);
  });

  it('rejects bad input with a typed error and writes nothing', async () => {
    const before = await rowCount();
    const unregistered = async (x: number) => x;
    await assert.rejects(DBOS.startWorkflow(unregistered)(1), DBOSNotRegisteredError);
    await assert.rejects(DBOS.startWorkflow(other)((() => 1) as never), (err: Error) => {
      assert.ok(err instanceof DBOSSerializationError && err instanceof DBOSInvalidWorkflowInputError);
      assert.match(err.message, /args\[0\]/);
      return true;
    });
    // (A queue nobody declared is not bad input: the workflow waits for it, see test/queues/undeclared-queue.test.ts.)
    await assert.rejects(DBOS.startWorkflow(other, { enqueueOptions: { priority: 1 } })(1), DBOSError);
    await assert.rejects(
      DBOS.startWorkflow(other, { queueName: '_dbos_internal_queue', enqueueOptions: { priority: -1 } })(1),
      DBOSInvalidQueuePriorityError,
    );
    assert.equal(await rowCount(), before, 'no row was written');

    gate.release();
    const id = `conflict-${kind}`;
    await (await DBOS.startWorkflow(slow, { workflowID: id })(1)).getResult();
    await assert.rejects(DBOS.startWorkflow(other, { workflowID: id })(1), DBOSConflictingWorkflowError);
    assert.equal(await rowCount(), before + 1);
    assert.equal((await DBOS.getWorkflowStatus(id))?.workflowName, 'slow', 'the existing workflow is untouched');
  });

  it('lists workflows with filters, order and paging', async () => {
    gate.release();
    const prefix = `list-${kind}-`;
    for (const i of [1, 2, 3]) await (await DBOS.startWorkflow(other, { workflowID: `${prefix}${i}` })(i)).getResult();
    const all = await DBOS.listWorkflows({ workflow_id_prefix: prefix });
    assert.deepEqual(all.map((w) => w.workflowID), [`${prefix}1`, `${prefix}2`, `${prefix}3`]);
    const desc = await DBOS.listWorkflows({ workflow_id_prefix: prefix, sortDesc: true, limit: 2 });
    assert.deepEqual(desc.map((w) => w.workflowID), [`${prefix}3`, `${prefix}2`]);
    const paged = await DBOS.listWorkflows({ workflow_id_prefix: prefix, limit: 1, offset: 1 });
    assert.deepEqual(paged.map((w) => w.workflowID), [`${prefix}2`]);
    const byName = await DBOS.listWorkflows({ workflowName: 'other', status: 'SUCCESS', workflowIDs: [`${prefix}2`] });
    assert.deepEqual(byName.map((w) => [w.workflowID, w.output]), [[`${prefix}2`, 2]]);
    assert.equal((await DBOS.listWorkflows({ workflow_id_prefix: prefix, status: 'ERROR' })).length, 0);
    const noPayloads = await DBOS.listWorkflows({ workflow_id_prefix: prefix, loadInput: false, loadOutput: false });
    assert.equal(noPayloads[0]?.input, undefined);
    assert.equal(noPayloads[0]?.output, undefined);
  });
});
