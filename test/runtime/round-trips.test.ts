// The hot paths are budgeted in database round trips (DESIGN.md): start 1, each step 1, complete 1, a replayed step
// 0. These tests count every statement the engine sends, by name, on both backends, and assert the whole map: a change
// that adds a statement anywhere (on a hot path, or to the engine's idle work) shows up here.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS } from '../../src/dbos.js';
import { WorkflowQueue } from '../../src/index.js';
import { systemDatabaseStats } from '../../src/process/state.js';
import { describeEachBackend, dropFreshDatabases, type BackendKind } from '../support/backends.js';
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

const queue = new WorkflowQueue('round-trips');
const receiver = DBOS.registerWorkflow(async () => DBOS.recv<string>('topic', 30), { name: 'receiver' });

/** Every statement sent while `fn` runs, by name (the engine's own background work included: see PERIODIC). */
async function countStatements(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const stats = systemDatabaseStats()!;
  const before = new Map(stats.byStatement);
  await fn();
  const counted: Record<string, number> = {};
  for (const [name, count] of stats.byStatement) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0) counted[name] = delta;
  }
  return counted;
}

/**
 * What the engine sends on its own while it is idle, at most this often in about a second (with the intervals of
 * IDLE_CONFIG): the queue and schedule registries re-read, the delayed-work check and the deadline sweep. An empty
 * claim by the dispatcher is counted apart (CLAIM): it has the same name as a claim that finds work.
 */
const PERIODIC: Record<BackendKind, Record<string, number>> = {
  sqlite: { transact_list_queues: 3, transact_list_schedules: 3, transact_next_delayed: 3, transact_cancel_expired: 3 },
  postgres: { transact_list_queues: 4, transact_list_schedules: 3, transact_promote_delayed: 3, transact_cancel_expired: 3 },
};
/** An empty claim: on SQLite a transaction of two statements, on PostgreSQL one statement. */
const CLAIM: Record<BackendKind, { key: string; unit: Record<string, number> }> = {
  sqlite: { key: 'transact_claim_pick', unit: { BEGIN: 1, COMMIT: 1, transact_claim_figures: 1, transact_claim_pick: 1 } },
  postgres: { key: 'transact_claim', unit: { transact_claim: 1 } },
};
/** Long intervals, so that no heartbeat or poll of a long period falls into a measurement. */
const IDLE_CONFIG = { pollingIntervalMs: 60_000, executorLeaseMs: 600_000, schedulerPollingIntervalMs: 600_000 };

/**
 * `counted` is exactly `expected` (a number, or an inclusive range for a wait that may poll once more), plus any
 * number of empty claims and the periodic statements: a statement of any other name, or one more of an expected
 * one, fails.
 */
function assertStatements(kind: BackendKind, counted: Record<string, number>, expected: Record<string, number | [number, number]>): void {
  const rest = { ...counted };
  const claim = CLAIM[kind];
  const claimed = expected[claim.key];
  const idleClaims = Math.max(0, (rest[claim.key] ?? 0) - (typeof claimed === 'number' ? claimed : 0));
  for (const [name, n] of Object.entries(claim.unit)) rest[name] = (rest[name] ?? 0) - n * idleClaims;
  for (const [name, max] of Object.entries(PERIODIC[kind])) {
    if (!(name in expected) && (rest[name] ?? 0) <= max) delete rest[name];
  }
  for (const name of Object.keys(rest)) if (rest[name] === 0 && !(name in expected)) delete rest[name];
  const within: Record<string, number | [number, number]> = {};
  for (const [name, n] of Object.entries(rest)) {
    const e = expected[name];
    within[name] = Array.isArray(e) && n >= e[0] && n <= e[1] ? e : n;
  }
  assert.deepEqual(within, expected, `every statement sent: ${JSON.stringify(counted)}`);
}

after(dropFreshDatabases);

describeEachBackend('round trips', (kind) => {
  const databaseUrl = engineOn(kind, 'rt', IDLE_CONFIG);

  it('an idle second: only the periodic statements and empty claims', async () => {
    // A little over a second. Each run's deadline is a timer of its own process; the deadline sweep is a safety net
    // (every 10 s on PostgreSQL, 5 s on SQLite: test/ops/idle-cost.test.ts counts a whole idle window).
    const counted = await countStatements(() => new Promise((r) => setTimeout(r, 1200)));
    assertStatements(kind, counted, {});
    assert.ok((counted.transact_cancel_expired ?? 0) <= 1, `the deadline sweep is no longer every second: ${JSON.stringify(counted)}`);
  });

  it('a three-step workflow costs five round trips: start, three checkpoints, completion', async () => {
    const counted = await countStatements(async () => {
      assert.equal(await (await DBOS.startWorkflow(threeSteps)(1)).getResult(), 4);
    });
    if (kind === 'postgres') {
      assertStatements(kind, counted, { transact_insert_workflow: 1, transact_record_step: 3, transact_complete_workflow: 1 });
    } else {
      // SQLite is in-process: start and completion are small transactions of two statements each.
      assertStatements(kind, counted, {
        BEGIN: 2,
        COMMIT: 2,
        transact_insert_workflow: 1,
        transact_insert_input: 1,
        transact_record_step: 3,
        transact_complete_workflow: 1,
        transact_upsert_output: 1,
      });
    }
  });

  it('a queued workflow: the enqueue, one claim that brings its input, three checkpoints, completion', async () => {
    const counted = await countStatements(async () => {
      assert.equal(await (await DBOS.startWorkflow(threeSteps, { queueName: queue.name })(1)).getResult(), 4);
    });
    // The caller is not the run: it waits for the outcome (read once more if it was woken before the completion).
    if (kind === 'postgres') {
      assertStatements(kind, counted, {
        transact_insert_workflow: 1,
        transact_announce_queues: 1,
        transact_claim: 1,
        transact_record_step: 3,
        transact_complete_workflow: 1,
        transact_get_outcome: [1, 3],
      });
    } else {
      assertStatements(kind, counted, {
        BEGIN: 3,
        COMMIT: 3,
        transact_insert_workflow: 1,
        transact_insert_input: 1,
        transact_claim_figures: 1,
        transact_claim_pick: 1,
        transact_claim_mark: 1,
        transact_claimed_details: 1,
        transact_record_step: 3,
        transact_complete_workflow: 1,
        transact_upsert_output: 1,
        transact_get_outcome: [1, 3],
      });
    }
  });

  it('send and recv: the message is sent in one statement and received (and recorded) in one', async () => {
    const counted = await countStatements(async () => {
      const handle = await DBOS.startWorkflow(receiver)();
      await DBOS.send(handle.workflowID, 'hello', 'topic');
      assert.equal(await handle.getResult(), 'hello');
    });
    // The recv's timeout is recorded first (a step), then the message is taken with the recv's own step row.
    if (kind === 'postgres') {
      assertStatements(kind, counted, {
        transact_insert_workflow: 1,
        transact_record_step: 1,
        transact_send: 1,
        transact_recv: [1, 2],
        transact_complete_workflow: 1,
      });
    } else {
      assertStatements(kind, counted, {
        BEGIN: [3, 4],
        COMMIT: [3, 4],
        transact_insert_workflow: 1,
        transact_insert_input: 1,
        transact_record_step: 1,
        transact_send: 1,
        transact_has_message: [1, 2],
        transact_oldest_message: 1,
        transact_owned: 1,
        transact_insert_operation_step: 1,
        transact_consume_message: 1,
        transact_complete_workflow: 1,
        transact_upsert_output: 1,
      });
    }
  });

  it('a replay reads the recorded steps with its claim and re-runs none of them', async () => {
    gate = latch();
    const handle = await DBOS.startWorkflow(pausing, { workflowID: `pausing-${kind}` })(1);
    await waitUntil(async () => (await DBOS.listWorkflowSteps(handle.workflowID))?.length === 2, { message: 'two steps' });
    await DBOS.shutdown(); // the run is abandoned mid-workflow; the next launch recovers it
    gate.release();
    const counted = await (async () => {
      await launchOn(databaseUrl(), IDLE_CONFIG);
      return countStatements(async () => {
        assert.equal(await DBOS.retrieveWorkflow(handle.workflowID).getResult(), 4);
      });
    })();
    assert.equal(counted.transact_record_step, 1, `only the step that had not run is checkpointed: ${JSON.stringify(counted)}`);
    assert.equal(counted.transact_complete_workflow, 1);
    assert.equal(counted.transact_insert_workflow, undefined);
  });
});
