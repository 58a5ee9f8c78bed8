// The dispatcher: for each queue this process serves, a lane claims what the process may run now (one transaction
// per batch, within every limit) and runs it. Lanes are independent loops, so a busy queue cannot starve another.
// A lane sleeps until something can change its answer: work enqueued (NOTIFY or a local enqueue), a slot freed (a
// local run ending, or a NOTIFY from another process when a shared limit is full), a rate window sliding (a timer at
// the moment the database says the oldest start leaves the window). Polling is the safety net: at the queue's interval
// while there is work, and, while a queue stays empty, at an interval that doubles up to `idlePollMaxMs` (an idle
// process costs its database next to nothing; work announced by NOTIFY or enqueued here still wakes the lane at once).

import { randomUUID } from 'node:crypto';
import { queueClaimed, queueClaims, queueRunning, queueWait } from '../metrics/instruments.js';
import type { Executor } from '../runtime/executor.js';
import { adoptClaimed, claimQueuedWorkflows, type ClaimedWorkflow, type ClaimResult } from '../sysdb/queues.js';
import { claimLimitsOf, workerLimitOf, type WorkflowQueue } from './workflow-queue.js';

/** The most a single claim takes, so one busy queue cannot hold a connection (or starve its neighbours) for long. */
const MAX_BATCH = 100;
/** The longest a lane backs off after failed claims (the database away, say). */
const MAX_BACKOFF_MS = 30_000;

/** Why a lane is woken: work arrived, a slot of a shared limit freed elsewhere, a local run ended, or its settings changed. */
export type WakeReason = 'work' | 'slot' | 'local' | 'config';

export class Dispatcher {
  private stopped = false;
  private readonly lanes = new Map<string, QueueLane>();
  private readonly unobserve: () => void;

  constructor(
    private readonly executor: Executor,
    private readonly isLatestVersion: () => boolean,
    /** The longest an empty queue's lane sleeps between polls (never less than the queue's own interval). */
    private readonly idlePollMaxMs = 0,
  ) {
    this.unobserve = queueRunning.addSource(() => [...this.lanes.values()].map((l) => ({ labels: [l.queue.name], value: l.runningCount })));
  }

  /** Whether every lane's loop is alive (for /readyz): a lane whose loop ended while not stopped is stuck. */
  get healthy(): boolean {
    return !this.stopped && [...this.lanes.values()].every((l) => l.alive);
  }

  get laneCount(): number {
    return this.lanes.size;
  }

  has(queueName: string): boolean {
    return this.lanes.has(queueName);
  }

  /** Starts serving `queue` (once); the lane reads the queue's settings afresh before every claim. */
  ensureLane(queue: WorkflowQueue): void {
    if (this.stopped) return;
    const existing = this.lanes.get(queue.name);
    if (existing?.queue === queue) return;
    if (existing) {
      existing.queue = queue; // re-declared or re-registered: same lane, new settings
      existing.wake('config');
      return;
    }
    const lane = new QueueLane(queue, this.executor, this.isLatestVersion, this.idlePollMaxMs);
    this.lanes.set(queue.name, lane);
    lane.start();
  }

  async removeLane(queueName: string): Promise<void> {
    const lane = this.lanes.get(queueName);
    if (!lane) return;
    this.lanes.delete(queueName);
    await lane.stop();
  }

  wake(queueName: string, reason: WakeReason): void {
    this.lanes.get(queueName)?.wake(reason);
  }

  wakeAll(reason: WakeReason = 'config'): void {
    for (const lane of this.lanes.values()) lane.wake(reason);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unobserve();
    await Promise.all([...this.lanes.values()].map((l) => l.stop()));
    this.lanes.clear();
  }
}

/** What held the last claim back, which decides what may wake the lane. */
type Blocked =
  | { by: 'nothing' } // the queue had no more eligible work (or there is more and the lane goes again)
  | { by: 'shared-concurrency' } // global concurrency is full: only a freed slot helps
  | { by: 'partitions' } // some partitions are full: a freed slot or work for another partition helps
  | { by: 'rate'; untilEpochMs: number }; // the queue's rate window is full until then

class QueueLane {
  /** Runs of this queue in this process, by run (a workflow ID may be claimed again after a takeover). */
  private readonly running = new Map<symbol, string | null>();
  private readonly runningByPartition = new Map<string, number>();
  private stopped = false;
  private wakeUp?: () => void;
  private pendingWake = false;
  private claiming = false;
  private blocked: Blocked = { by: 'nothing' };
  private loop?: Promise<void>;
  /** Tokens of claims that failed without an answer: they may have committed, and what they took is adopted. */
  private readonly inDoubt: string[] = [];

  /** Empty claims in a row with nothing waking the lane in between: the idle poll backs off with them. */
  private idleRounds = 0;

  constructor(
    public queue: WorkflowQueue,
    private readonly executor: Executor,
    private readonly isLatestVersion: () => boolean,
    private readonly idlePollMaxMs: number,
  ) {}

  wake(reason: WakeReason): void {
    // During a claim every wake counts: the claim may have read the queue before the change it announces.
    if (!this.claiming && !this.matters(reason)) return;
    this.idleRounds = 0;
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /** Whether a wake of this kind could let the next claim take more than the last one did. */
  private matters(reason: WakeReason): boolean {
    if (reason === 'local' || reason === 'config') return true;
    if (this.blocked.by === 'rate') return Date.now() >= this.blocked.untilEpochMs;
    if (this.blocked.by === 'shared-concurrency') return reason === 'slot';
    if (this.blocked.by === 'partitions') return reason === 'slot' || reason === 'work';
    return reason === 'work';
  }

  /** Whether the lane's loop is running (it ends only when the lane is stopped). */
  alive = false;

  get runningCount(): number {
    return this.running.size;
  }

  start(): void {
    this.alive = true;
    this.loop = this.loopForever().finally(() => (this.alive = false));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }

  private budget(): number {
    return Math.min(MAX_BATCH, workerLimitOf(this.queue) - this.running.size);
  }

  private async loopForever(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.pendingWake = false;
      let waitMs = this.queue.minPollingIntervalMs;
      let more = false;
      if (this.inDoubt.length > 0) await this.adoptInDoubt();
      const limit = this.budget();
      if (limit > 0) {
        this.claiming = true;
        try {
          const result = await this.claim(limit);
          failures = 0;
          more = result.claimed.length === limit && this.budget() > 0;
          this.blocked = this.blockedBy(result, limit);
          if (result.rateRetryInMs !== null) waitMs = Math.min(waitMs, result.rateRetryInMs + 1);
          if (result.claimed.length === 0 && this.blocked.by === 'nothing' && !this.pendingWake) {
            const cap = Math.max(this.queue.minPollingIntervalMs, this.idlePollMaxMs);
            waitMs = Math.min(cap, this.queue.minPollingIntervalMs * 2 ** this.idleRounds);
            this.idleRounds = Math.min(this.idleRounds + 1, 30);
          } else {
            this.idleRounds = 0;
          }
        } catch (err) {
          failures++;
          this.blocked = { by: 'nothing' };
          waitMs = Math.min(this.queue.minPollingIntervalMs * 2 ** failures, MAX_BACKOFF_MS);
          if (!this.stopped) this.executor.logger.warn(`Could not claim from queue ${this.queue.name}:`, err);
        } finally {
          this.claiming = false;
        }
      }
      if (this.stopped) return;
      if (more) {
        await new Promise((r) => setImmediate(r)); // more is waiting: go again, but let other queues in first
        continue;
      }
      if (this.pendingWake && this.budget() > 0) continue;
      await this.sleep(waitMs);
    }
  }

  private blockedBy(result: ClaimResult, limit: number): Blocked {
    const taken = result.claimed.length;
    if (taken >= limit) return { by: 'nothing' };
    const limits = claimLimitsOf(this.queue);
    // A partition's limits say nothing about other partitions: new work may be claimable at once.
    if (limits.partitioned) return { by: 'partitions' };
    if (result.rateRetryInMs !== null) return { by: 'rate', untilEpochMs: Date.now() + result.rateRetryInMs + 1 };
    if (taken >= result.allowed && limits.globalConcurrency !== null) return { by: 'shared-concurrency' };
    return { by: 'nothing' };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms) * (0.95 + Math.random() * 0.1));
      const lane = this;
      function done() {
        clearTimeout(timer);
        lane.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Runs what failed claims took (see claim()); a token whose claim still cannot be read is kept for next time. */
  private async adoptInDoubt(): Promise<void> {
    for (const ownerXid of this.inDoubt.splice(0)) {
      try {
        const adopted = await adoptClaimed(this.executor.db, this.queue.name, ownerXid);
        if (adopted.length > 0) {
          this.executor.logger.warn(`Queue ${this.queue.name}: a claim whose reply was lost took ${adopted.length} workflow(s); running them`);
        }
        this.runAll(adopted, ownerXid);
      } catch (err) {
        this.inDoubt.push(ownerXid);
        if (!this.stopped) this.executor.logger.debug(`Could not read back a claim of queue ${this.queue.name}:`, err);
      }
    }
  }

  private async claim(limit: number): Promise<ClaimResult> {
    const ownerXid = randomUUID();
    try {
      const result = await this.claimAs(ownerXid, limit);
      const name = this.queue.name;
      queueClaims.inc(name, result.claimed.length > 0 ? 'work' : 'empty');
      if (result.claimed.length > 0) {
        queueClaimed.add(result.claimed.length, name);
        const now = Date.now();
        for (const c of result.claimed) queueWait.observe(Math.max(0, now - c.row.createdAt) / 1000, name);
      }
      this.runAll(result.claimed, ownerXid);
      return result;
    } catch (err) {
      queueClaims.inc(this.queue.name, 'failed');
      // The claim may have committed before its reply was lost; it is not retried (a retry would claim a second batch
      // under the same token), but read back before the next one.
      this.inDoubt.push(ownerXid);
      throw err;
    }
  }

  private claimAs(ownerXid: string, limit: number): Promise<ClaimResult> {
    const identity = this.executor.identity;
    return claimQueuedWorkflows(this.executor.db, {
      queueName: this.queue.name,
      executorID: identity.executorID,
      applicationVersion: identity.applicationVersion,
      takeUnversioned: this.isLatestVersion(),
      applicationName: identity.applicationName,
      limit,
      ownerXid,
      limits: claimLimitsOf(this.queue),
      runningByPartition: this.runningByPartition,
    });
  }

  private runAll(claimed: ClaimedWorkflow[], ownerXid: string): void {
    for (const workflow of claimed) {
      const run = Symbol(workflow.row.workflowID);
      const key = workflow.row.queuePartitionKey;
      this.running.set(run, key);
      if (key !== null) this.runningByPartition.set(key, (this.runningByPartition.get(key) ?? 0) + 1);
      void this.executor.runClaimed(workflow, ownerXid).finally(() => {
        this.running.delete(run);
        if (key !== null) {
          const left = (this.runningByPartition.get(key) ?? 1) - 1;
          if (left > 0) this.runningByPartition.set(key, left);
          else this.runningByPartition.delete(key);
        }
        this.wake('local'); // a slot is free
      });
    }
  }
}
