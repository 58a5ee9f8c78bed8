// A mixed fleet: three processes of the official DBOS 5.3.0 package (compat/dbos-client/fleet-worker.mjs) and three
// Transact processes (test/faults/fixtures/fault-worker.ts) serve one application's queue on one PostgreSQL system
// database. Work is enqueued by Transact's client, by DBOS's official client, by a DBOS process and by a Transact
// process. Both kinds of worker record every step they run in the fault suite's ledger, so the shared verdict
// (test/faults/support/verdict.ts) counts what really ran, whoever ran it.
//
// What it asserts (README, "Running beside DBOS", says why each holds and what does not):
//   - exactly once: every workflow, whoever enqueued it, ends SUCCESS with its steps checkpointed once; the only
//     steps run twice were in flight in a process at its SIGKILL; nothing lost, stuck or wrong; no process crashes;
//   - every process runs work, and each kind runs work the other kind (and the other kind's client) enqueued;
//   - the queue's row, written by a DBOS process, is enforced by both kinds: global concurrency and the rate limit
//     over all processes, worker concurrency in each (measured from the ledger, and the rate also from the database's
//     own claim times);
//   - a SIGKILLed Transact process's work is taken over by its Transact peers (at once here: same host, its PID is
//     gone; otherwise once its lease lapses), and may be run by a process of either kind; a SIGKILLed DBOS process's
//     work is left alone by every Transact process (DBOS processes have no heartbeat, so nothing tells a dead one from
//     a live one) until a process launched under its executor ID recovers it, as DBOS's own rule says: here a
//     Transact process;
//   - (last two cases) a Transact claim beside a real DBOS claim held open inside its transaction waits for it, so
//     the two do not spend one global concurrency, or one partition's concurrency, twice.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases, postgresUnavailable } from '../support/backends.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';
import type { Execution } from '../faults/support/ledger.js';
import { assertPromiseKept, Scenario } from '../faults/support/scenario.js';
import { maxInWindow, maxOverlap, runSpans, warningsOf } from '../faults/support/server-faults.js';
import { FAULT_APP, FAULT_WORKFLOW } from '../faults/support/workload.js';

const compatDir = fileURLToPath(new URL('../../compat/dbos-client/', import.meta.url));
const installed = existsSync(`${compatDir}node_modules/@dbos-inc/dbos-sdk`);
const dbosWorker = new URL('../../compat/dbos-client/fleet-worker.mjs', import.meta.url);

const QUEUE = 'fleet';
const LIMITS = { globalConcurrency: 10, workerConcurrency: 2, rateLimit: { limitPerPeriod: 15, periodSec: 1 } };
const LEASE_MS = 3000;
/** The longest a claimed workflow may plausibly wait for its first step (in the rate check's favour). */
const CLAIM_TO_STEP_TOLERANCE_MS = 300;
/** Seed ranges of each way of enqueueing (the Scenario's own client counts up from 1). */
const FROM_CLIENT = 120;
const FROM_DBOS_CLIENT = { first: 10_001, count: 50 };
const FROM_DBOS_PROCESS = { first: 20_001, count: 50 };
const FROM_TRANSACT_PROCESS = { first: 30_001, count: 50 };

const skip = process.env.CI === 'true' ? undefined : installed ? undefined : 'DBOS not installed: npm ci --prefix compat/dbos-client';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

/** Each workflow run (one workflow in one process run) as a span of the ledger, for limits that count claims. */
function runsByIncarnation(executions: readonly Execution[]): Map<string, ReturnType<typeof runSpans>> {
  const byIncarnation = new Map<string, Execution[]>();
  for (const e of executions) byIncarnation.set(e.incarnation, [...(byIncarnation.get(e.incarnation) ?? []), e]);
  return new Map([...byIncarnation].map(([inc, list]) => [inc, runSpans(list)]));
}

describeEachBackend(
  'a mixed fleet: DBOS 5.3.0 and Transact processes on one queue',
  () => {
    it('runs every workflow exactly once, holds the limits across both kinds, and recovers where DBOS’s rules allow', { skip: skip ?? postgresUnavailable }, async () => {
      const started = Date.now();
      const s = (scenario = await Scenario.create({
        name: 'mixed-fleet',
        backend: 'postgres',
        queue: QUEUE,
        queueSource: 'database',
        workerEnv: {
          FAULT_APP_VERSION: 'fleet-v1',
          FAULT_LEASE_MS: String(LEASE_MS),
          FAULT_WORKER_CONCURRENCY: String(LIMITS.workerConcurrency),
          FAULT_STEP_MS: '40-400',
          FAULT_POOL_SIZE: '3',
        },
      }));
      // The queue's row, read by both kinds of process, is written by a DBOS process (DBOS.registerQueue, as its
      // application code would) before the others start: the Transact processes enforce what DBOS wrote. DBOS polls
      // it every 100 ms at best.
      const own = (range: { first: number; count: number }) => `${s.prefix}:${range.first}:${range.count}`;
      const queueOptions = { ...LIMITS, minPollingIntervalMs: 100 };
      const d1 = s.cluster.start('d1', {
        executorID: 'dbos-1',
        script: dbosWorker,
        env: { FAULT_ENQUEUE: own(FROM_DBOS_PROCESS), FLEET_QUEUE_OPTIONS: JSON.stringify(queueOptions) },
      });
      await s.cluster.ready(d1, 45_000);
      const [queueRow] = await queryRows(
        s.systemDatabaseUrl,
        `SELECT concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec, polling_interval_sec FROM dbos.queues WHERE name = $1`,
        [QUEUE],
      );
      assert.deepEqual(
        { ...queueRow },
        { concurrency: 10, worker_concurrency: 2, rate_limit_max: 15, rate_limit_period_sec: 1, polling_interval_sec: 0.1 },
        'the DBOS process registered the queue',
      );
      const t = [1, 2, 3].map((n) =>
        s.cluster.start(`t${n}`, { executorID: `transact-${n}`, env: n === 1 ? { FAULT_ENQUEUE: own(FROM_TRANSACT_PROCESS) } : {} }),
      );
      const d = [d1, ...[2, 3].map((n) => s.cluster.start(`d${n}`, { executorID: `dbos-${n}`, script: dbosWorker }))];
      await Promise.all([...t, ...d].map((w) => s.cluster.ready(w, 45_000)));
      const expect = (range: { first: number; count: number }) => {
        for (let seed = range.first; seed < range.first + range.count; seed++) s.expected.set(`${s.prefix}${String(seed).padStart(5, '0')}`, seed);
      };
      expect(FROM_TRANSACT_PROCESS);
      expect(FROM_DBOS_PROCESS);
      console.log(`mixed-fleet: six processes ready after ${Date.now() - started} ms`);

      // Work from the two clients, while the two processes start theirs.
      const officialClient = promisify(execFile)(process.execPath, ['fleet-enqueue.mjs'], {
        cwd: compatDir,
        env: { ...process.env, TEST_DB_URL: s.systemDatabaseUrl, FLEET_QUEUE: QUEUE, FLEET_WORKFLOW: FAULT_WORKFLOW, FLEET_ENQUEUE: own(FROM_DBOS_CLIENT) },
        timeout: 60_000,
      });
      expect(FROM_DBOS_CLIENT);
      await s.enqueue(FROM_CLIENT, 5);
      await officialClient;
      await Promise.all([t[0]!.worker.waitForLine('enqueued'), d[0]!.worker.waitForLine('enqueued')]);

      // SIGKILL a DBOS process, then a Transact process, each while it has work in flight, and once it has finished
      // some (every process must be seen to run work: with the enqueues group-committed, the queue fills at once and
      // a process may be busy with its first claim before it has returned anything).
      const ranSome = async (inc: string) => (await s.ledger.executions()).some((e) => e.kind === 'return' && e.incarnation === inc);
      const inFlight = (inc: string) =>
        waitUntil(async () => ((await ranSome(inc)) && (await s.ledger.inFlightAt(inc)).length > 0 ? true : undefined), {
          timeoutMs: 30_000,
          intervalMs: 10,
          message: `${inc} busy, after some work done`,
        }).catch(
          async (err) => {
            const counts: Record<string, number> = {};
            for (const e of await s.ledger.executions()) counts[e.incarnation] = (counts[e.incarnation] ?? 0) + 1;
            const stderr = s.cluster.runs.map((r) => `${r.incarnation}: ${warningsOf(r.worker.stderr(), 6).join(' // ').slice(0, 1200)}`);
            throw new Error(`${(err as Error).message}; executions so far ${JSON.stringify(counts)}, ${JSON.stringify(await s.statusCounts())}\n${stderr.join('\n')}`);
          },
        );
      await inFlight(d[1]!.incarnation);
      await s.cluster.kill(d[1]!);
      const dbosKilledAt = Date.now();
      const leftByDbos = (
        await queryRows(s.systemDatabaseUrl, `SELECT workflow_uuid FROM dbos.workflow_status WHERE executor_id = 'dbos-2' AND status = 'PENDING'`)
      ).map((r) => String(r.workflow_uuid));
      await inFlight(t[1]!.incarnation);
      await s.cluster.kill(t[1]!);
      const transactKilledAt = Date.now();
      const leftByTransact = (
        await queryRows(s.systemDatabaseUrl, `SELECT workflow_uuid FROM dbos.workflow_status WHERE executor_id = 'transact-2' AND status = 'PENDING'`)
      ).map((r) => String(r.workflow_uuid));
      console.log(`mixed-fleet: killed d2 at +${dbosKilledAt - started} ms (${leftByDbos.length} PENDING), t2 at +${transactKilledAt - started} ms`);

      // The Transact peers take the dead Transact executor's work over once its lease lapses.
      await waitUntil(
        async () => {
          const [row] = await queryRows(
            s.systemDatabaseUrl,
            `SELECT (SELECT count(*) FROM dbos.workflow_status WHERE executor_id = 'transact-2' AND status = 'PENDING')::int AS pending,
                    (SELECT count(*) FROM dbos.transact_executor_heartbeats WHERE executor_id = 'transact-2')::int AS beats`,
          );
          return Number(row!.pending) === 0 && Number(row!.beats) === 0;
        },
        { timeoutMs: LEASE_MS * 4, intervalMs: 50, message: 'the dead Transact executor taken over' },
      );
      console.log(`mixed-fleet: t2 taken over by +${Date.now() - started} ms`);
      // ... but nobody touches the dead DBOS process's work, although it has now been silent for longer than a lease:
      // wait until every live Transact process has beaten (and so looked for lapsed executors) twice since then.
      const lapsedAt = dbosKilledAt + LEASE_MS;
      await waitUntil(
        async () => {
          const rows = await queryRows(
            s.systemDatabaseUrl,
            `SELECT executor_id, last_heartbeat_epoch_ms FROM dbos.transact_executor_heartbeats WHERE executor_id IN ('transact-1', 'transact-3')`,
          );
          return rows.length === 2 && rows.every((r) => Number(r.last_heartbeat_epoch_ms) > lapsedAt + LEASE_MS / 3);
        },
        { timeoutMs: LEASE_MS * 4, intervalMs: 50, message: 'two beats of every live Transact process past the DBOS process’s would-be lease' },
      );
      const stillPending = await queryRows(
        s.systemDatabaseUrl,
        `SELECT workflow_uuid FROM dbos.workflow_status WHERE workflow_uuid = ANY($1) AND status = 'PENDING' AND executor_id = 'dbos-2'`,
        [leftByDbos],
      );
      assert.equal(stillPending.length, leftByDbos.length, 'a dead DBOS process’s PENDING work is left alone by Transact’s takeover');

      // A Transact process launched under the DBOS process's executor ID recovers it (DBOS's rule: recovery by ID).
      const heir = s.cluster.start('r2', { executorID: 'dbos-2' });
      await s.cluster.ready(heir);

      const finished = await s.waitForAll(45_000);
      const verdict = await s.verdict();
      const executions = await s.ledger.executions();

      // Who ran what.
      const ranBy = new Map<string, string>(); // workflow -> incarnation of its return
      for (const e of executions) if (e.kind === 'return') ranBy.set(e.workflowID, e.incarnation);
      const kindOf = (inc: string) => (inc.startsWith('d') ? 'dbos' : 'transact');
      const perIncarnation: Record<string, number> = {};
      for (const inc of ranBy.values()) perIncarnation[inc] = (perIncarnation[inc] ?? 0) + 1;
      const enqueuedBy = (id: string) => {
        const seed = s.expected.get(id)!;
        return seed >= FROM_TRANSACT_PROCESS.first ? 'transact' : seed >= FROM_DBOS_PROCESS.first ? 'dbos' : seed >= FROM_DBOS_CLIENT.first ? 'dbos-client' : 'client';
      };
      const cross: Record<string, number> = {};
      for (const [id, inc] of ranBy) {
        const key = `${enqueuedBy(id)}->${kindOf(inc)}`;
        cross[key] = (cross[key] ?? 0) + 1;
      }
      // Nobody ran a step of the dead DBOS process's work between its death and the start of its heir (whose launch
      // puts that work back on the queue, where any process may claim it, even before the heir says it is ready).
      const leftSet = new Set(leftByDbos);
      const touchedEarly = executions.filter((e) => leftSet.has(e.workflowID) && e.atMs > dbosKilledAt && e.atMs < heir.startedAtMs);
      const recoveredByHeir = leftByDbos.filter((id) => ranBy.get(id) === heir.incarnation).length;
      const takenOverBy = leftByTransact.map((id) => ranBy.get(id)).join(',');

      // The limits, from the ledger: each run's span lies within the time its workflow held a slot of the queue.
      const perRun = runsByIncarnation(executions);
      const allRuns = [...perRun.values()].flat();
      const concurrency = maxOverlap(allRuns);
      const rateWindow = LIMITS.rateLimit.periodSec * 1000 - CLAIM_TO_STEP_TOLERANCE_MS;
      const rate = maxInWindow(
        allRuns.map((r) => r.fromMs),
        rateWindow,
      );
      // The database's own record of each claim (its clock), for the workflows claimed once: a strict rate check.
      const claims = await queryRows(
        s.systemDatabaseUrl,
        `SELECT started_at_epoch_ms FROM dbos.workflow_status WHERE workflow_uuid LIKE $1 AND recovery_attempts = 1`,
        [`${s.prefix}%`],
      );
      const dbRate = maxInWindow(
        claims.map((r) => Number(r.started_at_epoch_ms)),
        LIMITS.rateLimit.periodSec * 1000 - 1,
      );
      const workerMax = Object.fromEntries([...perRun].map(([inc, runs]) => [inc, maxOverlap(runs).max]));
      console.log(
        `mixed-fleet: finished ${finished} in ${Date.now() - started} ms; returns per process ${JSON.stringify(perIncarnation)}; ` +
          `enqueued->ran ${JSON.stringify(cross)}; d2 left ${leftByDbos.length} PENDING, ${recoveredByHeir} finished by its heir; t2's ${leftByTransact.length} finished by ${takenOverBy}; ` +
          `max concurrent ${concurrency.max} (limit ${LIMITS.globalConcurrency}); max first steps in ${rateWindow} ms ${rate.max} ` +
          `(limit ${LIMITS.rateLimit.limitPerPeriod}); max claims in a period (database clock, ${claims.length} claimed once) ${dbRate.max}; max per process ${JSON.stringify(workerMax)} (limit ${LIMITS.workerConcurrency})`,
      );
      for (const run of s.cluster.runs) {
        const lines = warningsOf(run.worker.stderr(), 4);
        if (lines.length > 0) console.log(`mixed-fleet: ${run.incarnation} stderr: ${lines.join(' // ').slice(0, 800)}`);
      }

      assert.equal(verdict.counts.faults.kill, 2);
      assertPromiseKept(verdict, s.cluster);
      for (const w of [...t, ...d]) assert.ok((perIncarnation[w.incarnation] ?? 0) > 0, `${w.incarnation} ran work`);
      for (const key of ['client->dbos', 'client->transact', 'dbos-client->transact', 'dbos->transact', 'transact->dbos']) {
        assert.ok((cross[key] ?? 0) > 0, `${key}: ${JSON.stringify(cross)}`);
      }
      assert.ok(leftByDbos.length > 0, 'the DBOS process had work in flight when it was killed');
      assert.deepEqual(touchedEarly, [], 'nobody ran the dead DBOS process’s work before a process took its executor ID');
      assert.ok(concurrency.max <= LIMITS.globalConcurrency, `${concurrency.max} ran at once at ${concurrency.atMs}`);
      assert.ok(rate.max <= LIMITS.rateLimit.limitPerPeriod, `${rate.max} started within ${rateWindow} ms from ${rate.fromMs}`);
      assert.ok(dbRate.max <= LIMITS.rateLimit.limitPerPeriod, `${dbRate.max} claims within a period from ${dbRate.fromMs}`);
      for (const [inc, max] of Object.entries(workerMax)) assert.ok(max <= LIMITS.workerConcurrency, `${inc} ran ${max} at once`);
    });

    /**
     * A DBOS process alone first: its first claim that finds work stops inside its transaction, rows locked and not
     * yet marked (compat/dbos-client/fleet-worker.mjs, FLEET_HOLD_CLAIM). Then a Transact process claims from the same
     * queue: it must wait for the DBOS claim (seen as its backend waiting on a lock), or, without that, it claims
     * beside it (seen as workflows it took); either way the DBOS claim is then let go, and the limit is checked. The
     * DBOS process claims only that once (its later claims fail), so the rest is the Transact process's to run.
     */
    async function heldClaim(name: string, queue: Record<string, unknown>, limit: number, partitionKey?: string): Promise<void> {
      const s = (scenario = await Scenario.create({
        name,
        backend: 'postgres',
        queue: 'held',
        queueSource: 'database',
        workerEnv: { FAULT_APP_VERSION: 'fleet-v1', FAULT_WORKER_CONCURRENCY: '4', FAULT_STEP_MS: '250-350', FAULT_POOL_SIZE: '3' },
      }));
      await s.client.registerQueue('held', { ...queue, workerConcurrency: 4, minPollingIntervalMs: 100, applicationName: FAULT_APP });
      const dbos = s.cluster.start('d1', { executorID: 'dbos-1', script: dbosWorker, env: { FLEET_HOLD_CLAIM: '1' } });
      await s.cluster.ready(dbos, 45_000);
      if (partitionKey === undefined) await s.enqueue(3 * limit);
      else {
        for (let seed = 1; seed <= 3 * limit; seed++) {
          const id = `${s.prefix}${String(seed).padStart(5, '0')}`;
          await s.client.enqueue({ queueName: 'held', workflowName: FAULT_WORKFLOW, workflowID: id, queuePartitionKey: partitionKey }, seed);
          s.expected.set(id, seed);
        }
      }
      await dbos.worker.waitForLine('holding-claim', 20_000);
      const transact = s.cluster.start('t1', { executorID: 'transact-1' });
      await s.cluster.ready(transact, 45_000);
      const seen = await waitUntil(
        async () => {
          const [row] = await queryRows(
            s.systemDatabaseUrl,
            `SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                       AND application_name LIKE 'dbos_transact_transact-1_%')::int AS waiting,
                    (SELECT count(*) FROM dbos.workflow_status WHERE executor_id = 'transact-1')::int AS claimed`,
          );
          if (Number(row!.waiting) > 0) return 'the Transact claim waits for the DBOS claim';
          if (Number(row!.claimed) > 0) return 'the Transact process claimed beside the DBOS claim';
          return undefined;
        },
        { timeoutMs: 20_000, intervalMs: 20, message: 'the Transact claim to wait for the DBOS claim, or to claim' },
      ).catch((err) => {
        throw new Error(`${(err as Error).message}; Transact's stderr: ${transact.worker.stderr().slice(-1500)}`);
      });
      process.kill(dbos.pid, 'SIGUSR1');
      await dbos.worker.waitForLine('released-claim', 10_000);
      const finished = await s.waitForAll(40_000);
      const verdict = await s.verdict();
      const runs = [...runsByIncarnation(await s.ledger.executions()).values()].flat();
      const concurrency = maxOverlap(runs);
      const returns = (inc: string) => s.ledger.returnsBy(inc);
      console.log(
        `${name}: ${seen}; finished ${finished}; max concurrent ${concurrency.max} (limit ${limit}); ` +
          `returns: DBOS ${await returns(dbos.incarnation)}, Transact ${await returns(transact.incarnation)}`,
      );
      assertPromiseKept(verdict, s.cluster);
      assert.ok(concurrency.max <= limit, `${concurrency.max} ran at once at ${concurrency.atMs}, limit ${limit} (${seen})`);
      assert.ok((await returns(transact.incarnation)) > 0, 'the Transact process ran work once the DBOS claim was done');
    }

    it('a Transact claim beside a DBOS claim in progress does not spend the same global concurrency twice', { skip: skip ?? postgresUnavailable }, () =>
      heldClaim('mixed-held-claim', { globalConcurrency: 4 }, 4),
    );

    it('nor the same partition concurrency twice', { skip: skip ?? postgresUnavailable }, () =>
      heldClaim('mixed-held-partition', { partitionConcurrency: 2 }, 2, 'p1'),
    );
  },
  ['postgres'],
);
