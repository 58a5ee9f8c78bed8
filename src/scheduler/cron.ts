// Cron expressions: parsing and "the next tick after t", through `croner` (no dependencies, seconds, IANA time
// zones, strict parsing). Everything else in the scheduler sees only this small interface.
//
// Accepted: 5 fields (minute precision, ticks at second 0) or 6 fields (a leading seconds field), names (JAN, MON),
// ranges, lists, steps, L/W/#, `?` and the @hourly/@daily/… nicknames. Day of month and day of week combine with OR
// when both are restricted, as in Vixie cron and DBOS.

import { Cron } from 'croner';
import { DBOSInvalidScheduleError } from '../errors.js';

export class CronSchedule {
  private constructor(
    readonly expression: string,
    readonly timezone: string | undefined,
    private readonly cron: Cron,
  ) {}

  /**
   * Parses and checks an expression (and its time zone, if given). Throws DBOSInvalidScheduleError for an expression
   * that does not parse, an unknown time zone, or a schedule that never fires.
   */
  static parse(expression: string, timezone?: string | null): CronSchedule {
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw new DBOSInvalidScheduleError(`A schedule needs a cron expression, got ${JSON.stringify(expression)}`);
    }
    const zone = timezone || undefined;
    if (zone !== undefined) validateTimezone(zone);
    let cron: Cron;
    try {
      cron = new Cron(expression.trim(), { paused: true, mode: '5-or-6-parts', timezone: zone });
    } catch (err) {
      throw new DBOSInvalidScheduleError(
        `Invalid cron expression ${JSON.stringify(expression)}: ${(err as Error).message}. ` +
          'Use 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field.',
        { cause: err },
      );
    }
    const schedule = new CronSchedule(expression, zone, cron);
    if (!schedule.nextAfter(new Date())) {
      throw new DBOSInvalidScheduleError(`The cron expression ${JSON.stringify(expression)} never fires`);
    }
    return schedule;
  }

  /** The first tick strictly after `after` (ticks are whole seconds), or null if there is none. */
  nextAfter(after: Date | number): Date | null {
    const from = typeof after === 'number' ? new Date(after) : after;
    return this.cron.nextRun(from);
  }

  /** The ticks `t` with start <= t < end, in order. */
  *ticksBetween(start: Date, end: Date): Generator<Date> {
    let cursor: Date | null = new Date(start.getTime() - 1);
    for (;;) {
      cursor = this.nextAfter(cursor);
      if (!cursor || cursor.getTime() >= end.getTime()) return;
      yield cursor;
    }
  }
}

/** Throws DBOSInvalidScheduleError unless `timezone` is an IANA time zone this runtime knows. */
export function validateTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (err) {
    throw new DBOSInvalidScheduleError(
      `Unknown time zone ${JSON.stringify(timezone)}: use an IANA time zone name such as "America/New_York" or "UTC"`,
      { cause: err },
    );
  }
}
