// From a source's messages to durable workflows, exactly once per message, whatever the source (Kafka first).
//  - Each message becomes a workflow whose ID is the message's identity (source, partition, group, offset). A message
//    delivered again (after a crash, a rebalance, an offset reset) attaches to the workflow it already started.
//  - Messages go in chunk by chunk, and a chunk's offset is committed (the `commit` hook) only once all its
//    workflows are in the database: a crash in between redelivers the chunk, which the IDs make harmless.
//  - A database that is away is waited out with backoff (heartbeating the source, so it keeps its partitions); the
//    chunk is never skipped. A message that can never be enqueued (its ID taken by another workflow, say: a typed
//    error, not an outage) is logged and skipped, so one bad message does not stop its partition for good.
//  - Ordered intake (`partition` or `topic`) enqueues one message at a time on a partitioned queue with a
//    concurrency of 1 per key, each row created strictly after the one before: the order the queue runs them in.

import { DBOS } from '../dbos.js';
import { startForReceiver } from '../process/state.js';
import { DBOSError, DBOSExecutorNotInitializedError } from '../errors.js';
import type { AnyFunction } from '../runtime/registry.js';

/** `none`: in parallel; `partition`: one at a time per partition, in offset order; `topic`: per topic. */
export type IntakeOrdering = 'none' | 'partition' | 'topic';

export interface IntakeTarget {
  /** The registered workflow, run as `fn(topic, partition, message)`. */
  fn: AnyFunction;
  /** For logs: the workflow's qualified name. */
  label: string;
  /** Makes a message's workflow ID. */
  workflowID(topic: string, partition: number, offset: string): string;
  queueName: string;
  ordering: IntakeOrdering;
  /** The partition key of ordered intake (one workflow at a time per key). */
  orderKey(topic: string, partition: number): string;
  batchSize: number;
}

export interface IntakeBackoff {
  /** The first wait after a failed chunk, in milliseconds. */
  retryTime: number;
  /** Each wait is this many times the one before (capped at 30 s). */
  multiplier: number;
}

/** What the source offers while a batch is taken in. */
export interface IntakeHooks {
  /** Called after each chunk with the offset of its last message, once its workflows are in the database. */
  commit(lastOffset: string): Promise<void>;
  /** Keeps the source's session alive during a long wait. */
  heartbeat(): Promise<void>;
  /** The source no longer wants this batch (a rebalance): stop without committing the rest. */
  abandoned(): boolean;
}

const MAX_BACKOFF_MS = 30_000;
/** A backoff heartbeats at least this often (well inside kafkajs's default 30 s session timeout). */
const HEARTBEAT_EVERY_MS = 3_000;

export class MessageIntake {
  /** The creation time given to the last ordered message, so the next one is strictly later. */
  private lastOrderedAt = 0;

  constructor(
    private readonly backoff: IntakeBackoff,
    /** Aborted when the receiver stops: waits end, and what is not committed is redelivered later. */
    private readonly stopped: AbortSignal,
  ) {}

  /** Takes one partition's messages in, chunk by chunk. Returns false if it stopped before the end. */
  async take<M extends { offset: string }>(target: IntakeTarget, topic: string, partition: number, messages: M[], hooks: IntakeHooks): Promise<boolean> {
    for (let i = 0; i < messages.length; i += target.batchSize) {
      if (hooks.abandoned() || this.stopped.aborted) return false;
      const chunk = messages.slice(i, i + target.batchSize);
      if (!(await this.untilEnqueued(target, topic, partition, chunk, hooks))) return false;
      await hooks.commit(chunk[chunk.length - 1]!.offset);
      await hooks.heartbeat();
    }
    return true;
  }

  private async untilEnqueued<M extends { offset: string }>(
    target: IntakeTarget,
    topic: string,
    partition: number,
    messages: M[],
    hooks: IntakeHooks,
  ): Promise<boolean> {
    let wait = this.backoff.retryTime;
    for (;;) {
      try {
        await this.enqueue(target, topic, partition, messages);
        return true;
      } catch (err) {
        if (this.stopped.aborted) return false;
        DBOS.logger.warn(`${target.label}: could not enqueue ${messages.length} message(s) of ${topic}/${partition}; retrying in ${wait} ms:`, err);
        for (let left = wait; left > 0 && !this.stopped.aborted; left -= HEARTBEAT_EVERY_MS) {
          await pause(Math.min(left, HEARTBEAT_EVERY_MS), this.stopped);
          await hooks.heartbeat().catch(() => {});
        }
        if (this.stopped.aborted || hooks.abandoned()) return false;
        wait = Math.min(wait * this.backoff.multiplier, MAX_BACKOFF_MS);
      }
    }
  }

  private async enqueue<M extends { offset: string }>(target: IntakeTarget, topic: string, partition: number, messages: M[]): Promise<void> {
    if (target.ordering === 'none') {
      await Promise.all(messages.map((m) => this.enqueueOne(target, topic, partition, m, {})));
      return;
    }
    const key = target.orderKey(topic, partition);
    for (const m of messages) {
      this.lastOrderedAt = Math.max(Date.now(), this.lastOrderedAt + 1);
      await this.enqueueOne(target, topic, partition, m, { queuePartitionKey: key, createdAtEpochMs: this.lastOrderedAt });
    }
  }

  private async enqueueOne<M extends { offset: string }>(
    target: IntakeTarget,
    topic: string,
    partition: number,
    message: M,
    extra: { queuePartitionKey?: string; createdAtEpochMs?: number },
  ): Promise<void> {
    const workflowID = target.workflowID(topic, partition, message.offset);
    try {
      await startForReceiver(target.fn, [topic, partition, message], { workflowID, queueName: target.queueName, ...extra });
    } catch (err) {
      // A typed error (other than "not launched", which passes) says this message can never be enqueued: skip it.
      if (!(err instanceof DBOSError) || err instanceof DBOSExecutorNotInitializedError) throw err;
      DBOS.logger.error(`${target.label}: message ${topic}/${partition}@${message.offset} skipped:`, err);
    }
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
