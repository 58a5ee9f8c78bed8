// Kafka: one workflow per message, exactly once (the KafkaReceiver of DBOS's `@dbos-inc/kafkajs-receive`). The
// message becomes workflow `kafkajs-<topic>-<partition>-<groupId>-<offset>`; how messages become workflows, and when
// offsets are committed, is MessageIntake's (./intake.ts). This module is the kafkajs glue: connect, subscribe, run
// batches through the intake, commit. kafkajs is an optional peer dependency, loaded when a receiver starts.
//
// Not tested against a broker: this machine can install no Kafka broker (no Debian package, no Maven registry, no
// Docker). The intake, which holds the exactly-once logic, is tested on both databases (test/receivers/).

import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaConfig, KafkaMessage } from 'kafkajs';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { registeredWorkflowName } from '../process/state.js';
import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSInitializationError, DBOSNotRegisteredError } from '../errors.js';
import { findQueue, WorkflowQueue } from '../queues/workflow-queue.js';
import type { AnyFunction } from '../runtime/registry.js';
import { MessageIntake, pause, type IntakeOrdering, type IntakeTarget } from './intake.js';

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

export interface KafkaConsumerOptions {
  /** The queue the workflows run on (ordering `none` only; it must not be partitioned). Default: an internal queue. */
  queueName?: string;
  /** kafkajs consumer settings; `groupId` defaults to one derived from the workflow's class, name and topics. */
  config?: ConsumerConfig;
  ordering?: KafkaOrdering;
  /** The most messages enqueued (and committed) together. Default 250. */
  batchSize?: number;
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

interface Registration {
  fn: AnyFunction;
  topics: Array<string | RegExp>;
  options: KafkaConsumerOptions;
  name?: string;
  className?: string;
}

/** A started consumer and where its messages go. */
interface RunningConsumer {
  consumer: Consumer;
  target: IntakeTarget;
  groupId: string;
}

type PreparedConsumer = { target: IntakeTarget; groupId: string; topics: Array<string | RegExp>; config?: ConsumerConfig };

export class KafkaReceiver implements DBOSLifecycleCallback {
  private readonly registrations: Registration[] = [];
  private running: RunningConsumer[] = [];
  private stop = new AbortController();

  constructor(
    private readonly config: KafkaConfig,
    private readonly retryConfig: KafkaRetryConfig = DEFAULT_RETRY,
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
    this.registrations.push({ fn: func as AnyFunction, topics: ([] as Array<string | RegExp>).concat(topics), options, name: options.name, className: options.className });
  }

  /** `@receiver.consumer(topics, options)` above `@DBOS.workflow()`: the decorated workflow consumes `topics`. */
  consumer(topics: ConsumerTopics, options: KafkaConsumerOptions = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => method.fn,
      (method) => this.registerConsumer(method.fn as (...args: KafkaArgs) => Promise<unknown>, topics, options),
    );
  }

  async initialize(): Promise<void> {
    if (this.registrations.length === 0) return;
    this.stop = new AbortController();
    const intake = new MessageIntake(this.retryConfig, this.stop.signal);
    const prepared = this.registrations.map((r) => this.prepare(r));
    const groups = new Map<string, string>();
    for (const p of prepared) {
      const other = groups.get(p.groupId);
      if (other) {
        throw new DBOSInitializationError(
          `${other} and ${p.target.label} share group ID ${p.groupId}; give each consumer its own (config.groupId)`,
        );
      }
      groups.set(p.groupId, p.target.label);
    }
    const kafka = await connectKafka(this.config);
    try {
      for (const p of prepared) await this.start(kafka, p, intake);
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  async destroy(): Promise<void> {
    this.stop.abort();
    const running = this.running;
    this.running = [];
    await Promise.all(running.map((r) => r.consumer.disconnect().catch((err) => DBOS.logger.warn(`Kafka consumer ${r.target.label}:`, err))));
  }

  logRegisteredEndpoints(): void {
    for (const r of this.running) DBOS.logger.info(`${r.target.label}: group ${r.groupId}, queue ${r.target.queueName}`);
  }

  /** Works out a registration's workflow, group and queue; throws at launch for what could never run. */
  private prepare(r: Registration): PreparedConsumer {
    const registered = registeredWorkflowName(r.fn);
    if (!registered) throw new DBOSNotRegisteredError(`${r.fn.name || 'anonymous function'} (a Kafka consumer must be a registered workflow)`);
    const name = r.name ?? registered.name;
    const className = r.className ?? registered.className;
    const label = className ? `${className}.${name}` : name;
    const ordering = r.options.ordering ?? 'none';
    let queueName: string;
    if (ordering === 'none') {
      queueName = r.options.queueName ?? KAFKA_QUEUE;
      if (queueName === KAFKA_QUEUE && !findQueue(KAFKA_QUEUE)) new WorkflowQueue(KAFKA_QUEUE);
      if (findQueue(queueName)?.partitionQueue) {
        throw new DBOSInitializationError(
          `Kafka consumer ${label}: queue ${queueName} is partitioned, and a message has no partition key; use ordering 'partition' or 'topic'`,
        );
      }
    } else {
      queueName = KAFKA_ORDERED_QUEUE;
      if (!findQueue(KAFKA_ORDERED_QUEUE)) new WorkflowQueue(KAFKA_ORDERED_QUEUE, { partitionConcurrency: 1 });
    }
    const groupId = r.options.config?.groupId ?? defaultGroupId(className, name, r.topics);
    const target: IntakeTarget = {
      fn: r.fn,
      label: `Kafka consumer ${label}`,
      workflowID: (topic, partition, offset) => kafkaWorkflowID(topic, partition, groupId, offset),
      queueName,
      ordering,
      orderKey: (topic, partition) => (ordering === 'partition' ? `${groupId}:${topic}:${partition}` : `${groupId}:${topic}`),
      batchSize: r.options.batchSize ?? DEFAULT_BATCH_SIZE,
    };
    return { target, groupId, topics: r.topics, config: r.options.config };
  }

  private async start(kafka: Kafka, p: PreparedConsumer, intake: MessageIntake): Promise<void> {
    const consumer = kafka.consumer({ ...p.config, groupId: p.groupId });
    this.running.push({ consumer, target: p.target, groupId: p.groupId });
    await this.withRetries(`connect ${p.target.label}`, () => consumer.connect());
    // A new group starts at the earliest offset: messages sent before the first launch are processed too.
    await this.withRetries(`subscribe ${p.target.label}`, () => consumer.subscribe({ topics: p.topics, fromBeginning: true }));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => onBatch(intake, consumer, p.target, payload),
    });
  }

  private async withRetries(what: string, attempt: () => Promise<void>): Promise<void> {
    let wait = this.retryConfig.retryTime;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (n >= this.retryConfig.maxRetries) throw err;
        DBOS.logger.warn(`Could not ${what} (attempt ${n + 1}), retrying in ${wait} ms:`, err);
        await pause(wait, this.stop.signal);
        wait = Math.min(wait * this.retryConfig.multiplier, MAX_BACKOFF_MS);
      }
    }
  }
}

/** One kafkajs batch through the intake; each chunk's offset is committed once its workflows are stored. */
async function onBatch(intake: MessageIntake, consumer: Consumer, target: IntakeTarget, payload: EachBatchPayload): Promise<void> {
  const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
  await intake.take(target, batch.topic, batch.partition, batch.messages, {
    commit: async (last) => {
      resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    },
    heartbeat,
    abandoned: () => !isRunning() || isStale(),
  });
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
