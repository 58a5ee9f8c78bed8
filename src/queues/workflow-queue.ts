// Queue declarations. `new WorkflowQueue(name, options)` at module load is the documented form that the seed README
// uses; every process that declares a queue dispatches from it.

import { DBOSInitializationError } from '../errors.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';

export interface QueueRateLimit {
  limitPerPeriod: number;
  periodSec: number;
}

export interface QueueOptions {
  /** Older name of globalConcurrency. */
  concurrency?: number;
  /** At most this many of the queue's workflows run at once, over all processes. */
  globalConcurrency?: number;
  /** At most this many of the queue's workflows run at once in each process. */
  workerConcurrency?: number;
  rateLimit?: QueueRateLimit;
  priorityEnabled?: boolean;
  partitionQueue?: boolean;
  partitionConcurrency?: number;
  partitionWorkerConcurrency?: number;
  partitionRateLimit?: QueueRateLimit;
  /** The safety-net poll; enqueues wake the dispatcher at once. */
  minPollingIntervalMs?: number;
}

const declared = new Map<string, WorkflowQueue>();

export class WorkflowQueue {
  readonly concurrency?: number;
  readonly workerConcurrency?: number;
  readonly rateLimit?: QueueRateLimit;
  readonly priorityEnabled: boolean;
  readonly partitionQueue: boolean;
  readonly partitionConcurrency?: number;
  readonly partitionWorkerConcurrency?: number;
  readonly partitionRateLimit?: QueueRateLimit;
  readonly minPollingIntervalMs: number;

  constructor(
    readonly name: string,
    options: QueueOptions = {},
  ) {
    if (!name) throw new DBOSInitializationError('A queue needs a name');
    validateQueueOptions(name, options);
    this.concurrency = options.globalConcurrency ?? options.concurrency;
    this.workerConcurrency = options.workerConcurrency;
    this.rateLimit = options.rateLimit;
    this.priorityEnabled = options.priorityEnabled ?? false;
    this.partitionConcurrency = options.partitionConcurrency;
    this.partitionWorkerConcurrency = options.partitionWorkerConcurrency;
    this.partitionRateLimit = options.partitionRateLimit;
    this.partitionQueue =
      (options.partitionQueue ?? false) ||
      options.partitionConcurrency !== undefined ||
      options.partitionWorkerConcurrency !== undefined ||
      options.partitionRateLimit !== undefined;
    this.minPollingIntervalMs = options.minPollingIntervalMs ?? 1000;
    if (declared.has(name) && name !== INTERNAL_QUEUE) {
      throw new DBOSInitializationError(`A queue named ${name} is already declared in this process`);
    }
    declared.set(name, this);
  }
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
    if (!(limit.periodSec > 0)) fail(`${key}.periodSec must be a positive number`);
  }
  if (o.minPollingIntervalMs !== undefined && !(o.minPollingIntervalMs > 0)) fail('minPollingIntervalMs must be positive');
}

export function declaredQueues(): WorkflowQueue[] {
  return [...declared.values()];
}

export function findQueue(name: string): WorkflowQueue | undefined {
  return declared.get(name);
}

/** For tests that re-declare queues between launches. */
export function forgetQueues(): void {
  const internal = declared.get(INTERNAL_QUEUE);
  declared.clear();
  if (internal) declared.set(INTERNAL_QUEUE, internal);
}

export const internalQueue = new WorkflowQueue(INTERNAL_QUEUE);
