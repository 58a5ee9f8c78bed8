// A network partition of one worker. Worker a reaches PostgreSQL (the shared server) only through a TCP proxy that
// the test runs (support/pg-proxy.ts); worker b directly. In the middle of a drain, with a busy with several
// workflows, the proxy black-holes a's connections (nothing passes either way, nothing is closed) for 8 s, well past
// the 3 s lease. b must take a's work over and finish everything; the partition is recorded in the ledger at the
// moment of the takeover (when a's heartbeat row was taken: from then on b may run a's workflows), and explains, like
// a kill at that moment, only the steps a had in flight (support/verdict.ts). Then the partition heals and a's
// held statements reach the server: a must record nothing it no longer owns -- nothing in the system database
// changes, a's ledger has no execution that started after the takeover, and no checkpoint of a's completed after it.
//
// A second scenario black-holes the worker for less than its lease: that only pauses it. Nothing is taken over, it
// finishes its own workflows after the heal, and no step runs twice.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';
import { PgProxy } from './support/pg-proxy.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';
import { failureEvidence, warningsOf } from './support/server-faults.js';
import type { StepOutput } from './support/workload.js';

const LEASE_MS = 3000;
const PARTITION_MS = 8000;
let scenario: Scenario | undefined;
let proxy: PgProxy | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
  await proxy?.close();
  proxy = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once across a network partition',
  () => {
    it(`one worker black-holed for ${PARTITION_MS / 1000} s (lease ${LEASE_MS / 1000} s): the other takes over, the healed one records nothing it lost`, async () => {
      const s = (scenario = await Scenario.create({
        name: 'partition',
        backend: 'postgres',
        workerEnv: {
          FAULT_APP_VERSION: 'faults-v1',
          FAULT_LEASE_MS: String(LEASE_MS),
          FAULT_WORKER_CONCURRENCY: '8',
          FAULT_STEP_MS: '50-200',
          FAULT_GAP_MS: '50-200',
        },
      }));
      proxy = await PgProxy.start(s.systemDatabaseUrl);
      const a = s.cluster.start('a', { executorID: 'a', env: { FAULT_SYSTEM_DB: proxy.via(s.systemDatabaseUrl) } });
      const b = s.cluster.start('b', { executorID: 'b' });
      await Promise.all([a, b].map((w) => s.cluster.ready(w)));

      await s.enqueue(80);
      await waitUntil(async () => (await s.ledger.returnsBy(a.incarnation)) >= 4 && (await s.ledger.inFlightAt(a.incarnation)).length >= 6, {
        timeoutMs: 20_000,
        intervalMs: 5,
        message: 'a busy with six workflows, after finishing four',
      });
      const partitionedAt = Date.now();
      proxy.blackHole();
      const held = await s.ledger.inFlightAt(a.incarnation);

      // The takeover: a's heartbeat row is taken (deleted) in the statement that requeues its workflows. The last
      // moment the row was still seen is the fault's time (the earliest the takeover can have happened).
      let lastSeen = partitionedAt;
      await waitUntil(
        async () => {
          const polledAt = Date.now();
          const rows = await queryRows(s.systemDatabaseUrl, `SELECT 1 FROM dbos.transact_executor_heartbeats WHERE executor_id = 'a'`);
          if (rows.length > 0) lastSeen = polledAt;
          return rows.length === 0;
        },
        { timeoutMs: LEASE_MS * 3, intervalMs: 10, message: "b taking a's work over" },
      );
      const takenOverAt = lastSeen;
      await s.ledger.recordFault(a.incarnation, 'partition', takenOverAt);
      const finished = await s.waitForAll(30_000);
      await pause(Math.max(0, partitionedAt + PARTITION_MS - Date.now())); // the fault schedule: the partition's length
      const before = await s.systemState();
      proxy.heal();
      const healedAt = Date.now();

      // Let a run until it has let go of every workflow body it was in (it no longer owns them).
      const settled = await waitUntil(async () => (await s.cluster.status(a)).inFlight === 0, {
        timeoutMs: 20_000,
        intervalMs: 100,
        message: 'the healed worker letting go of the workflows it lost',
      }).catch((err: Error) => err);
      const after = await s.systemState();
      const verdict = await s.verdict();
      for (const line of await failureEvidence(s)) console.log(`partition: ${line}`);

      const executions = await s.ledger.executions();
      const mine = executions.filter((e) => e.incarnation === a.incarnation);
      const duringPartition = mine.filter((e) => e.atMs >= partitionedAt && e.atMs <= takenOverAt);
      // Step executions only: a body already past its last step (whose checkpoint committed before the partition, its
      // reply held back until the heal) may still return; its completion is fenced and changes nothing.
      const afterTakeover = mine.filter((e) => e.atMs > takenOverAt && e.kind !== 'return');
      const lateCheckpoints = [...after.values()].flatMap((w) =>
        w.steps
          .filter((c) => (c.output as StepOutput | undefined)?.by === a.incarnation && (c.completedAtMs ?? 0) > takenOverAt)
          .map((c) => `${w.workflowID} step ${c.functionID} completed at ${c.completedAtMs}`),
      );
      console.log(
        `partition: a held ${held.length} workflows when black-holed; taken over ${takenOverAt - partitionedAt} ms into the partition ` +
          `(lease ${LEASE_MS} ms); all finished: ${finished}; healed after ${healedAt - partitionedAt} ms; a started ${duringPartition.length} ` +
          `executions between the partition and the takeover, ${afterTakeover.length} after it; a's warnings: ` +
          warningsOf(a.worker.stderr(), 3).join(' // ').slice(0, 600),
      );
      const failures: string[] = [];
      const check = (fn: () => void) => {
        try {
          fn();
        } catch (err) {
          failures.push((err as Error).message);
        }
      };
      check(() => assertPromiseKept(verdict, s.cluster));
      check(() => assert.equal(finished, true, 'b finished everything during the partition'));
      check(() =>
        assert.deepEqual(
          afterTakeover.map((e) => `${e.workflowID} ${e.kind} ${e.step} at ${e.atMs}`),
          [],
          'a started no step after its work was taken over',
        ),
      );
      check(() => assert.deepEqual(lateCheckpoints, [], 'no checkpoint of a completed after the takeover'));
      check(() => assert.deepEqual(after, before, "b's results stand: the healed a changed nothing in the system database"));
      check(() => assert.equal(settled, true, `a let go of what it lost: ${settled}`));
      for (const id of held) check(() => assert.equal(before.get(id)?.executorID, 'b', `${id} was finished by b`));
      assert.deepEqual(failures, []);
    });

    it('a partition shorter than the lease only pauses the worker: nothing is taken over, nothing runs twice', async () => {
      const SHORT_LEASE_MS = 6000;
      const SHORT_PARTITION_MS = 1500;
      const s = (scenario = await Scenario.create({
        name: 'partition-short',
        backend: 'postgres',
        workerEnv: {
          FAULT_APP_VERSION: 'faults-v1',
          FAULT_LEASE_MS: String(SHORT_LEASE_MS),
          FAULT_WORKER_CONCURRENCY: '8',
          FAULT_STEP_MS: '50-200',
          FAULT_GAP_MS: '50-200',
        },
      }));
      proxy = await PgProxy.start(s.systemDatabaseUrl);
      const a = s.cluster.start('a', { executorID: 'a', env: { FAULT_SYSTEM_DB: proxy.via(s.systemDatabaseUrl) } });
      const b = s.cluster.start('b', { executorID: 'b' });
      await Promise.all([a, b].map((w) => s.cluster.ready(w)));
      const incarnationOfA = async () =>
        (await queryRows(s.systemDatabaseUrl, `SELECT incarnation FROM dbos.transact_executor_heartbeats WHERE executor_id = 'a'`))[0]?.incarnation;
      const heldBy = await incarnationOfA();

      await s.enqueue(60);
      await waitUntil(async () => (await s.ledger.inFlightAt(a.incarnation)).length >= 6, {
        timeoutMs: 20_000,
        intervalMs: 5,
        message: 'a busy with six workflows',
      });
      const partitionedAt = Date.now();
      proxy.blackHole();
      const held = await s.ledger.inFlightAt(a.incarnation);
      // Shorter than the lease, it is an outage as a sees it: a fault that explains nothing.
      await s.ledger.recordFault(a.incarnation, 'short-outage', partitionedAt);
      await pause(SHORT_PARTITION_MS); // the fault schedule: the partition's length
      const stillHeld = await incarnationOfA();
      proxy.heal();
      const finished = await s.waitForAll(30_000);
      const verdict = await s.verdict();
      const states = await s.systemState();
      for (const line of await failureEvidence(s)) console.log(`partition-short: ${line}`);
      console.log(
        `partition-short: a held ${held.length} workflows when black-holed for ${SHORT_PARTITION_MS} ms ` +
          `(lease ${SHORT_LEASE_MS} ms); all finished: ${finished}; a's warnings: ${warningsOf(a.worker.stderr(), 3).join(' // ').slice(0, 400) || 'none'}`,
      );
      assert.equal(verdict.counts.faults['short-outage'], 1);
      assertPromiseKept(verdict, s.cluster);
      assert.equal(verdict.counts.allowedExtra, 0, 'no lease lapsed and no process died: no step may have run twice');
      assert.equal(stillHeld, heldBy, "a's heartbeat row was not taken during the partition");
      for (const id of held) assert.equal(states.get(id)?.executorID, 'a', `${id} was finished by a, which kept it`);
    });
  },
  ['postgres'],
);
