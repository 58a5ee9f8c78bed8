// The clock of durable time: durable sleeps, recv and getEvent timeouts, workflow deadlines, step timeouts and retry
// intervals, DBOS.now() and cron ticks read the time here and wait through callAt (context.ts), so that a test can
// move time on (TESTING HOOK: transact/testing's virtual clock, src/testing/clock.ts). Unset, it is Date.now() and
// Node's timers. Time the database keeps (queue delays, rate limits, the deadline sweep) is the database's clock.

export interface EngineClock {
  now(): number;
  /** Calls `fn` once this clock reads `epochMs` or later; returns a cancel function. */
  callAt(epochMs: number, fn: () => void): () => void;
}

let installed: EngineClock | undefined;

/** The engine's time now (epoch ms). */
export function engineNow(): number {
  return installed ? installed.now() : Date.now();
}

/** The clock installed in place of the real one, if any. */
export function installedClock(): EngineClock | undefined {
  return installed;
}

/** TESTING HOOK: installs a clock for every engine of this process (undefined: the real one again). */
export function setEngineClock(clock: EngineClock | undefined): void {
  installed = clock;
}
