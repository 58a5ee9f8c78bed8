// Background retention (DBOSConfig.retention): every `intervalMs`, one pass of the global timeout (when set) and one
// collection pass (src/management/retention.ts). Every executor of the application runs the duty; the `retention`
// lease lets one of them collect at a time, and the others' passes that find it held do nothing that round. A pass
// deletes 200 rows per batch and pauses twice as long as each batch took, so it keeps one connection busy a third
// of the time at most, and a claim or checkpoint that arrives during a batch waits for a short one.

import { globalTimeout, garbageCollect, type GarbageCollectResult } from '../management/retention.js';
import { globalTimeoutCancelled, retentionBatch, retentionDeleted, retentionPasses } from '../metrics/instruments.js';
import type { RetentionConfig } from '../runtime/config.js';
import type { Executor } from '../runtime/executor.js';

export const DEFAULT_RETENTION_INTERVAL_MS = 300_000;
/** Smaller than a command's batches: a background batch holds its locks (on SQLite, the write lock) briefly. */
export const BACKGROUND_BATCH = 200;
/** The first pass, a few seconds after launch (jittered, so a fleet started together does not collide). */
const FIRST_PASS_MS = 5_000;

/**
 * Something kept outside the system database for each workflow (a data source's completion rows in the application
 * database): told the IDs of every batch retention deleted, after the batch committed. Best effort: a participant that
 * fails is logged, and retention goes on.
 */
export type RetentionParticipant = (workflowIDs: string[]) => Promise<void>;

const participants = new Set<RetentionParticipant>();

/** Registers a participant; returns the function that removes it. */
export function registerRetentionParticipant(participant: RetentionParticipant): () => void {
  participants.add(participant);
  return () => participants.delete(participant);
}

export function checkRetentionConfig(config: RetentionConfig): void {
  const positive = (what: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`retention.${what} must be a positive number, got ${v}`);
  };
  positive('maxAgeMs', config.maxAgeMs);
  positive('globalTimeoutMs', config.globalTimeoutMs);
  positive('intervalMs', config.intervalMs);
  positive('batchSize', config.batchSize);
  if (config.maxWorkflows !== undefined && !(Number.isInteger(config.maxWorkflows) && config.maxWorkflows >= 0)) {
    throw new RangeError(`retention.maxWorkflows must be a whole number, got ${config.maxWorkflows}`);
  }
}

export class RetentionDuty {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly abort = new AbortController();
  private stopped = false;
  /** The last pass's collection, for tests and the health report. */
  lastResult?: GarbageCollectResult;
  passes = 0;

  constructor(
    private readonly executor: Executor,
    private readonly config: RetentionConfig,
    private readonly holder: string,
  ) {
    checkRetentionConfig(config);
  }

  get intervalMs(): number {
    return this.config.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
  }

  start(): void {
    this.schedule(Math.min(this.intervalMs, FIRST_PASS_MS) * (0.5 + Math.random() * 0.5));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs * (0.9 + Math.random() * 0.2));
      });
    }, ms);
    this.timer.unref();
  }

  /** One pass now (also for tests): the global timeout, then collection. */
  async pass(): Promise<void> {
    const { executor, config } = this;
    const db = executor.db;
    const app = executor.identity.applicationName;
    try {
      if (config.globalTimeoutMs !== undefined) {
        const result = await globalTimeout(db, {
          olderThanMs: config.globalTimeoutMs,
          applicationName: app,
          batchSize: config.batchSize,
          onBatch: (ids) => ids.forEach((id) => executor.stopLocal(id)),
        });
        if (result.cancelled > 0) {
          globalTimeoutCancelled.add(result.cancelled);
          executor.logger.warn(
            `Global timeout: cancelled ${result.cancelled} workflow(s) created more than ${Math.round(config.globalTimeoutMs / 1000)} s ago`,
          );
        }
      }
      if (config.maxAgeMs === undefined && config.maxWorkflows === undefined) return;
      const result = await garbageCollect(db, {
        olderThanMs: config.maxAgeMs,
        maxWorkflows: config.maxWorkflows,
        applicationName: app,
        batchSize: config.batchSize ?? BACKGROUND_BATCH,
        pauseBetweenBatches: 'proportional',
        holder: this.holder,
        signal: this.abort.signal,
        onBatch: async (ids, elapsedMs) => {
          retentionDeleted.add(ids.length);
          retentionBatch.observe(elapsedMs / 1000);
          for (const participant of participants) {
            await participant(ids).catch((err) => executor.logger.warn('A retention participant failed:', err));
          }
        },
      });
      this.lastResult = result;
      this.passes++;
      retentionPasses.inc(result.skipped ? 'skipped' : 'done');
      if (result.deleted > 0) {
        executor.logger.info(`Retention: deleted ${result.deleted} finished workflow(s) in ${result.batches} batch(es)`);
      }
    } catch (err) {
      retentionPasses.inc('failed');
      if (!this.stopped) executor.logger.warn('Retention pass failed (the next pass tries again):', err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }
}
