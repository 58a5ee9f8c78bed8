// A clock that tests move: `await clock.advance('3 days')`, and a workflow asleep for three days wakes at once. It
// replaces the engine's clock (src/runtime/clock.ts) for the whole process: durable sleeps, recv and getEvent
// timeouts, workflow deadlines, step timeouts and retry intervals, DBOS.now() and cron schedules in code or in the
// database all read it and wait on it. It runs with real time and jumps forward when told (so it is never behind the
// database's clock, which keeps the deadline sweep from firing early). Queue delays and rate limits are counted on
// the database's clock and do not move with it.

import { MAX_TIMER_MS } from '../runtime/context.js';
import { installedClock, setEngineClock, type EngineClock } from '../runtime/clock.js';

interface Timer {
  at: number;
  fn: () => void;
  handle?: NodeJS.Timeout;
}

const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
};

/** Milliseconds in a duration: a number of ms, or text such as `90s`, `15 minutes`, `3 days`, `1w`. */
export function parseDuration(duration: number | string): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new RangeError(`a duration must be a finite number of ms, 0 or more; got ${duration}`);
    return duration;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$/i.exec(duration);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new RangeError(`not a duration: ${JSON.stringify(duration)} (write e.g. 500ms, 90s, 15m, 2 hours, 3 days, 1 week)`);
  return Math.round(Number(m[1]) * unit);
}

export class VirtualClock implements EngineClock {
  private offset = 0;
  private readonly timers = new Set<Timer>();
  private installed = false;

  now(): number {
    return Date.now() + this.offset;
  }

  /** How far this clock is ahead of real time (ms). */
  get skippedMs(): number {
    return this.offset;
  }

  callAt(epochMs: number, fn: () => void): () => void {
    const timer: Timer = { at: epochMs, fn };
    this.timers.add(timer);
    this.arm(timer);
    return () => {
      clearTimeout(timer.handle);
      this.timers.delete(timer);
    };
  }

  /** The times (epoch ms, this clock's) that engine timers are waiting for, earliest first. */
  pendingTimers(): number[] {
    return [...this.timers].map((t) => t.at).sort((a, b) => a - b);
  }

  /**
   * Waits (in real time, at most `timeoutMs`) until at least `count` timers are waiting: a workflow has reached its
   * sleep, its recv, its deadline. Advance after this, or the workflow may only start waiting after the jump.
   */
  async waitForTimers(count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.timers.size < count) {
      if (Date.now() > deadline) throw new Error(`VirtualClock: ${this.timers.size} timer(s) waiting after ${timeoutMs} ms, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Moves time forward by `duration` (`'3 days'`, `'90s'`, or ms): every timer due by then fires, earliest first, and
   * the rest wait for what is left of them. Resolves once the fired timers' callbacks have run.
   */
  async advance(duration: number | string): Promise<void> {
    this.offset += parseDuration(duration);
    const due = [...this.timers].filter((t) => t.at <= this.now()).sort((a, b) => a.at - b.at);
    for (const t of due) this.fire(t);
    for (const t of this.timers) this.arm(t);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Puts this clock in place of the engine's (every engine of this process). */
  install(): this {
    const current = installedClock();
    if (current && current !== this) throw new Error('another virtual clock is installed: uninstall it first');
    setEngineClock(this);
    this.installed = true;
    return this;
  }

  /** The real clock again (timers already waiting still fire when this clock reaches their time). */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    if (installedClock() === this) setEngineClock(undefined);
  }

  private arm(timer: Timer): void {
    clearTimeout(timer.handle);
    const left = timer.at - this.now();
    timer.handle = left <= 0 ? setTimeout(() => this.fire(timer), 0) : setTimeout(() => this.arm(timer), Math.min(left, MAX_TIMER_MS));
    timer.handle.unref?.();
  }

  private fire(timer: Timer): void {
    clearTimeout(timer.handle);
    if (!this.timers.delete(timer)) return;
    timer.fn();
  }
}

/** A virtual clock, installed for every engine of this process until `uninstall()`. */
export function useVirtualClock(): VirtualClock {
  return new VirtualClock().install();
}
