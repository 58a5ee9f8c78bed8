// Cron expressions and the timer loop, without a database: 5- and 6-field expressions, time zones across a daylight
// saving change, strict parsing, and a loop that fires past ticks at once, in order, and waits for far ones without
// asking Node for a timer longer than it can hold.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DBOSInvalidScheduleError } from '../../src/index.js';
import { CronSchedule } from '../../src/scheduler/cron.js';
import { TickLoop } from '../../src/scheduler/tick-loop.js';
import { ConsoleLogger } from '../../src/logger.js';

const iso = (dates: Iterable<Date>) => [...dates].map((d) => d.toISOString());
const quiet = new ConsoleLogger('silent');

describe('cron expressions', () => {
  it('reads 5 fields at minute precision and 6 fields with a leading seconds field', () => {
    const minutes = CronSchedule.parse('*/15 * * * *');
    assert.deepEqual(iso(minutes.ticksBetween(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:31:00Z'))), [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
    ]);
    const seconds = CronSchedule.parse('*/20 * * * * *');
    assert.deepEqual(iso(seconds.ticksBetween(new Date('2026-01-01T00:00:00.500Z'), new Date('2026-01-01T00:01:00Z'))), [
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
    ]);
    assert.equal(seconds.nextAfter(new Date('2026-01-01T00:00:20.000Z'))?.toISOString(), '2026-01-01T00:00:40.000Z', 'strictly after');
  });

  it('reads the expression in its time zone, across a daylight saving change', () => {
    const paris = CronSchedule.parse('30 2 * * *', 'Europe/Paris');
    // Clocks go from 02:00 to 03:00 on 29 March 2026 in Paris: 02:30 does not exist that day.
    const ticks = iso(paris.ticksBetween(new Date('2026-03-27T00:00:00Z'), new Date('2026-03-31T00:00:00Z')));
    assert.equal(ticks[0], '2026-03-27T01:30:00.000Z');
    assert.equal(ticks.at(-1), '2026-03-30T00:30:00.000Z');
  });

  it('accepts names, lists, ranges and nicknames, and ORs day of month with day of week', () => {
    for (const e of ['0 9 * * MON-FRI', '0 0 1,15 JAN,JUL *', '@hourly', '0 12 L * *', '0 0 * * 5#2']) CronSchedule.parse(e);
    const either = CronSchedule.parse('0 0 13 * FRI');
    const days = [...either.ticksBetween(new Date('2026-04-01T00:00:00'), new Date('2026-04-16T00:00:00'))].map((d) => d.getDate());
    assert.deepEqual(days, [3, 10, 13], 'April 2026: the Fridays, and Monday the 13th');
  });

  it('rejects what does not parse, never fires, or names an unknown time zone', () => {
    for (const e of ['', '* * * *', '* * * * * * *', '60 * * * *', '* * 32 * *', 'every minute', '0 0 30 2 *']) {
      assert.throws(() => CronSchedule.parse(e), DBOSInvalidScheduleError, e);
    }
    assert.throws(() => CronSchedule.parse('* * * * *', 'Europe/Atlantis'), DBOSInvalidScheduleError);
  });
});

describe('the tick loop', () => {
  it('fires the ticks already past at once and in order, then waits for the next', async () => {
    const fired: string[] = [];
    const after = Date.now() - 3500;
    const cron = CronSchedule.parse('* * * * * *');
    const loop = new TickLoop({ name: 'past', cron, after, logger: quiet, fire: async (t) => void fired.push(t.toISOString()) });
    loop.start();
    await new Promise((r) => setImmediate(r));
    await loop.stop();
    assert.deepEqual(fired, iso(cron.ticksBetween(new Date(after + 1), new Date(Date.now() - 1))).slice(0, fired.length));
    assert.ok(fired.length >= 3, `${fired.length} past ticks fired`);
  });

  it('waits for a tick years away without firing early, and stops at once', async () => {
    const fired: Date[] = [];
    const loop = new TickLoop({
      name: 'far',
      cron: CronSchedule.parse('0 0 29 2 *'), // the next 29 February: well past Node's longest timer (24.8 days)
      after: Date.now(),
      logger: quiet,
      fire: async (t) => void fired.push(t),
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 20));
    await loop.stop();
    assert.deepEqual(fired, []);
  });

  it('goes on after a tick that fails to fire', async () => {
    const fired: string[] = [];
    const cron = CronSchedule.parse('* * * * * *');
    const loop = new TickLoop({
      name: 'flaky',
      cron,
      after: Date.now() - 2500,
      logger: quiet,
      fire: async (t) => {
        if (fired.length === 0) {
          fired.push('failed');
          throw new Error('database away');
        }
        fired.push(t.toISOString());
      },
    });
    loop.start();
    await new Promise((r) => setImmediate(r));
    await loop.stop();
    assert.equal(fired[0], 'failed');
    assert.ok(fired.length >= 2);
  });
});
