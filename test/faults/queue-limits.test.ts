// A queue with a global concurrency and a rate limit (new WorkflowQueue(name, {concurrency, rateLimit})) drained by
// three workers while every backend of the system database is terminated again and again (six times), and the
// server -- one the test runs itself -- is restarted once with `-m immediate`. Such a queue's claim runs in a
// transaction (an advisory lock, then the claim), so a backend killed inside it must not crash the worker: no
// process may die. The limits must hold throughout, measured from the ledger: at most `concurrency` workflows
// between first step and return at any moment, and at most `limitPerPeriod` first steps within any window of the
// period (less a tolerance for the time from claim to first step). And exactly once: no fault here explains an
// execution (support/verdict.ts).

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { queryRows } from '../support/rows.js';
import { databaseOf, FaultPostgres, faultPostgresUnavailable } from './support/pg-server.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';
import {
  failureEvidence,
  maxInWindow,
  maxOverlap,
  recordServerFault,
  returnedTwice,
  runSpans,
  waitForReturns,
} from './support/server-faults.js';

const WORKFLOWS = 200;
const CONCURRENCY = 5;
const RATE = { limitPerPeriod: 15, periodSec: 1 };
/** The longest a claimed workflow may plausibly wait for its first step (in the rate check's favour). */
const CLAIM_TO_STEP_TOLERANCE_MS = 150;
let scenario: Scenario | undefined;
let server: FaultPostgres | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
  server?.destroy();
  server = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'queue limits and exactly once under backend kills and a restart',
  () => {
    it(`concurrency ${CONCURRENCY}, rate ${RATE.limitPerPeriod}/${RATE.periodSec}s: six rounds of backend kills and one restart`, { skip: faultPostgresUnavailable }, async () => {
      server = await FaultPostgres.create();
      const url = server.url('transact_faults');
      const s = (scenario = await Scenario.create({
        name: 'queue-limits',
        backend: 'postgres',
        systemDatabaseUrl: url,
        queue: 'limited',
        workerEnv: {
          FAULT_QUEUE: 'faults', // the fixture's plain queue, unused; fault-extras.ts declares the limited one
          FAULT_LIMITED_QUEUE: 'limited',
          FAULT_LIMITED_CONCURRENCY: String(CONCURRENCY),
          FAULT_LIMITED_RATE: `${RATE.limitPerPeriod}/${RATE.periodSec}`,
          FAULT_APP_VERSION: 'faults-v1',
          FAULT_LEASE_MS: '10000',
          FAULT_WORKER_CONCURRENCY: '10',
          FAULT_STEP_MS: '30-120',
        },
      }));
      const workers = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(workers.map((w) => s.cluster.ready(w)));

      const started = Date.now();
      await s.enqueue(WORKFLOWS, 20);
      await waitForReturns(s, 15, 30_000);
      const schedule: string[] = [];
      for (let round = 1; round <= 6; round++) {
        await pause(800 + Math.random() * 700); // the fault schedule
        const atMs = Date.now();
        const ended = await server.terminateBackends(databaseOf(url));
        await recordServerFault(s, 'terminate', atMs);
        schedule.push(`+${atMs - started} ms: ${ended.n} backends terminated (${ended.listening} LISTEN)`);
        if (round === 3) {
          const { downAtMs, upAtMs } = server.restartImmediately();
          await recordServerFault(s, 'restart', downAtMs);
          schedule.push(`+${downAtMs - started} ms: restart (${upAtMs - downAtMs} ms)`);
        }
      }
      const finished = await s.waitForAll(90_000);
      const verdict = await s.verdict();
      for (const line of await failureEvidence(s)) console.log(`queue-limits: ${line}`);

      const executions = await s.ledger.executions();
      const concurrency = maxOverlap(runSpans(executions));
      const firstSteps = runSpans(executions).map((r) => r.fromMs);
      const rateWindow = RATE.periodSec * 1000 - CLAIM_TO_STEP_TOLERANCE_MS;
      const rate = maxInWindow(firstSteps, rateWindow);
      // The database's own record of each workflow's start: with no re-claim (one claim each), a strict check.
      const rows = await queryRows(url, `SELECT started_at_epoch_ms, recovery_attempts FROM dbos.workflow_status WHERE workflow_uuid LIKE $1`, [
        `${s.prefix}%`,
      ]);
      const reclaimed = rows.filter((r) => Number(r.recovery_attempts) !== 1).length;
      const dbRate = maxInWindow(
        rows.map((r) => Number(r.started_at_epoch_ms)),
        RATE.periodSec * 1000 - 1,
      );
      console.log(
        `queue-limits: ${schedule.join('; ')}. Drained in ${Date.now() - started} ms (finished: ${finished}); ` +
          `max concurrent ${concurrency.max} (limit ${CONCURRENCY}); max first steps in ${rateWindow} ms ${rate.max}, ` +
          `max claims in ${RATE.periodSec * 1000} ms (database clock) ${dbRate.max} (limit ${RATE.limitPerPeriod}); ${reclaimed} claimed more than once`,
      );
      assert.equal(verdict.counts.faults.terminate, 6);
      assert.equal(verdict.counts.faults.restart, 1);
      assertPromiseKept(verdict, s.cluster);
      assert.equal(verdict.counts.allowedExtra, 0, 'no process died: no step may have run twice');
      assert.deepEqual(returnedTwice(executions), [], 'no workflow body ran again after it returned');
      assert.ok(concurrency.max <= CONCURRENCY, `${concurrency.max} workflows ran at once at ${concurrency.atMs}, limit ${CONCURRENCY}`);
      assert.ok(rate.max <= RATE.limitPerPeriod, `${rate.max} workflows started within ${rateWindow} ms from ${rate.fromMs}, limit ${RATE.limitPerPeriod}`);
      if (reclaimed === 0) assert.ok(dbRate.max <= RATE.limitPerPeriod, `${dbRate.max} claims within a period from ${dbRate.fromMs}`);
    });
  },
  ['postgres'],
);
