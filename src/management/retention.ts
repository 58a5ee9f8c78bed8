// Retention and the global timeout, written once for the engine's background duty (src/ops/retention.ts), the
// client (DBOSClient.garbageCollect, globalTimeout) and the command line (`transact gc`, `transact cancel
// --older-than`).
//
// A collection pass takes the `retention` lease (one collector at a time in the whole database, whichever process
// or tool it runs in), fixes its cutoff once on the database clock, and deletes in batches until a batch comes back
// short. Between batches it renews the lease, and may pause (`pauseBetweenBatches`) so that a long pass over a large
// history shares the database with the application's own work instead of keeping a connection busy.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SqlDriver } from '../sysdb/driver.js';
import {
  cancelBatchOlderThan,
  collectBatch,
  countCollectable,
  countOlderActive,
  databaseNow,
  keepBoundary,
  leaseHolder,
  releaseLease,
  takeLease,
} from '../sysdb/retention.js';

/** The one lease every collector takes. */
export const RETENTION_LEASE = 'retention';
const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_RETENTION_BATCH = 500;
/** A background pass pauses this many times as long as each batch took. */
const PROPORTIONAL_PAUSE = 2;

/**
 * The part of `AbortSignal` a pass reads, spelled out so that the published types
 * compile in projects without DOM or Node typings.
 */
export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface GarbageCollectOptions {
  /** Delete finished workflows created (and last updated) more than this long ago (ms). */
  olderThanMs?: number;
  /** Or before this time (epoch ms, DBOS's `cutoff_epoch_timestamp_ms`). */
  cutoffEpochMs?: number;
  /** Keep at most this many of the newest workflows: finished ones older than the newest this many go too. */
  maxWorkflows?: number;
  /** Only this application's rows (and unclaimed ones); every application's when unset. */
  applicationName?: string | null;
  /** Rows per batch (default 500). */
  batchSize?: number;
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /**
   * Pause between batches: a number of ms, or 'proportional' to wait twice as long as the last batch took (a
   * background pass then keeps one connection busy a third of the time at most). Default none.
   */
  pauseBetweenBatches?: number | 'proportional';
  /** Who collects (shown as the lease's holder); default this host and process. */
  holder?: string;
  /** Called with the IDs each batch deleted (for what lives outside the system database, and for metrics). */
  onBatch?: (workflowIDs: string[], elapsedMs: number) => void | Promise<void>;
  /** Stops the pass between batches (an `AbortSignal`). */
  signal?: StopSignal;
}

export interface GarbageCollectResult {
  /** The cutoff used (epoch ms on the database clock); null when no limit applied (nothing to collect). */
  cutoffEpochMs: number | null;
  /** Workflows deleted (or, on a dry run, that would be). */
  deleted: number;
  batches: number;
  dryRun: boolean;
  /** Set when another collector holds the lease: nothing was done. */
  skipped?: { holder: string };
}

function holderName(given?: string): string {
  return given ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

function checkPositive(what: string, value: number | undefined, allowZero = false): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${what} must be a positive number${allowZero ? ' or 0' : ''}, got ${value}`);
  }
}

/** The cutoff the options ask for, on the database clock: the later of the age limit and the count limit. */
async function cutoffOf(db: SqlDriver, options: GarbageCollectOptions): Promise<number | null> {
  const app = options.applicationName ?? null;
  const candidates: number[] = [];
  if (options.cutoffEpochMs !== undefined) candidates.push(options.cutoffEpochMs);
  if (options.olderThanMs !== undefined) candidates.push((await databaseNow(db)) - options.olderThanMs);
  if (options.maxWorkflows !== undefined) {
    const boundary = await keepBoundary(db, app, options.maxWorkflows);
    if (boundary !== null) candidates.push(boundary);
  }
  return candidates.length > 0 ? Math.max(...candidates) : null;
}

/** Deletes finished workflows past the limits, with everything they own, in batches under the retention lease. */
export async function garbageCollect(db: SqlDriver, options: GarbageCollectOptions): Promise<GarbageCollectResult> {
  checkPositive('olderThanMs', options.olderThanMs, true);
  checkPositive('cutoffEpochMs', options.cutoffEpochMs, true);
  checkPositive('maxWorkflows', options.maxWorkflows, true);
  checkPositive('batchSize', options.batchSize);
  if (options.olderThanMs === undefined && options.cutoffEpochMs === undefined && options.maxWorkflows === undefined) {
    throw new RangeError('garbageCollect needs a limit: olderThanMs, cutoffEpochMs or maxWorkflows');
  }
  const app = options.applicationName ?? null;
  const dryRun = options.dryRun === true;
  if (dryRun) {
    const cutoff = await cutoffOf(db, options);
    const deleted = cutoff === null ? 0 : await countCollectable(db, cutoff, app);
    return { cutoffEpochMs: cutoff, deleted, batches: 0, dryRun };
  }
  const holder = holderName(options.holder);
  const leaseMs = DEFAULT_LEASE_MS;
  if (!(await takeLease(db, RETENTION_LEASE, holder, leaseMs))) {
    const current = await leaseHolder(db, RETENTION_LEASE);
    return { cutoffEpochMs: null, deleted: 0, batches: 0, dryRun, skipped: { holder: current?.holder ?? 'another collector' } };
  }
  let renewedAt = performance.now();
  let deleted = 0;
  let batches = 0;
  try {
    const cutoff = await cutoffOf(db, options);
    if (cutoff === null) return { cutoffEpochMs: null, deleted, batches, dryRun };
    const limit = options.batchSize ?? DEFAULT_RETENTION_BATCH;
    for (;;) {
      if (options.signal?.aborted) break;
      if (performance.now() - renewedAt > leaseMs / 3) {
        // Lost meanwhile (this process stalled past the lease): another collector goes on; stop here.
        if (!(await takeLease(db, RETENTION_LEASE, holder, leaseMs))) break;
        renewedAt = performance.now();
      }
      const startedAt = performance.now();
      const ids = await collectBatch(db, cutoff, app, limit);
      const elapsed = performance.now() - startedAt;
      batches++;
      deleted += ids.length;
      if (ids.length > 0) await options.onBatch?.(ids, elapsed);
      if (ids.length < limit) break;
      const pause = options.pauseBetweenBatches === 'proportional' ? elapsed * PROPORTIONAL_PAUSE : (options.pauseBetweenBatches ?? 0);
      if (pause > 0) await sleep(pause, options.signal);
    }
    return { cutoffEpochMs: cutoff, deleted, batches, dryRun };
  } finally {
    await releaseLease(db, RETENTION_LEASE, holder).catch(() => {});
  }
}

export interface GlobalTimeoutOptions {
  /** Cancel active workflows created more than this long ago (ms). */
  olderThanMs?: number;
  /** Or before this time (epoch ms). */
  cutoffEpochMs?: number;
  applicationName?: string | null;
  batchSize?: number;
  dryRun?: boolean;
  /** Called with each batch of cancelled IDs (the engine stops its own runs of them at once). */
  onBatch?: (workflowIDs: string[]) => void;
}

export interface GlobalTimeoutResult {
  cutoffEpochMs: number;
  /** Workflows cancelled (or, on a dry run, that would be). */
  cancelled: number;
  dryRun: boolean;
}

/**
 * DBOS's global timeout: cancels every PENDING, ENQUEUED or DELAYED workflow created before the cutoff, as a cancel
 * of each would (its executor stops it; a cancelled workflow can be resumed).
 */
export async function globalTimeout(db: SqlDriver, options: GlobalTimeoutOptions): Promise<GlobalTimeoutResult> {
  checkPositive('olderThanMs', options.olderThanMs, true);
  checkPositive('cutoffEpochMs', options.cutoffEpochMs, true);
  checkPositive('batchSize', options.batchSize);
  let cutoff: number;
  if (options.cutoffEpochMs !== undefined) cutoff = options.cutoffEpochMs;
  else if (options.olderThanMs !== undefined) cutoff = (await databaseNow(db)) - options.olderThanMs;
  else throw new RangeError('globalTimeout needs olderThanMs or cutoffEpochMs');
  const app = options.applicationName ?? null;
  if (options.dryRun) return { cutoffEpochMs: cutoff, cancelled: await countOlderActive(db, cutoff, app), dryRun: true };
  const limit = options.batchSize ?? DEFAULT_RETENTION_BATCH;
  let cancelled = 0;
  for (;;) {
    const ids = await cancelBatchOlderThan(db, cutoff, app, limit);
    cancelled += ids.length;
    if (ids.length > 0) options.onBatch?.(ids);
    if (ids.length < limit) break;
  }
  return { cutoffEpochMs: cutoff, cancelled, dryRun: false };
}

function sleep(ms: number, signal?: StopSignal): Promise<void> {
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
