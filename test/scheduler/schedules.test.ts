// DBOS 5.x schedules, rows of `workflow_schedules`: created, listed, paused, resumed, triggered, backfilled and
// deleted through the facade and the client; each tick runs `(scheduledDate, context)` once under
// `sched-<name>-<tick>`; bad definitions are refused with typed errors before anything is written.
// The per-second schedules are all created at the start and tick in the background while the tests look at them.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSConflictingRegistrationError,
  DBOSInvalidScheduleError,
  DBOSNotRegisteredError,
  DBOSSerializationError,
  WorkflowQueue,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

interface Run {
  id: string;
  scheduled: Date;
  context: unknown;
}
const runs: Run[] = [];
const runsOf = (name: string) => runs.filter((r) => r.id.startsWith(`sched-${name}-`));

const recordRun = DBOS.registerStep(async (id: string, scheduled: Date, context: unknown) => void runs.push({ id, scheduled, context }), {
  name: 'recordRun',
});
const report = DBOS.registerWorkflow(async (scheduled: Date, context: unknown) => recordRun(DBOS.workflowID!, scheduled, context), {
  name: 'report',
});
const notRegistered = async (_d: Date, _c: unknown) => {};

class Billing {
  @DBOS.workflow()
  static async invoice(scheduled: Date, context: { customer: string }): Promise<void> {
    await recordRun(DBOS.workflowID!, scheduled, context);
  }
}

new WorkflowQueue('scheduled-5x');

after(dropFreshDatabases);

describeEachBackend('5.x schedules', (kind) => {
  const url = engineOn(kind, 'sched5x', { schedulerPollingIntervalMs: 1000 });
  let client: DBOSClient;
  before(async () => {
    runs.length = 0;
    client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP });
    await DBOS.createSchedule({ scheduleName: 'every-second', workflowFn: report, schedule: '* * * * * *', context: { n: 1 } });
    await DBOS.createSchedule({ scheduleName: 'queued', workflowFn: report, schedule: '* * * * * *', options: { queueName: 'scheduled-5x' } });
    await DBOS.createSchedule({ scheduleName: 'pausable', workflowFn: report, schedule: '* * * * * *', options: { automaticBackfill: true } });
    // Another process (a client) creates one: this process must find it in the table.
    await client.createSchedule({ scheduleName: 'from-client', workflowName: 'report', schedule: '* * * * * *', context: 'client' });
  });
  after(() => client.destroy());

  const count = async (name: string) =>
    Number((await queryRows(url(), 'SELECT count(*) AS n FROM dbos.workflow_schedules WHERE schedule_name = $1', [name]))[0]!.n);

  it('runs each tick once as (scheduledDate, context) under sched-<name>-<tick>, and records the last tick fired', async () => {
    await waitUntil(() => runsOf('every-second').length >= 3, { timeoutMs: 10_000, message: 'three ticks' });
    // A tick is recorded as fired just after its workflow is started, so a run may be seen a moment before its mark.
    const latestSeen = Math.max(...runsOf('every-second').map((r) => r.scheduled.getTime()));
    const lastFiredAt = await waitUntil(
      async () => {
        const last = (await DBOS.getSchedule('every-second'))?.lastFiredAt;
        return last && Date.parse(last) >= latestSeen ? last : undefined;
      },
      { message: `lastFiredAt to reach the latest run seen, ${new Date(latestSeen).toISOString()}` },
    );
    await DBOS.deleteSchedule('every-second');
    const seen = runsOf('every-second').sort((a, b) => a.scheduled.getTime() - b.scheduled.getTime());
    assert.ok(Date.parse(lastFiredAt) >= latestSeen);
    for (const [i, run] of seen.entries()) {
      assert.equal(run.id, `sched-every-second-${run.scheduled.toISOString()}`);
      assert.deepEqual(run.context, { n: 1 });
      if (i > 0) assert.equal(run.scheduled.getTime() - seen[i - 1]!.scheduled.getTime(), 1000, 'one run per second, none twice');
    }
    const [row] = await queryRows(url(), 'SELECT queue_name, schedule_name, status FROM dbos.workflow_status WHERE workflow_uuid = $1', [seen[0]!.id]);
    assert.deepEqual(row, { queue_name: '_dbos_internal_queue', schedule_name: 'every-second', status: 'SUCCESS' });
    assert.equal(await DBOS.getSchedule('every-second'), null);
  });

  it('enqueues each tick on the schedule’s queue', async () => {
    await waitUntil(() => runsOf('queued').length >= 1, { timeoutMs: 10_000, message: 'a tick' });
    await DBOS.deleteSchedule('queued');
    const [row] = await queryRows(url(), 'SELECT queue_name, schedule_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [runsOf('queued')[0]!.id]);
    assert.deepEqual(row, { queue_name: 'scheduled-5x', schedule_name: 'queued' });
  });

  it('picks up a schedule another process created', async () => {
    await waitUntil(() => runsOf('from-client').length >= 2, { timeoutMs: 10_000, message: 'two ticks of the client’s schedule' });
    assert.ok(runsOf('from-client').every((r) => r.context === 'client'));
  });

  it('stops the ticks of a schedule paused here or deleted by another process; automaticBackfill makes up the paused ones', async () => {
    await waitUntil(() => runsOf('pausable').length >= 1 && runsOf('from-client').length >= 1, { timeoutMs: 10_000, message: 'both ticking' });
    await DBOS.pauseSchedule('pausable');
    await client.deleteSchedule('from-client');
    const stoppedAt = Date.now();
    // This process re-reads the table every second (and at once on a NOTIFY, PostgreSQL): give it time to notice.
    await waitUntil(() => Date.now() >= stoppedAt + 2300, { message: 'some seconds after pausing and deleting' });
    assert.deepEqual(runsOf('pausable').filter((r) => r.scheduled.getTime() > stoppedAt), [], 'no tick ran while paused');
    assert.deepEqual(runsOf('from-client').filter((r) => r.scheduled.getTime() > stoppedAt + 1100), [], 'none after the delete was noticed');

    const lastFired = (await DBOS.getSchedule('pausable'))!.lastFiredAt!;
    await DBOS.resumeSchedule('pausable');
    const resumedAt = Date.now();
    await waitUntil(() => runsOf('pausable').some((r) => r.scheduled.getTime() > resumedAt), { timeoutMs: 10_000, message: 'a tick after resuming' });
    await DBOS.deleteSchedule('pausable');
    const ticks = runsOf('pausable')
      .map((r) => r.scheduled.getTime())
      .sort((a, b) => a - b);
    assert.equal(new Set(ticks).size, ticks.length, 'no tick ran twice');
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, 'the paused ticks were made up');
    assert.ok(ticks.filter((t) => t > Date.parse(lastFired) && t < resumedAt).length >= 2, 'ticks of the pause ran after resuming');
  });

  it('keeps the definition in the row, and lists schedules by name prefix and status', async () => {
    await DBOS.createSchedule({
      scheduleName: 'billing-nightly',
      workflowFn: Billing.invoice,
      schedule: '0 0 2 * * *',
      context: { customer: 'acme' },
      options: { cronTimezone: 'Europe/Paris', queueName: 'scheduled-5x', automaticBackfill: true },
    });
    await DBOS.createSchedule({ scheduleName: 'billing-weekly', workflowFn: report, schedule: '0 3 * * 1' });
    await DBOS.pauseSchedule('billing-weekly');
    const nightly = await DBOS.getSchedule('billing-nightly');
    assert.deepEqual({ ...nightly, scheduleId: typeof nightly?.scheduleId }, {
      scheduleId: 'string',
      scheduleName: 'billing-nightly',
      workflowName: 'invoice',
      workflowClassName: 'Billing',
      schedule: '0 0 2 * * *',
      status: 'ACTIVE',
      context: { customer: 'acme' },
      lastFiredAt: null,
      automaticBackfill: true,
      cronTimezone: 'Europe/Paris',
      queueName: 'scheduled-5x',
      applicationName: TEST_APP,
    });
    assert.deepEqual((await DBOS.listSchedules({ scheduleNamePrefix: 'billing-' })).map((s) => [s.scheduleName, s.status]), [
      ['billing-nightly', 'ACTIVE'],
      ['billing-weekly', 'PAUSED'],
    ]);
    assert.deepEqual((await DBOS.listSchedules({ scheduleNamePrefix: 'billing-', status: 'PAUSED' })).map((s) => s.scheduleName), ['billing-weekly']);
    assert.deepEqual((await client.listSchedules({ workflowName: 'invoice' })).map((s) => s.scheduleName), ['billing-nightly']);
    await DBOS.deleteSchedule('billing-nightly');
    await client.deleteSchedule('billing-weekly');
    assert.equal(await count('billing-nightly'), 0);
  });

  it('triggers a run now, and backfills a past window once however often it is asked', async () => {
    await DBOS.createSchedule({ scheduleName: 'on-demand', workflowFn: report, schedule: '*/10 * * * * *', context: 'ctx' });
    await DBOS.pauseSchedule('on-demand');
    const before = Date.now();
    const triggered = await DBOS.triggerSchedule('on-demand');
    await triggered.getResult();
    const at = triggered.workflowID.slice('sched-on-demand-trigger-'.length);
    assert.match(triggered.workflowID, /^sched-on-demand-trigger-\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.ok(Date.parse(at) >= before - 5 && Date.parse(at) <= Date.now());
    assert.deepEqual(runsOf('on-demand').map((r) => [r.scheduled.toISOString(), r.context]), [[at, 'ctx']]);

    const start = new Date('2026-01-01T00:00:00.000Z');
    const end = new Date('2026-01-01T00:00:40.000Z');
    const expected = ['00', '10', '20', '30'].map((s) => `sched-on-demand-2026-01-01T00:00:${s}.000Z`);
    const handles = await DBOS.backfillSchedule('on-demand', start, end);
    assert.deepEqual(handles.map((h) => h.workflowID), expected, 'start included, end excluded');
    await Promise.all(handles.map((h) => h.getResult()));
    const again = await client.backfillSchedule('on-demand', start, end);
    assert.deepEqual(again.map((h) => h.workflowID), expected);
    assert.equal(runsOf('on-demand').length, 5, 'each backfilled tick ran once');
    await DBOS.deleteSchedule('on-demand');
  });

  it('reads the cron expression in the schedule’s time zone', async () => {
    await DBOS.createSchedule({
      scheduleName: 'new-york-9am',
      workflowFn: report,
      schedule: '0 9 * * *',
      options: { cronTimezone: 'America/New_York' },
    });
    await DBOS.pauseSchedule('new-york-9am');
    const handles = await DBOS.backfillSchedule('new-york-9am', new Date('2026-03-06T00:00:00Z'), new Date('2026-03-10T00:00:00Z'));
    // Daylight saving time starts on 8 March 2026 in New York: 9:00 is 14:00 UTC before, 13:00 UTC after.
    assert.deepEqual(
      handles.map((h) => h.workflowID),
      ['2026-03-06T14', '2026-03-07T14', '2026-03-08T13', '2026-03-09T13'].map((h) => `sched-new-york-9am-${h}:00:00.000Z`),
    );
    await Promise.all(handles.map((h) => h.getResult()));
    await DBOS.deleteSchedule('new-york-9am');
  });

  it('refuses bad definitions with typed errors, and writes nothing', async () => {
    const base = { scheduleName: 'bad', workflowFn: report, schedule: '* * * * *' };
    await assert.rejects(DBOS.createSchedule({ ...base, schedule: '* * * *' }), DBOSInvalidScheduleError);
    await assert.rejects(DBOS.createSchedule({ ...base, schedule: '0 0 30 2 *' }), DBOSInvalidScheduleError, 'never fires');
    await assert.rejects(DBOS.createSchedule({ ...base, options: { cronTimezone: 'Mars/Olympus_Mons' } }), DBOSInvalidScheduleError);
    await assert.rejects(DBOS.createSchedule({ ...base, options: { queueName: 'no-such-queue' } }), DBOSInvalidScheduleError);
    await assert.rejects(DBOS.createSchedule({ ...base, scheduleName: '' }), DBOSInvalidScheduleError);
    await assert.rejects(DBOS.createSchedule({ ...base, workflowFn: notRegistered }), DBOSNotRegisteredError);
    await assert.rejects(DBOS.createSchedule({ ...base, context: { f: () => 1 } }), DBOSSerializationError);
    await assert.rejects(client.createSchedule({ scheduleName: 'bad', workflowName: 'report', schedule: 'nonsense' }), DBOSInvalidScheduleError);
    assert.equal(await count('bad'), 0, 'nothing was written');

    await DBOS.createSchedule(base);
    await assert.rejects(DBOS.createSchedule({ ...base, schedule: '0 * * * *' }), DBOSConflictingRegistrationError);
    await assert.rejects(client.createSchedule({ scheduleName: 'bad', workflowName: 'report', schedule: '* * * * *' }), DBOSConflictingRegistrationError);
    await assert.rejects(DBOS.updateSchedule('bad', { schedule: '99 * * * *' }), DBOSInvalidScheduleError);
    assert.equal((await DBOS.getSchedule('bad'))?.schedule, '* * * * *', 'the first definition stands');
    await assert.rejects(DBOS.triggerSchedule('missing'), /Schedule 'missing' not found/);
    await DBOS.deleteSchedule('bad');
  });
});
