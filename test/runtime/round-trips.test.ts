// The hot paths are budgeted in database round trips (DESIGN.md): start 1, each step 1, complete 1, a replayed step
// 0. These tests count the statements the engine sends, so a change that adds one shows up here.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS } from '../../src/dbos.js';
import { systemDatabaseStats } from '../../src/process/state.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, launchOn } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

const step = DBOS.registerStep(async (n: number) => n + 1, { name: 'plusOne' });
const threeSteps = DBOS.registerWorkflow(
  async (n: number) => {
    const a = await step(n);
    const b = await step(a);
    return step(b);
  },
  { name: 'threeSteps' },
);

let gate = latch();
const pausing = DBOS.registerWorkflow(
  async (n: number) => {
    const a = await step(n);
    const b = await step(a);
    await gate.promise;
    return step(b);
  },
  { name: 'pausing' },
);

const ENGINE_STATEMENTS = /^transact_(insert_workflow|record_step|complete_workflow|claim|get_step|get_outcome|get_workflow)/;

/** Statements of the workflow path sent while `fn` runs (background polling and sweeps are not counted). */
async function countStatements(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const stats = systemDatabaseStats()!;
  const before = new Map(stats.byStatement);
  await fn();
  const counted: Record<string, number> = {};
  for (const [name, count] of stats.byStatement) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0 && (ENGINE_STATEMENTS.test(name) || name === 'BEGIN' || name === 'COMMIT')) counted[name] = delta;
  }
  return counted;
}

after(dropFreshDatabases);

describeEachBackend('round trips', (kind) => {
  const databaseUrl = engineOn(kind, 'rt');

  it('a three-step workflow costs five statements: start, three checkpoints, completion', async () => {
    const counted = await countStatements(async () => {
      assert.equal(await (await DBOS.startWorkflow(threeSteps)(1)).getResult(), 4);
    });
    if (kind === 'postgres') {
      assert.deepEqual(counted, {
        transact_insert_workflow: 1,
        transact_record_step: 3,
        transact_complete_workflow: 1,
      });
    } else {
      // SQLite is in-process: start and completion are small transactions of two statements each.
      assert.equal(counted.transact_record_step, 3);
      assert.equal(counted.transact_insert_workflow, 1);
      assert.equal(counted.transact_complete_workflow, 1);
    }
  });

  it('a replay reads the recorded steps with its claim and re-runs none of them', async () => {
    gate = latch();
    const handle = await DBOS.startWorkflow(pausing, { workflowID: `pausing-${kind}` })(1);
    await waitUntil(async () => (await DBOS.listWorkflowSteps(handle.workflowID))?.length === 2, { message: 'two steps' });
    await DBOS.shutdown(); // the run is abandoned mid-workflow; the next launch recovers it
    gate.release();
    const counted = await (async () => {
      await launchOn(databaseUrl());
      return countStatements(async () => {
        assert.equal(await DBOS.retrieveWorkflow(handle.workflowID).getResult(), 4);
      });
    })();
    assert.equal(counted.transact_record_step, 1, 'only the step that had not run is checkpointed');
    assert.equal(counted.transact_complete_workflow, 1);
    assert.equal(counted.transact_insert_workflow, undefined);
  });
});
