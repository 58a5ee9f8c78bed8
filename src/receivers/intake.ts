// From a source's messages to durable workflows, exactly once per message, whatever the source (Kafka, Redis
// Streams, NATS JetStream, PostgreSQL table changes). Every receiver runs its messages through here.
//  - Each message becomes a workflow whose ID is the message's identity in its source (Kafka: topic, partition,
//    group, offset; Redis: stream key, group, entry ID; ...). A message delivered again (after a crash, a rebalance,
//    a redelivery) finds its workflow stored already and is not run again.
//  - Messages go in chunk by chunk, each chunk one batch insert (enqueueWorkflows, ./api.ts; on a queue that holds
//    nothing back, the rows are stored already claimed by this executor and start at once), and the source is
//    acknowledged for a chunk (the `commit` hook) only once all its workflows are in the database: a crash in between
//    redelivers the chunk, which the IDs make harmless.
//  - A database that is away is waited out with backoff (heartbeating the source, so it keeps its partitions); the
//    chunk is never skipped. A message whose own content can never be stored (its arguments do not serialize, its ID
//    is too long) is logged and dropped, so one bad message does not stop its partition for good; an error that
//    would hit every message (the workflow is not registered) is retried and logged, never dropped.
//  - Ordered intake gives each message the key of its partition on a queue with a concurrency of 1 per key, and
//    stores a chunk's rows in order, each created strictly after the one before: the order the queue runs them in.
//  - Flow control: when `maxUnfinished` workflows of the consumer's queue are stored but not finished, intake stops
//    before the next chunk (`paused`) and the source stops reading until the backlog is down to half; so the
//    process's memory stays bounded however far behind the workflows fall.

import { DBOS } from '../dbos.js';
import { engine as engineForAddOn } from '../process/state.js';
import { DBOSInvalidWorkflowInputError } from '../errors.js';
import type { AnyFunction } from '../runtime/registry.js';
import { countUnfinishedOnQueues, insertStartedBatch } from '../sysdb/batch-enqueue.js';
import { findQueue, holdsNothingBack } from '../queues/workflow-queue.js';
import { enqueueWorkflows, prepareEnqueuedWorkflow, type PreparedWorkflow } from './api.js';
import { stampedRows } from './prepared.js';
import { randomUUID } from 'node:crypto';

export type IntakeOrdering = 'none' | 'partition' | 'topic';

export interface IntakeTarget {
  /** The registered workflow each message starts. */
  fn: AnyFunction;
  /** For logs: the consumer, e.g. `Kafka consumer Orders.handle`. */
  label: string;
  queueName: string;
  /** The most messages stored (and acknowledged) together. */
  batchSize: number;
  /** Told how many new workflows each chunk stored (its consumer's status counts them). */
  onStored?: (count: number) => void;
}

/** One message, as the intake needs it. */
export interface IntakeItem {
  workflowID: string;
  /** The workflow's arguments. */
  args: unknown[];
  /** Ordered intake: the queue partition key (one workflow at a time per key). */
  partitionKey?: string;
  /** For logs: where the message is in its source (`orders/2@1041`). */
  position: string;
}

export interface IntakeBackoff {
  /** The first wait after a failed chunk, in milliseconds. */
  retryTime: number;
  /** Each wait is this many times the one before (capped at 30 s). */
  multiplier: number;
}

/** What the source offers while a batch is taken in. */
export interface IntakeHooks<I extends IntakeItem = IntakeItem> {
  /** Called after each chunk, once its workflows are in the database: acknowledge it to the source. */
  commit(chunk: I[]): Promise<void>;
  /** Keeps the source's session alive during a long wait; throws if the source took the batch away. */
  heartbeat(): Promise<void>;
  /** The source no longer wants this batch (a rebalance): stop without committing the rest. */
  abandoned(): boolean;
}

/** done: every message is stored and committed; stopped: the receiver stops or the source abandoned the batch; paused: see flow control. */
export type TakeResult = 'done' | 'stopped' | 'paused';

export interface IntakeOptions {
  backoff: IntakeBackoff;
  /** Aborted when the receiver stops: waits end, and what is not committed is redelivered later. */
  stopped: AbortSignal;
  /** Pause intake while this many workflows of a target's queue are stored but not finished (default 2,000). */
  maxUnfinished?: number;
}

export const DEFAULT_MAX_UNFINISHED = 2000;
const MAX_BACKOFF_MS = 30_000;
/** A backoff heartbeats at least this often (well inside kafkajs's default 30 s session timeout). */
const HEARTBEAT_EVERY_MS = 3_000;
/** How often a paused intake counts the backlog again. */
const DRAIN_POLL_MS = 200;

export class MessageIntake {
  readonly maxUnfinished: number;
  private readonly backlogs = new Map<string, Backlog>();

  constructor(private readonly options: IntakeOptions) {
    this.maxUnfinished = options.maxUnfinished ?? DEFAULT_MAX_UNFINISHED;
  }

  private get stopped(): AbortSignal {
    return this.options.stopped;
  }

  private backlog(queueName: string): Backlog {
    let b = this.backlogs.get(queueName);
    if (!b) this.backlogs.set(queueName, (b = new Backlog(queueName, this.maxUnfinished)));
    return b;
  }

  /** Takes messages in, chunk by chunk, in order. */
  async take<I extends IntakeItem>(target: IntakeTarget, items: I[], hooks: IntakeHooks<I>): Promise<TakeResult> {
    const backlog = this.backlog(target.queueName);
    // A chunk's acknowledgement overlaps the storing of the next chunk: acknowledgements still go one at a time, in
    // order, each after its own chunk is stored. A failed acknowledgement fails the take once it is awaited.
    let acknowledging: Promise<void> = Promise.resolve();
    let failed: { error: unknown } | undefined;
    const acknowledged = async () => {
      await acknowledging;
      if (failed) throw failed.error;
    };
    const result = async (r: TakeResult) => {
      await acknowledged();
      return r;
    };
    for (let i = 0; i < items.length; i += target.batchSize) {
      if (hooks.abandoned() || this.stopped.aborted) return result('stopped');
      const chunk = items.slice(i, i + target.batchSize);
      if (!(await backlog.reserve(chunk.length))) return result('paused');
      const stored = await this.untilStored(target, chunk, hooks);
      backlog.settle(chunk.length, stored);
      await acknowledged();
      if (!stored) return 'stopped';
      acknowledging = hooks.commit(chunk).catch((error: unknown) => void (failed = { error }));
    }
    return result('done');
  }

  /** Resolves once the backlog of `queueName` is down to half of maxUnfinished (or the receiver stops). */
  async drained(queueName: string): Promise<void> {
    const backlog = this.backlog(queueName);
    while (!this.stopped.aborted) {
      try {
        if (await backlog.below(Math.floor(this.maxUnfinished / 2))) return;
      } catch (err) {
        DBOS.logger.debug(`Could not count the backlog of queue ${queueName}:`, err);
      }
      await pause(DRAIN_POLL_MS, this.stopped);
    }
  }

  private async untilStored<I extends IntakeItem>(target: IntakeTarget, chunk: I[], hooks: IntakeHooks<I>): Promise<boolean> {
    let wait = this.options.backoff.retryTime;
    // One token for every attempt at this chunk: rows a failed attempt stored before its reply was lost come back to
    // the next one (insertStartedBatch), instead of sitting PENDING with nobody running them.
    const ownerXid = randomUUID();
    for (;;) {
      try {
        await this.store(target, chunk, ownerXid);
        return true;
      } catch (err) {
        if (this.stopped.aborted) return false;
        DBOS.logger.warn(`${target.label}: could not store ${chunk.length} message(s) from ${chunk[0]!.position}; retrying in ${wait} ms:`, err);
        for (let left = wait; left > 0 && !this.stopped.aborted; left -= HEARTBEAT_EVERY_MS) {
          await pause(Math.min(left, HEARTBEAT_EVERY_MS), this.stopped);
          try {
            await hooks.heartbeat();
          } catch {
            return false; // the source took the batch away (a rebalance): its new owner gets it
          }
        }
        if (this.stopped.aborted || hooks.abandoned()) return false;
        wait = Math.min(wait * this.options.backoff.multiplier, MAX_BACKOFF_MS);
      }
    }
  }

  private async store(target: IntakeTarget, chunk: IntakeItem[], ownerXid: string): Promise<void> {
    const prepared: PreparedWorkflow[] = [];
    for (const item of chunk) {
      try {
        prepared.push(
          await prepareEnqueuedWorkflow(target.fn, item.args, {
            queueName: target.queueName,
            workflowID: item.workflowID,
            ...(item.partitionKey !== undefined ? { queuePartitionKey: item.partitionKey } : {}),
          }),
        );
      } catch (err) {
        // Only this message's own content: drop it. Anything else would hit every message: retried by the caller.
        if (!(err instanceof DBOSInvalidWorkflowInputError)) throw err;
        DBOS.logger.error(`${target.label}: message ${item.position} dropped, it can never be stored:`, err);
      }
    }
    const queue = findQueue(target.queueName);
    if (!queue || !holdsNothingBack(queue)) {
      const inserted = await enqueueWorkflows(prepared);
      target.onStored?.(inserted.size);
      return;
    }
    // A queue that holds nothing back would have its dispatcher claim these rows the moment they are stored: store
    // them claimed by this executor instead, and start them here and now (no claim statement, no wait for one). A
    // crash before they finish leaves them PENDING under this executor, which recovery or a takeover puts back on the
    // queue, as it would rows claimed the usual way. A row stored already is not returned, so it never runs twice.
    const engine = engineForAddOn('an event receiver');
    const started = await insertStartedBatch(engine.db, stampedRows(prepared, 'the intake'), engine.identity, ownerXid);
    target.onStored?.(started.length);
    for (const claimed of started) void engine.runClaimed(claimed, ownerXid);
  }
}

/**
 * The stored-but-unfinished workflows of one queue, counted in the database only when it may matter. Chunks being
 * stored at once (several partitions or batches of one consumer, several consumers of one queue) reserve their room
 * one after another, so together they never pass the limit.
 */
class Backlog {
  /** The last count, plus what this process stored since. */
  private estimate = 0;
  /** Reserved by chunks being stored now. */
  private reserved = 0;
  private countedAt = 0;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly queueName: string,
    private readonly limit: number,
  ) {}

  /** Everything this process has stored through this backlog, ever (only grows). */
  private storedTotal = 0;

  private async count(): Promise<number> {
    // A chunk settled while the count was on its way may be missing from it (it committed after the count's
    // snapshot): it is added back. One that committed before the snapshot is then counted twice, which only pauses
    // a little early; dropping it would let one chunk too many past the limit.
    const before = this.storedTotal;
    const counted = await countUnfinishedOnQueues(engineForAddOn('an event receiver').db, [this.queueName]);
    this.estimate = counted + (this.storedTotal - before);
    this.countedAt = Date.now();
    return this.estimate;
  }

  /** Reserves room for `n` more if they fit under the limit (an empty backlog always takes a chunk, however large). */
  reserve(n: number): Promise<boolean> {
    const decided = this.turn.then(() => this.roomFor(n));
    this.turn = decided.catch(() => {});
    return decided.then((ok) => {
      if (ok) this.reserved += n;
      return ok;
    });
  }

  /** A reserved chunk is stored (`stored`), or given up. */
  settle(n: number, stored: boolean): void {
    this.reserved = Math.max(0, this.reserved - n);
    if (stored) {
      this.estimate += n;
      this.storedTotal += n;
    }
  }

  private async roomFor(n: number): Promise<boolean> {
    if (this.estimate + this.reserved + n <= this.limit) return true;
    const count = Date.now() - this.countedAt < 50 ? this.estimate : await this.count();
    return count + this.reserved === 0 || count + this.reserved + n <= this.limit;
  }

  async below(level: number): Promise<boolean> {
    return (await this.count()) <= level;
  }
}

/** The worse of two results: stopped over paused over done. */
function worse(a: TakeResult, b: TakeResult): TakeResult {
  if (a === 'stopped' || b === 'stopped') return 'stopped';
  return a === 'paused' || b === 'paused' ? 'paused' : 'done';
}

/**
 * Several takes of one consumer at once, for sources that acknowledge each message on its own (a Redis XACK names
 * entries, a NATS ack one message): while one batch is being stored, the next is read and stored beside it, so the
 * source and the database are both kept busy instead of waiting on each other in turn. Exactly once is unchanged: each
 * message is still acknowledged only after its own chunk is stored. A source whose acknowledgement is a position
 * (Kafka's offsets) cannot use this within a partition.
 */
export class ConcurrentTakes {
  private readonly running = new Set<Promise<void>>();
  private result: TakeResult = 'done';
  private failure?: { error: unknown };

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.running.size;
  }

  /** Whether every take since the last settle() went through (no pause, no stop, no failure). */
  get clean(): boolean {
    return this.result === 'done' && this.failure === undefined;
  }

  /** Starts `take`; returns once fewer than `limit` takes are running. */
  async add(take: () => Promise<TakeResult>): Promise<void> {
    const run: Promise<void> = take()
      .then(
        (r) => void (this.result = worse(this.result, r)),
        (error: unknown) => void (this.failure ??= { error }),
      )
      .finally(() => this.running.delete(run));
    this.running.add(run);
    while (this.running.size >= this.limit) await Promise.race(this.running);
  }

  /** Waits for every running take; returns the worst result since the last settle, or throws the first failure. */
  async settle(): Promise<TakeResult> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    const { result, failure } = this;
    this.result = 'done';
    this.failure = undefined;
    if (failure) throw failure.error;
    return result;
  }
}

export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
