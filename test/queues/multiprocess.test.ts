// Many processes, one system (PostgreSQL): real worker processes share queues; a global limit holds across them; a
// worker SIGKILLed mid-run and never restarted has its work finished by the others once its heartbeat lease lapses;
// a worker paused (SIGSTOP) past its lease records nothing for the workflows taken over meanwhile.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';
import { startWorker, type Worker } from '../support/child.js';
import { launchOn } from '../support/launch.js';
import { maxOverlap } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';
import { drainWork, pausableWork, pickUp, sharedWork } from './fixtures/queue-app.js';

const workerScript = new URL('./fixtures/queue-worker.ts', import.meta.url);
let workers: Worker[] = [];

function spawnWorkers(url: string, effectsDir: string, names: string[], env: Record<string, string> = {}): Worker[] {
  const started = names.map((name) => startWorker(workerScript, { TEST_DB_URL: url, WORKER: name, EFFECTS_DIR: effectsDir, ...env }));
  workers.push(...started);
  return started;
}

function effectLines(dir: string, worker: string): string[][] {
  const file = join(dir, `${worker}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' '));
}

/** The worker name a step recorded as its output (a superjson envelope around a string). */
function recordedWorker(output: unknown): string {
  return JSON.parse(String(output)).json as string;
}

async function enqueueAll<T>(count: number, enqueue: (i: number) => Promise<T>, inFlight = 50): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await enqueue(i);
      }
    }),
  );
  return results;
}

afterEach(async () => {
  await DBOS.shutdown();
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  workers = [];
});
after(dropFreshDatabases);

describeEachBackend(
  'queues shared by worker processes',
  () => {
    it('holds a global concurrency limit across three processes, and wakes an idle worker by NOTIFY', async () => {
      const url = freshDatabase('postgres', 'mp_global');
      const dir = scratchDir('mp');
      // This process only enqueues: it serves no queue of the application.
      await launchOn(url, { listenQueues: [], executorID: 'enqueuer' });
      const names = ['w1', 'w2', 'w3'];
      await Promise.all(spawnWorkers(url, dir, names).map((w) => w.waitForLine('ready')));

      const handles = await enqueueAll(40, () => DBOS.startWorkflow(sharedWork, { queueName: 'shared' })(60), 10);
      const ranBy = await Promise.all(handles.map((h) => h.getResult()));
      const intervals = names.flatMap((n) =>
        effectLines(dir, n)
          .filter((l) => l[0] === 'interval')
          .map((l) => ({ start: Number(l[2]), end: Number(l[3]) })),
      );
      assert.equal(intervals.length, 40);
      assert.equal(maxOverlap(intervals), 4, 'the limit (4) was reached and never exceeded');
      assert.ok(new Set(ranBy).size >= 2, `the work was shared (ran by ${[...new Set(ranBy)].join(', ')})`);

      // The 'notified' queue polls once a minute: a pick-up within moments is the NOTIFY's doing.
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const handle = await DBOS.startWorkflow(pickUp, { queueName: 'notified' })();
        await handle.getResult();
        const [row] = await queryRows(url, 'SELECT created_at, started_at_epoch_ms FROM dbos.workflow_status WHERE workflow_uuid = $1', [
          handle.workflowID,
        ]);
        delays.push(Number(row!.started_at_epoch_ms) - Number(row!.created_at));
      }
      assert.ok(Math.max(...delays) < 1000, `picked up after ${delays.join(', ')} ms`);
    });

    it('drains 3,000 workflows on three workers while one is SIGKILLed and never restarted', async () => {
      const LEASE_MS = 2000;
      const TOTAL = 3000;
      const url = freshDatabase('postgres', 'mp_drain');
      const dir = scratchDir('mp');
      await launchOn(url, { listenQueues: [], executorID: 'enqueuer', executorLeaseMs: LEASE_MS });
      const [, , victim] = spawnWorkers(url, dir, ['w1', 'w2', 'w3'], { LEASE_MS: String(LEASE_MS) });
      await Promise.all(workers.map((w) => w.waitForLine('ready')));

      const enqueued = enqueueAll(TOTAL, () => DBOS.startWorkflow(drainWork, { queueName: 'drain' })(2));
      const done = async () =>
        Number((await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'drain' AND status = 'SUCCESS'`))[0]!.n);
      await waitUntil(async () => (await done()) >= TOTAL / 4 && effectLines(dir, 'w3').length > 0, {
        timeoutMs: 60_000,
        message: 'a quarter of the work done, some of it by w3',
      });
      await victim!.kill('SIGKILL');
      const killedAt = Date.now();
      // The takeover is what the lease promises: w3's work leaves it within the lease and a few beats. How long the
      // rest takes is the machine's speed (a benchmark's business), so the drain only has a generous deadline.
      const heldByVictim = async () =>
        Number(
          (await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'drain' AND status = 'PENDING' AND executor_id = 'w3'`))[0]!.n,
        );
      await waitUntil(async () => (await heldByVictim()) === 0, { timeoutMs: LEASE_MS + 30_000, intervalMs: 50, message: "w3's workflows taken over" });
      const takenOverIn = Date.now() - killedAt;
      await enqueued;
      await waitUntil(async () => (await done()) === TOTAL, { timeoutMs: 120_000, intervalMs: 100, message: 'all 3,000 done' });
      const drainedIn = Date.now() - killedAt;

      const statuses = await queryRows(url, `SELECT status, count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'drain' GROUP BY status`);
      assert.deepEqual(statuses.map((r) => [r.status, Number(r.n)]), [['SUCCESS', TOTAL]], 'nothing left PENDING or ENQUEUED');

      // Each (workflow, step) ran once, except a step w3 was running when it died, which ran again elsewhere.
      const runs = new Map<string, string[]>();
      for (const name of ['w1', 'w2', 'w3']) {
        for (const [, wf, step, by] of effectLines(dir, name)) {
          const key = `${wf} ${step}`;
          runs.set(key, [...(runs.get(key) ?? []), by!]);
        }
      }
      const recorded = await queryRows(
        url,
        `SELECT o.workflow_uuid, o.function_id, o.output FROM dbos.operation_outputs o
           JOIN dbos.workflow_status w ON w.workflow_uuid = o.workflow_uuid WHERE w.queue_name = 'drain'`,
      );
      assert.equal(recorded.length, TOTAL * 2);
      let rerun = 0;
      for (const row of recorded) {
        const by = recordedWorker(row.output);
        const ran = runs.get(`${row.workflow_uuid} ${row.function_id}`) ?? [];
        assert.ok(ran.includes(by), `step ${row.workflow_uuid}/${row.function_id} recorded by ${by}, who ran it`);
        if (ran.length === 1) continue;
        // Ran twice: the first run was w3's, cut off before its checkpoint; never a checkpointed step run again.
        assert.deepEqual(ran.sort(), [by, 'w3'].sort(), `step ${row.workflow_uuid}/${row.function_id} ran by ${ran.join(', ')}`);
        assert.notEqual(by, 'w3');
        rerun++;
      }
      assert.ok(rerun <= 10, `${rerun} steps ran twice; w3 ran at most 10 workflows at once`);
      const [recovered] = await queryRows(
        url,
        `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'drain' AND recovery_attempts > 1`,
      );
      assert.ok(Number(recovered!.n) > 0, "some of w3's workflows were taken over");
      assert.ok(takenOverIn < LEASE_MS + 10_000, `w3's workflows were taken over ${takenOverIn} ms after the kill (lease ${LEASE_MS} ms)`);
      console.log(
        `# drained ${TOTAL} in total, ${drainedIn} ms after the kill; w3's work taken over in ${takenOverIn} ms (lease ${LEASE_MS} ms); ` +
          `${Number(recovered!.n)} taken over, ${rerun} steps re-run`,
      );
    });

    it('records nothing from a worker paused past its lease, whose workflows were taken over', async () => {
      const LEASE_MS = 1500;
      const url = freshDatabase('postgres', 'mp_pause');
      const dir = scratchDir('mp');
      const release = join(dir, 'release');
      const env = { LEASE_MS: String(LEASE_MS), BLOCK_WORKER: 'a', RELEASE_FILE: release };
      await launchOn(url, { listenQueues: [], executorID: 'enqueuer', executorLeaseMs: LEASE_MS });
      const [a] = spawnWorkers(url, dir, ['a'], env);
      await a!.waitForLine('ready');
      const handles = await enqueueAll(5, () => DBOS.startWorkflow(pausableWork, { queueName: 'pausable' })(), 1);
      for (const h of handles) await a!.waitForLine(`started ${h.workflowID} 0`);
      a!.process.kill('SIGSTOP');

      const [b] = spawnWorkers(url, dir, ['b'], env);
      const results = await Promise.all(handles.map((h) => h.getResult()));
      assert.deepEqual(results.map((r) => r.by), ['b', 'b', 'b', 'b', 'b'], 'the new owner ran them');
      const snapshot = async () =>
        queryRows(
          url,
          `SELECT w.workflow_uuid, w.status, w.executor_id, w.completed_at, wo.output,
                  (SELECT json_agg(json_build_array(o.function_id, o.output, o.completed_at_epoch_ms) ORDER BY o.function_id)
                     FROM dbos.operation_outputs o WHERE o.workflow_uuid = w.workflow_uuid) AS steps
             FROM dbos.workflow_status w LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = w.workflow_uuid
            WHERE w.queue_name = 'pausable' ORDER BY w.workflow_uuid`,
        );
      const before = await snapshot();
      assert.ok(before.every((r) => r.status === 'SUCCESS' && r.executor_id === 'b'));

      // Wake the paused worker and let its held steps finish: it tries to go on, and is refused every write.
      writeFileSync(release, '');
      a!.process.kill('SIGCONT');
      for (const h of handles) {
        const lost = await a!.waitForLine(`lost ${h.workflowID}`);
        assert.match(lost, /DBOSWorkflowConflictError|DBOSWorkflowCancelledError/);
      }
      assert.deepEqual(await snapshot(), before, "the new owner's results stand, and the paused worker recorded nothing");
      // It finished the step it held (a side effect that cannot be taken back), but went no further.
      assert.deepEqual(effectLines(dir, 'a').map((l) => l[2]), ['0', '0', '0', '0', '0']);
      void b;
    });
  },
  ['postgres'],
);
