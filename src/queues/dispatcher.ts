// The dispatcher: for each declared queue, claim what this process may run now (one transaction per batch) and run
// it. It wakes when work is enqueued or a slot frees; polling at the queue's interval is only the safety net.

import { randomUUID } from 'node:crypto';
import type { Executor } from '../runtime/executor.js';
import { claimQueuedWorkflows } from '../sysdb/queues.js';
import { declaredQueues, type WorkflowQueue } from './workflow-queue.js';

/** The most a single claim takes when no limit applies, so one busy queue cannot hold the connection for long. */
const MAX_BATCH = 100;

export class Dispatcher {
  private stopped = false;
  private readonly lanes = new Map<string, QueueLane>();

  constructor(
    private readonly executor: Executor,
    private readonly isLatestVersion: () => boolean,
  ) {}

  start(): void {
    for (const queue of declaredQueues()) this.ensureLane(queue);
  }

  ensureLane(queue: WorkflowQueue): void {
    if (this.stopped || this.lanes.has(queue.name)) return;
    const lane = new QueueLane(queue, this.executor, this.isLatestVersion);
    this.lanes.set(queue.name, lane);
    void lane.run();
  }

  /** Something was enqueued on (or freed in) this queue: claim now instead of at the next poll. */
  wake(queueName: string): void {
    this.lanes.get(queueName)?.wake();
  }

  wakeAll(): void {
    for (const lane of this.lanes.values()) lane.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.lanes.values()].map((l) => l.stop()));
    this.lanes.clear();
  }
}

class QueueLane {
  private readonly running = new Set<string>();
  private stopped = false;
  private wakeUp?: () => void;
  private pendingWake = false;
  private loop?: Promise<void>;

  constructor(
    private readonly queue: WorkflowQueue,
    private readonly executor: Executor,
    private readonly isLatestVersion: () => boolean,
  ) {}

  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  run(): Promise<void> {
    this.loop = this.loopForever();
    return this.loop;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }

  private budget(): number {
    const worker = this.queue.workerConcurrency ?? Infinity;
    return Math.min(MAX_BATCH, worker - this.running.size);
  }

  private async loopForever(): Promise<void> {
    let backoff = this.queue.minPollingIntervalMs;
    while (!this.stopped) {
      this.pendingWake = false;
      let claimedFull = false;
      try {
        const limit = this.budget();
        if (limit > 0) {
          const claimed = await this.claim(limit);
          claimedFull = claimed === limit;
        }
        backoff = this.queue.minPollingIntervalMs;
      } catch (err) {
        if (this.stopped) return;
        this.executor.logger.warn(`Could not claim from queue ${this.queue.name}:`, err);
        backoff = Math.min(backoff * 2, 30_000);
      }
      if (this.stopped) return;
      if (claimedFull && this.budget() > 0) {
        await new Promise((r) => setImmediate(r)); // more is waiting: go again, but let other queues in first
        continue;
      }
      if (this.pendingWake && this.budget() > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, backoff * (0.95 + Math.random() * 0.1));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }

  private async claim(limit: number): Promise<number> {
    const identity = this.executor.identity;
    const ownerXid = randomUUID();
    const claimed = await claimQueuedWorkflows(this.executor.db, {
      queueName: this.queue.name,
      executorID: identity.executorID,
      applicationVersion: identity.applicationVersion,
      takeUnversioned: this.isLatestVersion(),
      applicationName: identity.applicationName,
      limit,
      ownerXid,
      rateLimited: this.queue.rateLimit !== undefined,
    });
    for (const workflow of claimed) {
      const id = workflow.row.workflowID;
      this.running.add(id);
      void this.executor.runClaimed(workflow, ownerXid).finally(() => {
        this.running.delete(id);
        this.wake(); // a slot is free
      });
    }
    return claimed.length;
  }
}
