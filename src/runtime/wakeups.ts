// Waiting for something to change in the database (a workflow's outcome, a message, an event, a stream value)
// without waiting on a timer. A waiter registers under a key; whoever makes the change (this process, or a NOTIFY
// from another) wakes that key. Every wait is bounded by a poll interval, the safety net for a lost notification.

import { engineNow, installedClock } from './clock.js';
import { callAt } from './context.js';

export class Wakeups {
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * Resolves when `key` is woken, after `timeoutMs`, or when `signal` fires, whichever is first. Register before
   * checking the condition (`prepare`), so a wake between the check and the wait is not lost.
   */
  prepare(key: string | readonly string[]): { wait(timeoutMs: number, signal?: AbortSignal): Promise<void>; cancel(): void } {
    const keys = typeof key === 'string' ? [key] : key;
    let wake!: () => void;
    const woken = new Promise<void>((r) => (wake = r));
    for (const k of keys) {
      let set = this.waiters.get(k);
      if (!set) this.waiters.set(k, (set = new Set()));
      set.add(wake);
    }
    const cancel = () => {
      for (const k of keys) {
        const s = this.waiters.get(k);
        s?.delete(wake);
        if (s?.size === 0) this.waiters.delete(k);
      }
    };
    return {
      wait: async (timeoutMs, signal) => {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = () => wake();
        try {
          signal?.addEventListener('abort', onAbort, { once: true });
          if (signal?.aborted) return;
          timer = setTimeout(wake, Math.max(0, timeoutMs));
          await woken;
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          cancel();
        }
      },
      cancel,
    };
  }

  wake(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const w of set) w();
  }

  /** After a lost notification connection: everyone re-checks. */
  wakeAll(): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of all) for (const w of set) w();
  }

  hasWaiters(key: string): boolean {
    return this.waiters.has(key);
  }
}

/**
 * Polls `check` until it returns a value (not undefined), waking early on `key` (or any of several keys), until
 * `deadlineEpochMS`. Returns undefined at the deadline.
 */
export async function waitFor<T>(
  wakeups: Wakeups,
  key: string | readonly string[],
  check: () => Promise<T | undefined>,
  options: { deadlineEpochMS?: number; pollIntervalMs: number; signal?: AbortSignal },
): Promise<T | undefined> {
  for (;;) {
    const waiter = wakeups.prepare(key);
    let result: T | undefined;
    try {
      result = await check();
    } catch (err) {
      waiter.cancel();
      throw err;
    }
    if (result !== undefined) {
      waiter.cancel();
      return result;
    }
    const now = engineNow();
    if ((options.deadlineEpochMS !== undefined && now >= options.deadlineEpochMS) || options.signal?.aborted) {
      waiter.cancel();
      return undefined;
    }
    const untilDeadline = options.deadlineEpochMS === undefined ? Infinity : options.deadlineEpochMS - now;
    // A test's virtual clock (clock.ts) may reach the deadline before any real timer would: it wakes the wait.
    const disarm = options.deadlineEpochMS !== undefined && installedClock() ? callAt(options.deadlineEpochMS, () => (typeof key === 'string' ? [key] : key).forEach((k) => wakeups.wake(k))) : undefined;
    try {
      await waiter.wait(Math.min(options.pollIntervalMs, untilDeadline), options.signal);
    } finally {
      disarm?.();
    }
  }
}
