// Kafka (`transact/kafka`, with kafkajs): one workflow per message, exactly once, as DBOS's
// `@dbos-inc/kafkajs-receive` does it. A message becomes workflow `kafkajs-<topic>-<partition>-<groupId>-<offset>`;
// its offset is committed, through the batch's own commit (so a rebalance makes kafkajs rejoin, never stop), only once
// the workflows of its chunk are stored (./intake.ts). kafkajs is an optional peer dependency, loaded at launch.
//
// A consumer never dies silently: every crash kafkajs reports (it stops a consumer for good on an error it deems
// non-retriable, such as a commit refused during a rebalance) is logged with its cause, raised as the alert
// `EventReceiverCrashed`, and the consumer is rebuilt with backoff (0.5 s doubling to 30 s, back to 0.5 s after a
// batch goes through), for as long as the receiver runs. `status()` says where each consumer is (./status.ts).
//
// Memory stays bounded however far behind the workflows fall: when `maxUnfinished` workflows of a consumer's queue
// are stored but not finished, its partitions are paused (kafkajs stops fetching them) until half are done.

import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaConfig, KafkaMessage } from 'kafkajs';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { registeredWorkflowName } from '../process/state.js';
import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSInitializationError, DBOSNotRegisteredError } from '../errors.js';
import { findQueue } from '../queues/workflow-queue.js';
import type { AnyFunction } from '../runtime/registry.js';
import { registerInternalQueue, registerPollerQueue } from './api.js';
import { MessageIntake, pause, type IntakeItem, type IntakeOrdering, type IntakeTarget } from './intake.js';
import { ConsumerStatus, type ReceiverStatus } from './status.js';

export type { KafkaConfig, KafkaMessage, ConsumerConfig } from 'kafkajs';

/** The arguments of a consumer workflow: topic, partition and the message. */
export type KafkaArgs = [string, number, KafkaMessage];
/** `none`: in parallel; `partition`: one at a time per topic partition, in offset order; `topic`: per topic. */
export type KafkaOrdering = IntakeOrdering;
export type ConsumerTopics = string | RegExp | Array<string | RegExp>;

export interface KafkaRetryConfig {
  /** Attempts to connect and subscribe at launch before the launch fails. */
  maxRetries: number;
  /** The first wait between attempts, in milliseconds. */
  retryTime: number;
  /** Each wait is this many times the one before (capped at 30 s). */
  multiplier: number;
}

export interface KafkaReceiverOptions {
  /** Pause a consumer while this many workflows of its queue are stored but not finished (default 2,000). */
  maxUnfinished?: number;
  /** The first wait before rebuilding a crashed consumer (default 500 ms; doubles up to 30 s). */
  rebuildAfterMs?: number;
}

export interface KafkaConsumerOptions {
  /** The queue the workflows run on (ordering `none` only; it must not be partitioned). Default: an internal queue. */
  queueName?: string;
  /**
   * kafkajs consumer settings; `groupId` defaults to one derived from the workflow's class, name and topics.
   * `retry.restartOnFailure` is the receiver's own (it rebuilds crashed consumers itself).
   */
  config?: ConsumerConfig;
  ordering?: KafkaOrdering;
  /** The most messages stored (and committed) together. Default 250. */
  batchSize?: number;
  /**
   * Partitions whose batches are stored at once (kafkajs's `partitionsConsumedConcurrently`; default 4). Within a
   * partition, batches stay one at a time and in offset order, as its commits must.
   */
  partitionsConcurrently?: number;
}

/** The queue of `ordering: 'none'` consumers that name none. */
export const KAFKA_QUEUE = '_dbos_kafkajs_queue';
/** The queue of ordered consumers: one workflow at a time per partition key. */
export const KAFKA_ORDERED_QUEUE = '_dbos_kafkajs_ordered_queue';

const DEFAULT_RETRY: KafkaRetryConfig = { maxRetries: 5, retryTime: 300, multiplier: 2 };
const DEFAULT_BATCH_SIZE = 250;
const MAX_BACKOFF_MS = 30_000;

export function kafkaWorkflowID(topic: string, partition: number, groupId: string, offset: string): string {
  return `kafkajs-${topic}-${partition}-${groupId}-${offset}`;
}

/** The group ID a consumer gets when it names none: the same one DBOS derives, so offsets carry over between the two. */
export function defaultGroupId(className: string, name: string, topics: Array<string | RegExp>): string {
  const parts = [className, name, ...topics].map((part) => part.toString().replace(/[^a-zA-Z0-9\\-]/g, ''));
  return `dbos-kafka-group-${parts.join('-')}`.slice(0, 255);
}

/** The queue partition key of an ordered consumer's message (DBOS's, so both kinds of process share the order). */
export function kafkaOrderKey(ordering: KafkaOrdering, groupId: string, topic: string, partition: number): string | undefined {
  if (ordering === 'partition') return `${groupId}:${topic}:${partition}`;
  if (ordering === 'topic') return `${groupId}:${topic}`;
  return undefined;
}

interface Registration {
  fn: AnyFunction;
  topics: Array<string | RegExp>;
  options: KafkaConsumerOptions;
  name?: string;
  className?: string;
}

export class KafkaReceiver implements DBOSLifecycleCallback {
  private readonly registrations: Registration[] = [];
  private consumers: KafkaConsumerRunner[] = [];
  private stop = new AbortController();

  constructor(
    private readonly config: KafkaConfig,
    private readonly retryConfig: KafkaRetryConfig = DEFAULT_RETRY,
    private readonly options: KafkaReceiverOptions = {},
  ) {
    DBOS.registerLifecycleCallback(this);
  }

  /** Runs registered workflow `func(topic, partition, message)` once for every message of `topics`. */
  registerConsumer<This, Return>(
    func: (this: This, ...args: KafkaArgs) => Promise<Return>,
    topics: ConsumerTopics,
    options: { name?: string; className?: string } & KafkaConsumerOptions = {},
  ): void {
    checkOptions(func.name, options);
    const ordering = options.ordering ?? 'none';
    // Declared now, before launch, so the dispatcher serves them from the start (also under listenQueues).
    const queueName = ordering === 'none' ? (options.queueName ?? KAFKA_QUEUE) : KAFKA_ORDERED_QUEUE;
    if (queueName === KAFKA_QUEUE) registerInternalQueue(KAFKA_QUEUE);
    if (queueName === KAFKA_ORDERED_QUEUE) registerInternalQueue(KAFKA_ORDERED_QUEUE, { partitionConcurrency: 1 });
    registerPollerQueue(queueName);
    this.registrations.push({ fn: func as AnyFunction, topics: ([] as Array<string | RegExp>).concat(topics), options, name: options.name, className: options.className });
  }

  /** `@receiver.consumer(topics, options)` above `@DBOS.workflow()`: the decorated workflow consumes `topics`. */
  consumer(topics: ConsumerTopics, options: KafkaConsumerOptions = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => method.fn,
      (method) => this.registerConsumer(method.fn as (...args: KafkaArgs) => Promise<unknown>, topics, options),
    );
  }

  /** Where each consumer of this receiver is: state, crashes, lag per partition, messages taken. */
  status(): ReceiverStatus[] {
    return this.consumers.map((c) => c.status.snapshot());
  }

  async initialize(): Promise<void> {
    if (this.registrations.length === 0) return;
    this.stop = new AbortController();
    const intake = new MessageIntake({ backoff: this.retryConfig, stopped: this.stop.signal, maxUnfinished: this.options.maxUnfinished });
    const prepared = this.registrations.map((r) => prepare(r));
    const groups = new Map<string, string>();
    for (const p of prepared) {
      const other = groups.get(p.groupId);
      if (other) {
        throw new DBOSInitializationError(`${other} and ${p.target.label} share group ID ${p.groupId}; give each consumer its own (config.groupId)`);
      }
      groups.set(p.groupId, p.target.label);
    }
    const kafka = await connectKafka(this.config);
    try {
      for (const p of prepared) {
        const runner = new KafkaConsumerRunner(kafka, p, intake, this.stop.signal, this.retryConfig, this.options.rebuildAfterMs ?? 500);
        this.consumers.push(runner);
        await runner.start();
      }
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  async destroy(): Promise<void> {
    this.stop.abort();
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((c) => c.close()));
  }

  logRegisteredEndpoints(): void {
    for (const c of this.consumers) DBOS.logger.info(`${c.spec.target.label}: topics ${c.spec.topics.join(', ')}, group ${c.spec.groupId}, queue ${c.spec.target.queueName}`);
  }
}

interface PreparedConsumer {
  target: IntakeTarget;
  ordering: KafkaOrdering;
  groupId: string;
  topics: Array<string | RegExp>;
  config?: ConsumerConfig;
  partitionsConcurrently: number;
}

/** Works out a registration's workflow, group and queue; throws at launch for what could never run. */
function prepare(r: Registration): PreparedConsumer {
  const registered = registeredWorkflowName(r.fn);
  if (!registered) throw new DBOSNotRegisteredError(`${r.fn.name || 'anonymous function'} (a Kafka consumer must be a registered workflow)`);
  const name = r.name ?? registered.name;
  const className = r.className ?? registered.className;
  const label = className ? `${className}.${name}` : name;
  const ordering = r.options.ordering ?? 'none';
  const queueName = ordering === 'none' ? (r.options.queueName ?? KAFKA_QUEUE) : KAFKA_ORDERED_QUEUE;
  if (ordering === 'none' && findQueue(queueName)?.partitionQueue) {
    throw new DBOSInitializationError(
      `Kafka consumer ${label}: queue ${queueName} is partitioned, and a message has no partition key; use ordering 'partition' or 'topic'`,
    );
  }
  const groupId = r.options.config?.groupId ?? defaultGroupId(className, name, r.topics);
  const target: IntakeTarget = { fn: r.fn, label: `Kafka consumer ${label}`, queueName, batchSize: r.options.batchSize ?? DEFAULT_BATCH_SIZE };
  return { target, ordering, groupId, topics: r.topics, config: r.options.config, partitionsConcurrently: r.options.partitionsConcurrently ?? 4 };
}

/** One registration's kafkajs consumer, rebuilt whenever it crashes, until the receiver stops. */
class KafkaConsumerRunner {
  readonly status: ConsumerStatus;
  private consumer?: Consumer;
  /** Bumped per consumer built: events and resumes of an older one are ignored. */
  private generation = 0;
  private rebuildWait: number;
  private rebuilding?: Promise<void>;

  constructor(
    private readonly kafka: Kafka,
    readonly spec: PreparedConsumer,
    private readonly intake: MessageIntake,
    private readonly stopped: AbortSignal,
    private readonly retryConfig: KafkaRetryConfig,
    private readonly rebuildAfterMs: number,
  ) {
    this.status = new ConsumerStatus('kafka', spec.target.label.replace(/^Kafka consumer /, ''), spec.groupId, spec.target);
    this.rebuildWait = rebuildAfterMs;
  }

  /** Builds, connects, subscribes and runs a consumer; at launch, a failure after the retries fails the launch. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    const { spec } = this;
    this.status.set('starting');
    const consumer = this.kafka.consumer({
      ...spec.config,
      groupId: spec.groupId,
      // The receiver rebuilds crashed consumers itself, with its own backoff, logging and alert.
      retry: { ...spec.config?.retry, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    const current = () => generation === this.generation && !this.stopped.aborted;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (current()) this.onCrash(payload.error);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (current()) this.status.set('rebalancing');
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (current() && this.status.state !== 'paused') this.status.set('running');
      if (current()) this.status.clearLag();
    });
    try {
      await this.withRetries(`connect ${spec.target.label}`, () => consumer.connect());
      // A new group starts at the earliest offset: messages sent before the first launch are processed too.
      await this.withRetries(`subscribe ${spec.target.label}`, () => consumer.subscribe({ topics: spec.topics, fromBeginning: true }));
      if (this.stopped.aborted) return;
      await consumer.run({
        autoCommit: true,
        // Each chunk's offset is committed as soon as it is resolved (commitOffsetsIfNecessary in the batch).
        autoCommitThreshold: 1,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: spec.partitionsConcurrently,
        eachBatch: (payload) => this.onBatch(payload, generation),
      });
    } catch (err) {
      await consumer.disconnect().catch(() => {});
      throw err;
    }
  }

  private onCrash(error: Error): void {
    const wait = this.rebuildWait;
    this.rebuildWait = Math.min(wait * 2, MAX_BACKOFF_MS);
    this.status.crashed(error, wait);
    this.generation++; // the crashed consumer's late events and resumes no longer count
    const old = this.consumer;
    this.rebuilding = (async () => {
      await old?.disconnect().catch(() => {});
      let delay = wait;
      while (!this.stopped.aborted) {
        await pause(delay, this.stopped);
        if (this.stopped.aborted) return;
        try {
          await this.start();
          return;
        } catch (err) {
          delay = this.rebuildWait;
          this.rebuildWait = Math.min(delay * 2, MAX_BACKOFF_MS);
          this.status.crashed(err, delay);
        }
      }
    })();
  }

  private async onBatch(payload: EachBatchPayload, generation: number): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { topic, partition } = batch;
    const { target, ordering, groupId } = this.spec;
    const partitionKey = kafkaOrderKey(ordering, groupId, topic, partition);
    if (this.status.state === 'rebalancing' || this.status.state === 'starting') this.status.set('running');
    const items = batch.messages.map((message) => ({
      workflowID: kafkaWorkflowID(topic, partition, groupId, message.offset),
      args: [topic, partition, message],
      ...(partitionKey !== undefined ? { partitionKey } : {}),
      position: `${topic}/${partition}@${message.offset}`,
      offset: message.offset,
    }));
    const lagKey = `${topic}/${partition}`;
    const result = await this.intake.take(target, items, {
      commit: async (chunk: Array<IntakeItem & { offset: string }>) => {
        const last = chunk[chunk.length - 1]!.offset;
        resolveOffset(last);
        await commitOffsetsIfNecessary();
        this.status.took(chunk.length);
        this.status.setLag(lagKey, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n));
        this.rebuildWait = this.rebuildAfterMs; // a chunk went through: the next crash backs off from the floor again
      },
      heartbeat,
      abandoned: () => !isRunning() || isStale(),
    });
    if (result === 'paused') {
      const resume = payload.pause();
      this.status.set('paused');
      void this.intake.drained(target.queueName).then(() => {
        if (generation !== this.generation || this.stopped.aborted) return;
        resume();
        if (this.status.state === 'paused') this.status.set('running');
      });
    }
  }

  async close(): Promise<void> {
    await this.rebuilding?.catch(() => {});
    await this.consumer?.disconnect().catch((err) => DBOS.logger.warn(`${this.spec.target.label}: disconnect failed:`, err));
    this.status.remove();
  }

  private async withRetries(what: string, attempt: () => Promise<void>): Promise<void> {
    let wait = this.retryConfig.retryTime;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (n >= this.retryConfig.maxRetries || this.stopped.aborted) throw err;
        DBOS.logger.warn(`Could not ${what} (attempt ${n + 1}), retrying in ${wait} ms:`, err);
        await pause(wait, this.stopped);
        wait = Math.min(wait * this.retryConfig.multiplier, MAX_BACKOFF_MS);
      }
    }
  }
}

function checkOptions(name: string, options: KafkaConsumerOptions): void {
  const ordering = options.ordering ?? 'none';
  if (!['none', 'partition', 'topic'].includes(ordering)) {
    throw new DBOSInitializationError(`Kafka consumer ${name}: ordering must be 'none', 'partition' or 'topic', got ${String(ordering)}`);
  }
  if (ordering !== 'none' && options.queueName !== undefined) {
    throw new DBOSInitializationError(
      `Kafka consumer ${name}: an ordered consumer runs on the internal ordered queue and cannot name a queue (${options.queueName})`,
    );
  }
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
    throw new DBOSInitializationError(`Kafka consumer ${name}: batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const concurrently = options.partitionsConcurrently;
  if (concurrently !== undefined && !(Number.isInteger(concurrently) && concurrently >= 1)) {
    throw new DBOSInitializationError(`Kafka consumer ${name}: partitionsConcurrently must be a positive integer, got ${concurrently}`);
  }
}

async function connectKafka(config: KafkaConfig): Promise<Kafka> {
  let kafkajs: typeof import('kafkajs');
  try {
    kafkajs = await import('kafkajs');
  } catch (err) {
    throw new DBOSInitializationError('KafkaReceiver needs the kafkajs package: npm install kafkajs', err instanceof Error ? err : new Error(String(err)));
  }
  const Kafka = kafkajs.Kafka ?? (kafkajs as unknown as { default: typeof import('kafkajs') }).default.Kafka;
  return new Kafka(config);
}
