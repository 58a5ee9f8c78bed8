// When PostgreSQL restarts or the network drops, statements fail with connection errors that say nothing about the
// statement itself. Those are retried with exponential backoff (dbos-spec §3.13); every statement of the engine is
// written so that running it again after a lost reply is safe (upserts, owner-fenced updates, token-checked inserts),
// except the few marked `retry: false`, whose callers reconcile an answer they did not get (the queue claim).
//
// How long to keep trying depends on who asked. A call from outside any workflow (an API call, a client, launch)
// gives up after the policy's timeout and reports the outage to its caller. A workflow run's own writes (its
// checkpoints, its outcome, its messages) never give up: an outage must pause a run, never decide its outcome, so
// they wait until the database is back or the run is stopped. The runtime marks such calls with `patiently`.

import { AsyncLocalStorage } from 'node:async_hooks';
import { dbErrors } from '../metrics/instruments.js';

export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up (and throw the last error) after this long; calls made `patiently` never give up. */
  timeoutMs: number;
}

/** The scope of a call that must outlast any outage: it stops trying only when `signal` fires. */
export interface Patience {
  signal?: AbortSignal;
}

const patience = new AsyncLocalStorage<Patience>();

/** Runs `fn` so that the statements it issues (in this async context) retry transient failures until they succeed. */
export function patiently<T>(scope: Patience, fn: () => T): T {
  return patience.run(scope, fn);
}

/** Statements issued inside `fn` give up after the policy's timeout again (a run's calls on behalf of someone else). */
export function impatiently<T>(fn: () => T): T {
  return patience.exit(fn);
}

const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '57'];
const TRANSIENT_SQLSTATES = new Set(['40003', '25P03', '40P01', '40001', '55P03']);
const NOT_TRANSIENT = new Set(['57014']); // query_canceled: a statement timeout is the caller's decision
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLite: another process holds the write lock past the busy timeout, or the disk is momentarily full.
const SQLITE_TRANSIENT = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED', 'SQLITE_FULL']);
const NETWORK_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'connection is closed',
  'Client was closed',
  'timeout exceeded when trying to connect',
];

export function isTransientDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NOT_TRANSIENT.has(code)) return false;
    if (TRANSIENT_SQLSTATES.has(code) || NETWORK_CODES.has(code) || SQLITE_TRANSIENT.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return NETWORK_MESSAGES.some((m) => err.message.includes(m));
}

/** How often a patient call that keeps failing says so (it logs through `onWait`). */
const REPORT_EVERY_MS = 10_000;

export async function withRetries<T>(
  policy: RetryPolicy,
  fn: () => Promise<T>,
  onWait?: (err: unknown, waitedMs: number) => void,
): Promise<T> {
  const scope = patience.getStore();
  const startedAt = Date.now();
  const giveUpAt = scope ? Infinity : startedAt + policy.timeoutMs;
  let delay = policy.initialDelayMs;
  let reportedAt = startedAt;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const transient = isTransientDatabaseError(err);
      dbErrors.inc(transient ? 'transient' : 'other');
      if (!transient || Date.now() + delay > giveUpAt || scope?.signal?.aborted) throw err;
      if (onWait && Date.now() - reportedAt >= REPORT_EVERY_MS) {
        reportedAt = Date.now();
        onWait(err, reportedAt - startedAt);
      }
      // Jitter keeps a crowd of executors from reconnecting in lockstep after an outage.
      await pause(delay * (0.75 + Math.random() * 0.5), scope?.signal);
      if (scope?.signal?.aborted) throw err;
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether statements issued here would outlast an outage (see `patiently`). */
export function isPatient(): boolean {
  return patience.getStore() !== undefined;
}
