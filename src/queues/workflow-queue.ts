// Queue declarations. Two forms, one class:
//   - `new WorkflowQueue(name, options)` at module load: the documented 4.x form the seed README uses. The queue lives
//     in this process's memory, and every process that declares it dispatches from it.
//   - `await DBOS.registerQueue(name, options)` after launch (5.x): the queue is a row of `queues`, shared by every
//     process of the application; its `set*` methods write the row and every process picks the change up.

import { checkKey, MAX_DURATION_MS } from '../validation.js';
import { MAX_TIMER_MS } from '../runtime/context.js';
import { DBOSInitializationError } from '../errors.js';
import type { QueueConflictResolution, QueueRecord } from '../sysdb/queue-registry.js';
import type { ClaimLimits, RateLimitWindow } from '../sysdb/queues.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';

export interface QueueRateLimit {
  limitPerPeriod: number;
  periodSec: number;
}

/** Every option of a queue (DBOS 5.3.0's QueueParameters, plus the 4.x options `new WorkflowQueue` accepts). */
export interface QueueOptions {
  /** Older name of globalConcurrency. */
  concurrency?: number;
  /** At most this many of the queue's workflows run at once, over all processes. */
  globalConcurrency?: number;
  /** At most this many of the queue's workflows run at once in each process. */
  workerConcurrency?: number;
  /** At most `limitPerPeriod` workflows start in any `periodSec` seconds (a sliding window), over all processes. */
  rateLimit?: QueueRateLimit;
  /** 4.x: priorities are always honoured now; accepted by `new WorkflowQueue` for old code. */
  priorityEnabled?: boolean;
  /** 4.x: a partitioned queue whose limits (concurrency, workerConcurrency, rateLimit) apply to each partition. */
  partitionQueue?: boolean;
  /** At most this many workflows of one partition run at once, over all processes. Setting any partition limit
   * partitions the queue: every enqueue must then give a `queuePartitionKey`. */
  partitionConcurrency?: number;
  /** At most this many workflows of one partition run at once in each process. */
  partitionWorkerConcurrency?: number;
  /** A rate limit for each partition. */
  partitionRateLimit?: QueueRateLimit;
  /** The safety-net poll (default 1000 ms); enqueues and freed slots wake the dispatcher at once. */
  minPollingIntervalMs?: number;
}

export type { QueueConflictResolution };

/** DBOS 5.3.0's QueueParameters: what `registerQueue` and the `set*` methods accept. */
export type QueueParameters = Omit<QueueOptions, 'priorityEnabled' | 'partitionQueue'>;

export interface RegisterQueueOptions extends QueueParameters {
  /** What to do when the queue already has a row (default `update_if_latest_version`). */
  onConflict?: QueueConflictResolution;
}

/** Where a database-backed queue reads and writes its row (given by the runtime; not part of the public API). */
export interface QueueBacking {
  read(name: string): Promise<QueueRecord | undefined>;
  update(name: string, change: (current: QueueRecord) => QueueRecord): Promise<QueueRecord | undefined>;
}

const declared = new Map<string, WorkflowQueue>();
const declarationListeners = new Set<(queue: WorkflowQueue) => void>();

export class WorkflowQueue {
  /** The queue-wide concurrency limit (over all processes and partitions). Cached: use the getters for a fresh value. */
  concurrency?: number;
  workerConcurrency?: number;
  rateLimit?: QueueRateLimit;
  priorityEnabled: boolean;
  partitionQueue: boolean;
  partitionConcurrency?: number;
  partitionWorkerConcurrency?: number;
  partitionRateLimit?: QueueRateLimit;
  minPollingIntervalMs: number;
  /** The owning application of a registered queue; undefined for queues declared in code and unclaimed ones. */
  applicationName?: string;
  /** The queue's configuration is a row of `queues` (DBOS.registerQueue), not a declaration in this process's code. */
  readonly databaseBacked: boolean;
  private readonly backing?: QueueBacking;

  /** Declares a queue in this process (the 4.x form; `DBOS.registerQueue` stores one in the database instead). */
  constructor(name: string, options?: QueueOptions);
  /** @internal A database-backed queue, made by the runtime from its row. */
  constructor(name: string, options: QueueOptions, backing: QueueBacking);
  constructor(
    readonly name: string,
    options: QueueOptions = {},
    backing?: QueueBacking,
  ) {
    if (!name) throw new DBOSInitializationError('A queue needs a name');
    if (!backing) checkKey('queueName', name); // a stored row's name is read as it is
    validateQueueOptions(name, options);
    this.databaseBacked = backing !== undefined;
    this.backing = backing;
    this.priorityEnabled = options.priorityEnabled ?? true;
    this.partitionQueue = false;
    this.minPollingIntervalMs = 1000;
    this.apply(options);
    if (backing) return;
    if (declared.has(name) && name !== INTERNAL_QUEUE) {
      throw new DBOSInitializationError(`A queue named ${name} is already declared in this process`);
    }
    declared.set(name, this);
    for (const listener of declarationListeners) listener(this);
  }

  private apply(o: QueueOptions): void {
    this.concurrency = o.globalConcurrency ?? o.concurrency;
    this.workerConcurrency = o.workerConcurrency;
    this.rateLimit = o.rateLimit;
    this.partitionConcurrency = o.partitionConcurrency;
    this.partitionWorkerConcurrency = o.partitionWorkerConcurrency;
    this.partitionRateLimit = o.partitionRateLimit;
    this.partitionQueue =
      (o.partitionQueue ?? false) ||
      o.partitionConcurrency !== undefined ||
      o.partitionWorkerConcurrency !== undefined ||
      o.partitionRateLimit !== undefined;
    this.minPollingIntervalMs = o.minPollingIntervalMs ?? 1000;
  }

  /** The queue's settings as options (the legacy partitionQueue flag kept only when no partition limit says it). */
  options(): QueueOptions {
    const legacyPartition = this.partitionQueue && !hasPartitionLimit(this);
    return {
      globalConcurrency: this.concurrency,
      workerConcurrency: this.workerConcurrency,
      rateLimit: this.rateLimit,
      partitionConcurrency: this.partitionConcurrency,
      partitionWorkerConcurrency: this.partitionWorkerConcurrency,
      partitionRateLimit: this.partitionRateLimit,
      minPollingIntervalMs: this.minPollingIntervalMs,
      ...(legacyPartition ? { partitionQueue: true } : {}),
    };
  }

  /** @internal Takes the settings of the queue's row (read by this process or another). */
  applyRecord(record: QueueRecord): void {
    this.apply(optionsFromRecord(record));
    this.applicationName = record.applicationName ?? undefined;
  }

  private async change(patch: QueueOptions): Promise<void> {
    const next = { ...this.options(), ...patch };
    validateQueueOptions(this.name, next);
    if (this.backing) {
      const stored = await this.backing.update(this.name, (current) => recordFromOptions(this.name, next, current.applicationName));
      if (!stored) throw new DBOSInitializationError(`Queue ${this.name} no longer exists (it was deleted)`);
      this.applyRecord(stored);
    } else {
      this.apply(next);
    }
  }

  private async fresh(): Promise<this> {
    if (this.backing) {
      const record = await this.backing.read(this.name);
      if (record) this.applyRecord(record);
    }
    return this;
  }

  /** @deprecated Use `setGlobalConcurrency`. */
  setConcurrency(value: number | undefined): Promise<void> {
    return this.setGlobalConcurrency(value);
  }
  setGlobalConcurrency(value: number | undefined): Promise<void> {
    return this.change({ globalConcurrency: value });
  }
  setWorkerConcurrency(value: number | undefined): Promise<void> {
    return this.change({ workerConcurrency: value });
  }
  setRateLimit(value: QueueRateLimit | undefined): Promise<void> {
    return this.change({ rateLimit: value });
  }
  setPartitionConcurrency(value: number | undefined): Promise<void> {
    return this.change({ partitionConcurrency: value });
  }
  setPartitionWorkerConcurrency(value: number | undefined): Promise<void> {
    return this.change({ partitionWorkerConcurrency: value });
  }
  setPartitionRateLimit(value: QueueRateLimit | undefined): Promise<void> {
    return this.change({ partitionRateLimit: value });
  }
  setMinPollingIntervalMs(value: number): Promise<void> {
    return this.change({ minPollingIntervalMs: value });
  }

  /** @deprecated Use `getGlobalConcurrency`. */
  getConcurrency(): Promise<number | undefined> {
    return this.getGlobalConcurrency();
  }
  async getGlobalConcurrency(): Promise<number | undefined> {
    return (await this.fresh()).concurrency;
  }
  async getWorkerConcurrency(): Promise<number | undefined> {
    return (await this.fresh()).workerConcurrency;
  }
  async getRateLimit(): Promise<QueueRateLimit | undefined> {
    return (await this.fresh()).rateLimit;
  }
  async getPartitionConcurrency(): Promise<number | undefined> {
    return (await this.fresh()).partitionConcurrency;
  }
  async getPartitionWorkerConcurrency(): Promise<number | undefined> {
    return (await this.fresh()).partitionWorkerConcurrency;
  }
  async getPartitionRateLimit(): Promise<QueueRateLimit | undefined> {
    return (await this.fresh()).partitionRateLimit;
  }
  async getMinPollingIntervalMs(): Promise<number | undefined> {
    return (await this.fresh()).minPollingIntervalMs;
  }
}

function hasPartitionLimit(q: Pick<QueueOptions, 'partitionConcurrency' | 'partitionWorkerConcurrency' | 'partitionRateLimit'>): boolean {
  return q.partitionConcurrency !== undefined || q.partitionWorkerConcurrency !== undefined || q.partitionRateLimit !== undefined;
}

function rateWindow(limit: QueueRateLimit | undefined): RateLimitWindow | null {
  return limit ? { max: limit.limitPerPeriod, periodMs: Math.round(limit.periodSec * 1000) } : null;
}

/**
 * What the claim enforces for this queue. A 4.x `partitionQueue` without partition limits applies its limits to each
 * partition (dbos-spec §1.7), so they become the partition limits and the queue as a whole has none.
 */
/**
 * Whether a queue holds nothing back: declared in code (so no other process changes its settings), with no
 * concurrency limit of any kind, no rate limit and no partitions. Its dispatcher would claim whatever is enqueued at
 * once, so a process that stores work for it may just as well start that work itself (event receivers do).
 */
export function holdsNothingBack(q: WorkflowQueue): boolean {
  return (
    !q.databaseBacked &&
    !q.partitionQueue &&
    q.concurrency === undefined &&
    q.workerConcurrency === undefined &&
    q.rateLimit === undefined &&
    !hasPartitionLimit(q)
  );
}

export function claimLimitsOf(q: WorkflowQueue): ClaimLimits {
  if (q.partitionQueue && !hasPartitionLimit(q)) {
    return {
      globalConcurrency: null,
      rateLimit: null,
      partitioned: true,
      partitionConcurrency: q.concurrency ?? null,
      partitionWorkerConcurrency: q.workerConcurrency ?? null,
      partitionRateLimit: rateWindow(q.rateLimit),
    };
  }
  return {
    globalConcurrency: q.concurrency ?? null,
    rateLimit: rateWindow(q.rateLimit),
    partitioned: q.partitionQueue,
    partitionConcurrency: q.partitionConcurrency ?? null,
    partitionWorkerConcurrency: q.partitionWorkerConcurrency ?? null,
    partitionRateLimit: rateWindow(q.partitionRateLimit),
  };
}

/** How many workflows of this queue this process may run at once (Infinity when unlimited). */
export function workerLimitOf(q: WorkflowQueue): number {
  if (q.partitionQueue && !hasPartitionLimit(q)) return Infinity; // legacy: the worker limit is per partition
  return q.workerConcurrency ?? Infinity;
}

export function optionsFromRecord(r: QueueRecord): QueueOptions {
  const limit = (max: number | null, period: number | null): QueueRateLimit | undefined =>
    max !== null && period !== null ? { limitPerPeriod: max, periodSec: period } : undefined;
  return {
    globalConcurrency: r.concurrency ?? undefined,
    workerConcurrency: r.workerConcurrency ?? undefined,
    rateLimit: limit(r.rateLimitMax, r.rateLimitPeriodSec),
    partitionConcurrency: r.partitionConcurrency ?? undefined,
    partitionWorkerConcurrency: r.partitionWorkerConcurrency ?? undefined,
    partitionRateLimit: limit(r.partitionRateLimitMax, r.partitionRateLimitPeriodSec),
    minPollingIntervalMs: Math.round(r.pollingIntervalSec * 1000),
  };
}

export function recordFromOptions(name: string, o: QueueOptions, applicationName: string | null): QueueRecord {
  return {
    name,
    concurrency: o.globalConcurrency ?? o.concurrency ?? null,
    workerConcurrency: o.workerConcurrency ?? null,
    rateLimitMax: o.rateLimit?.limitPerPeriod ?? null,
    rateLimitPeriodSec: o.rateLimit?.periodSec ?? null,
    partitionQueue: hasPartitionLimit(o),
    partitionConcurrency: o.partitionConcurrency ?? null,
    partitionWorkerConcurrency: o.partitionWorkerConcurrency ?? null,
    partitionRateLimitMax: o.partitionRateLimit?.limitPerPeriod ?? null,
    partitionRateLimitPeriodSec: o.partitionRateLimit?.periodSec ?? null,
    pollingIntervalSec: (o.minPollingIntervalMs ?? 1000) / 1000,
    applicationName,
  };
}

function positiveInteger(value: number | undefined): boolean {
  return value === undefined || (Number.isInteger(value) && value >= 1);
}

/** Rejects combinations that could never run anything, at declaration rather than as a queue that never drains. */
export function validateQueueOptions(name: string, o: QueueOptions): void {
  const fail = (why: string) => {
    throw new DBOSInitializationError(`Queue ${name}: ${why}`);
  };
  if (o.concurrency !== undefined && o.globalConcurrency !== undefined) fail('set concurrency or globalConcurrency, not both');
  const global = o.globalConcurrency ?? o.concurrency;
  for (const [key, value] of Object.entries({
    globalConcurrency: global,
    workerConcurrency: o.workerConcurrency,
    partitionConcurrency: o.partitionConcurrency,
    partitionWorkerConcurrency: o.partitionWorkerConcurrency,
  })) {
    if (!positiveInteger(value)) fail(`${key} must be a positive integer, got ${value}`);
  }
  if (global !== undefined && o.workerConcurrency !== undefined && o.workerConcurrency > global) {
    fail(`workerConcurrency (${o.workerConcurrency}) cannot exceed the global concurrency (${global})`);
  }
  if (o.partitionConcurrency !== undefined && global !== undefined && o.partitionConcurrency > global) {
    fail(`partitionConcurrency (${o.partitionConcurrency}) cannot exceed the global concurrency (${global})`);
  }
  if (o.partitionWorkerConcurrency !== undefined) {
    if (o.partitionConcurrency !== undefined && o.partitionWorkerConcurrency > o.partitionConcurrency) {
      fail(`partitionWorkerConcurrency (${o.partitionWorkerConcurrency}) cannot exceed partitionConcurrency (${o.partitionConcurrency})`);
    }
    if (o.workerConcurrency !== undefined && o.partitionWorkerConcurrency > o.workerConcurrency) {
      fail(`partitionWorkerConcurrency (${o.partitionWorkerConcurrency}) cannot exceed workerConcurrency (${o.workerConcurrency})`);
    }
  }
  for (const [key, limit] of Object.entries({ rateLimit: o.rateLimit, partitionRateLimit: o.partitionRateLimit })) {
    if (!limit) continue;
    if (!(Number.isInteger(limit.limitPerPeriod) && limit.limitPerPeriod >= 1)) fail(`${key}.limitPerPeriod must be a positive integer`);
    if (!(limit.periodSec > 0 && limit.periodSec * 1000 <= MAX_DURATION_MS)) fail(`${key}.periodSec must be a positive number (of at most 100 years)`);
  }
  if (o.minPollingIntervalMs !== undefined && !(o.minPollingIntervalMs > 0 && o.minPollingIntervalMs <= MAX_TIMER_MS)) {
    fail(`minPollingIntervalMs must be a positive number of ms, at most ${MAX_TIMER_MS}`);
  }
}

/** The rules of DBOS.registerQueue (5.x) on top of the limits: reserved names, and the options 5.x removed. */
export function validateQueueRegistration(name: string, o: QueueOptions & { onConflict?: string }): void {
  if (!name) throw new DBOSInitializationError('A queue needs a name');
  checkKey('queueName', name);
  if (name.startsWith('_dbos_')) throw new DBOSInitializationError(`Queue ${name}: names starting with _dbos_ are reserved`);
  for (const removed of ['priorityEnabled', 'partitionQueue'] as const) {
    if (o[removed] !== undefined) {
      throw new DBOSInitializationError(
        `Queue ${name}: the ${removed} option was removed (priorities are always honoured; any partition limit partitions a queue)`,
      );
    }
  }
  if (o.onConflict !== undefined && !['update_if_latest_version', 'always_update', 'never_update'].includes(o.onConflict)) {
    throw new DBOSInitializationError(`Queue ${name}: onConflict must be update_if_latest_version, always_update or never_update`);
  }
  validateQueueOptions(name, o);
}

export function declaredQueues(): WorkflowQueue[] {
  return [...declared.values()];
}

export function findQueue(name: string): WorkflowQueue | undefined {
  return declared.get(name);
}

/** Calls `listener` for every queue declared from now on (queues declared after launch get a dispatcher lane). */
export function onQueueDeclared(listener: (queue: WorkflowQueue) => void): () => void {
  declarationListeners.add(listener);
  return () => declarationListeners.delete(listener);
}

export const internalQueue = new WorkflowQueue(INTERNAL_QUEUE);

/** Queues fed by a poller of this process (an event receiver): dispatched here even when listenQueues names others. */
const pollerQueues = new Set<string>();

export function registerPollerQueue(name: string): void {
  pollerQueues.add(name);
}

export function isPollerQueue(name: string): boolean {
  return pollerQueues.has(name);
}

/** Forgets the queues declared in code, except the internal one (DBOS.clearRegistry; never while launched). */
export function forgetDeclaredQueues(): void {
  for (const name of [...declared.keys()]) if (name !== INTERNAL_QUEUE) declared.delete(name);
  pollerQueues.clear();
}
