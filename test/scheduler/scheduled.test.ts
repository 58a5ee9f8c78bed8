// DBOS 4.x schedules declared in code: `@DBOS.scheduled` above `@DBOS.workflow()` and `DBOS.registerScheduled`.
// Each tick's workflow runs once as (scheduledTime, startTime) under `sched-<Class.method>-<tick>`; on a queue when
// asked; ExactlyOncePerInterval makes up the ticks missed while no process ran, ExactlyOncePerIntervalWhenActive does
// not. Both decorator implementations (standard here, legacy experimentalDecorators in a child process).

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  DBOS,
  DBOSConflictingRegistrationError,
  DBOSInvalidScheduleError,
  DBOSNotRegisteredError,
  SchedulerMode,
  WorkflowQueue,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

interface Run {
  id: string;
  scheduled: Date;
  started: Date;
}
const runs = new Map<string, Run[]>();
// A step, so a workflow recovered after a shutdown does not record its run twice.
const recordRun = DBOS.registerStep(
  async (key: string, id: string, scheduled: Date, started: Date) => {
    const list = runs.get(key) ?? [];
    list.push({ id, scheduled, started });
    runs.set(key, list);
  },
  { name: 'recordRun' },
);
const record = (key: string, scheduled: Date, started: Date) => recordRun(key, DBOS.workflowID!, scheduled, started);
const ticksOf = (key: string) => (runs.get(key) ?? []).map((r) => r.scheduled.getTime());

class Every {
  @DBOS.scheduled({ crontab: '* * * * * *' })
  @DBOS.workflow()
  static async second(scheduled: Date, started: Date): Promise<void> {
    await record('second', scheduled, started);
  }

  @DBOS.scheduled({ crontab: '* * * * * *', mode: SchedulerMode.ExactlyOncePerInterval })
  @DBOS.workflow()
  static async makeUp(scheduled: Date, started: Date): Promise<void> {
    await record('makeUp', scheduled, started);
  }

  // The other order of the two decorators declares the same schedule.
  @DBOS.workflow()
  @DBOS.scheduled({ crontab: '0 0 1 1 *' })
  static async newYear(scheduled: Date, started: Date): Promise<void> {
    await record('newYear', scheduled, started);
  }
}

new WorkflowQueue('scheduled-4x', { workerConcurrency: 1 });
const queued = DBOS.registerWorkflow(async (scheduled: Date, started: Date) => record('queued', scheduled, started), { name: 'queuedTick' });
DBOS.registerScheduled(queued, { crontab: '*/2 * * * * *', queueName: 'scheduled-4x' });

after(dropFreshDatabases);

describe('declaring a 4.x schedule', () => {
  it('rejects a crontab that does not parse, or never fires, or an unknown mode, where it is declared', () => {
    for (const crontab of ['* * *', '61 * * * *', '* * * * * * *', '0 0 31 2 *', '']) {
      assert.throws(() => DBOS.scheduled({ crontab }), DBOSInvalidScheduleError, crontab);
    }
    assert.throws(() => DBOS.scheduled({ crontab: '* * * * *', mode: 'Sometimes' as SchedulerMode }), DBOSInvalidScheduleError);
  });

  it('rejects registerScheduled of a function that is not a registered workflow', () => {
    assert.throws(() => DBOS.registerScheduled(async (_s: Date, _t: Date) => {}, { crontab: '* * * * *' }), DBOSNotRegisteredError);
  });
});

describeEachBackend('4.x schedules declared in code', (kind) => {
  let url: string;
  before(async () => {
    runs.clear();
    url = freshDatabase(kind, 'sched4x');
    await launchOn(url);
  });
  after(() => DBOS.shutdown());

  it('runs a per-second workflow once per tick, as (scheduledTime, startTime), under sched-<Class.method>-<tick>', async () => {
    await waitUntil(() => ticksOf('second').length >= 3, { timeoutMs: 10_000, message: 'three ticks' });
    const seen = runs.get('second')!;
    const ticks = seen.map((r) => r.scheduled.getTime());
    assert.equal(new Set(ticks).size, ticks.length, 'no tick ran twice');
    for (const [i, run] of seen.entries()) {
      assert.equal(run.scheduled.getMilliseconds(), 0, 'ticks are whole seconds');
      assert.equal(run.id, `sched-Every.second-${run.scheduled.toISOString()}`);
      assert.ok(run.started.getTime() >= run.scheduled.getTime(), 'started at or after its tick');
      assert.ok(run.started.getTime() - run.scheduled.getTime() < 1000, 'started within the second of its tick');
      if (i > 0) assert.equal(run.scheduled.getTime() - seen[i - 1]!.scheduled.getTime(), 1000, 'one workflow per second, none skipped');
    }
    const rows = await queryRows(url, 'SELECT workflow_uuid, queue_name, schedule_name, status FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      seen[0]!.id,
    ]);
    assert.deepEqual(rows, [{ workflow_uuid: seen[0]!.id, queue_name: '_dbos_internal_queue', schedule_name: 'Every.second', status: 'SUCCESS' }]);
  });

  it('enqueues on the queue registerScheduled names', async () => {
    await waitUntil(() => ticksOf('queued').length >= 2, { timeoutMs: 10_000, message: 'two ticks of the queued schedule' });
    const run = runs.get('queued')![0]!;
    assert.equal(run.id, `sched-queuedTick-${run.scheduled.toISOString()}`);
    assert.equal(run.scheduled.getSeconds() % 2, 0, 'every other second');
    const [row] = await queryRows(url, 'SELECT queue_name, schedule_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [run.id]);
    assert.deepEqual(row, { queue_name: 'scheduled-4x', schedule_name: 'queuedTick' });
  });

  it('declares a schedule with the decorators in either order, under a name a table schedule may not take', async () => {
    for (const scheduleName of ['Every.newYear', 'Every.second', 'queuedTick']) {
      await assert.rejects(
        DBOS.createSchedule({ scheduleName, workflowFn: Every.newYear, schedule: '* * * * *' }),
        DBOSConflictingRegistrationError,
        scheduleName,
      );
    }
  });

  it('makes up the ticks missed while down in ExactlyOncePerInterval mode, and skips them in WhenActive mode', async () => {
    await waitUntil(() => ticksOf('makeUp').length >= 1 && ticksOf('second').length >= 1, { message: 'both schedules running' });
    await DBOS.shutdown();
    const downAt = Date.now();
    // No process runs for a while: at least two ticks of each schedule pass.
    await waitUntil(() => Date.now() >= downAt + 2200, { message: 'some seconds down' });
    const relaunchedAt = Date.now();
    await launchOn(url);
    await waitUntil(() => ticksOf('makeUp').some((t) => t > relaunchedAt) && ticksOf('second').some((t) => t > relaunchedAt), {
      timeoutMs: 10_000,
      message: 'a tick after the relaunch',
    });

    const makeUp = ticksOf('makeUp').sort((a, b) => a - b);
    assert.equal(new Set(makeUp).size, makeUp.length, 'no tick ran twice');
    for (let i = 1; i < makeUp.length; i++) assert.equal(makeUp[i]! - makeUp[i - 1]!, 1000, `no gap at ${new Date(makeUp[i]!).toISOString()}`);
    const missed = makeUp.filter((t) => t > downAt && t < relaunchedAt);
    assert.ok(missed.length >= 2, `the ticks of the downtime ran after the relaunch (${missed.length})`);
    for (const t of missed) {
      const run = runs.get('makeUp')!.find((r) => r.scheduled.getTime() === t)!;
      assert.ok(run.started.getTime() >= relaunchedAt, 'a missed tick runs late, with its own scheduledTime');
    }

    const second = ticksOf('second');
    assert.deepEqual(second.filter((t) => t > downAt && t < relaunchedAt), [], 'WhenActive skips the downtime');
  });
});

describe('4.x schedules with legacy experimentalDecorators [sqlite]', () => {
  it('declares the same schedule', async () => {
    const worker = startWorker(new URL('./fixtures/legacy-scheduled.ts', import.meta.url), {
      TEST_DB_URL: freshDatabase('sqlite', 'sched_legacy'),
      TSX_TSCONFIG_PATH: fileURLToPath(new URL('./fixtures/tsconfig.legacy.json', import.meta.url)),
    });
    const line = await worker.waitForLine(/^\{/, 20_000);
    const report = JSON.parse(line) as { compiledAs: string; ids: string[]; ticks: string[] };
    assert.equal(report.compiledAs, 'legacy');
    assert.equal(report.ids.length, 2);
    assert.deepEqual(
      report.ids,
      report.ticks.map((t) => `sched-Nightly.tick-${t}`),
    );
    assert.equal(await worker.exited, 0);
  });
});
