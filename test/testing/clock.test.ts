// Time that tests can move (transact/testing's virtual clock and test runtime), on both backends: a week-long durable
// sleep, a recv timeout, a getEvent timeout, a workflow deadline and a daily schedule, each in well under a second of
// real time, with the durable records in virtual time.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSAwaitedWorkflowCancelledError, DBOSClient } from '../../src/index.js';
import { parseDuration, testRuntime } from '../../src/testing/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { waitUntil } from '../support/wait.js';

const DAY = 86_400_000;

const weekLongSleep = DBOS.registerWorkflow(async () => {
  const before = await DBOS.now();
  await DBOS.sleep(7 * DAY);
  return (await DBOS.now()) - before;
}, { name: 'weekLongSleep' });

const waitForApproval = DBOS.registerWorkflow(async () => DBOS.recv<string>('approval', 3600), { name: 'waitForApproval' });

const waitForEvent = DBOS.registerWorkflow(async (of: string) => DBOS.getEvent<string>(of, 'ready', 2 * 3600), { name: 'waitForEvent' });

const slow = DBOS.registerWorkflow(async () => {
  await DBOS.sleep(3 * DAY);
  return 'finished';
}, { name: 'slowWorkflow' });

const ticks: string[] = [];
const nightly = DBOS.registerWorkflow(
  async (scheduled: Date) => {
    ticks.push(scheduled.toISOString());
  },
  { name: 'nightly' },
);
DBOS.registerScheduled(nightly, { crontab: '0 0 * * *' });

after(dropFreshDatabases);

it('reads durations', () => {
  assert.equal(parseDuration('3 days'), 3 * DAY);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1 week'), 7 * DAY);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration(250), 250);
  assert.throws(() => parseDuration('soon'), /not a duration/);
});

describeEachBackend('the virtual clock', (kind) => {
  it('moves durable sleeps, recv and getEvent timeouts, deadlines and a daily schedule forward at once', async () => {
    const started = performance.now();
    const rt = await testRuntime({ virtualClock: true, systemDatabaseUrl: kind === 'postgres' ? freshDatabase(kind, 'clock') : undefined });
    const clock = rt.clock!;
    try {
      // A daily schedule fires once a day (its timer is the first one waiting).
      await clock.waitForTimers(1);
      await clock.advance('3 days');
      await waitUntil(() => ticks.length >= 3, { message: 'three nightly ticks' });
      const fired = ticks.slice(0, 3).map((t) => Date.parse(t));
      assert.ok(fired.every((t) => new Date(t).getUTCHours() === 0 && new Date(t).getUTCMinutes() === 0), ticks.join(', '));
      assert.deepEqual([fired[1]! - fired[0]!, fired[2]! - fired[1]!], [DAY, DAY]);
      await waitUntil(() => clock.pendingTimers().length === 1, { message: 'the schedule waiting for its next tick' });

      // A week-long sleep.
      const sleeper = await DBOS.startWorkflow(weekLongSleep, { workflowID: 'sleeper' })();
      await clock.waitForTimers(2);
      const wakeAt = Math.max(...clock.pendingTimers());
      assert.ok(wakeAt - clock.now() > 6 * DAY, 'asleep for a week');
      await clock.advance('7 days');
      assert.ok((await sleeper.getResult()) >= 7 * DAY, 'DBOS.now() moved a week on');
      const client = await DBOSClient.create({ systemDatabaseUrl: rt.systemDatabaseUrl });
      try {
        const steps = await client.listWorkflowSteps('sleeper');
        assert.equal(steps!.find((s) => s.name === 'DBOS.sleep')!.output, wakeAt, 'the wake-up time recorded is virtual');
      } finally {
        await client.destroy();
      }
      await waitUntil(() => clock.pendingTimers().length === 1, { message: 'the schedule waiting for its next tick' });

      // recv and getEvent time out when the clock passes their timeouts, not before.
      const approval = await DBOS.startWorkflow(waitForApproval)();
      const event = await DBOS.startWorkflow(waitForEvent)('nobody');
      await clock.waitForTimers(3);
      await clock.advance('59 minutes');
      assert.equal((await approval.getStatus())!.status, 'PENDING');
      await clock.advance('1 minute');
      assert.equal(await approval.getResult(), null, 'recv timed out after an hour');
      assert.equal((await event.getStatus())!.status, 'PENDING', 'getEvent waits two hours');
      await clock.advance('1 hour');
      assert.equal(await event.getResult(), null, 'getEvent timed out after two hours');
      await waitUntil(() => clock.pendingTimers().length === 1, { message: 'the schedule waiting for its next tick' });

      // A deadline of two days cancels a workflow that sleeps three.
      const late = await DBOS.startWorkflow(slow, { timeoutMS: 2 * DAY })();
      await clock.waitForTimers(3); // its deadline and its sleep
      await clock.advance('2 days');
      await assert.rejects(late.getResult(), DBOSAwaitedWorkflowCancelledError);
    } finally {
      await rt.shutdown();
    }
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 20, `${seconds} s of real time`);
  });
});
