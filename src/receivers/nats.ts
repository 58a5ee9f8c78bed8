// NATS JetStream (`transact/nats`, with @nats-io/jetstream and @nats-io/transport-node): one workflow per stream
// message, exactly once, through a durable pull consumer shared by every process of the application.
//
//   workflow ID   `nats-<stream>-<durable>-<stream sequence>` (e.g. `nats-ORDERS-billing-1041`)
//   arguments     one object: { stream, subject, seq, data (UTF-8 text), headers, redelivered, timestampMs }
//   acknowledged  each message, once the workflows of the messages fetched with it are stored (./intake.ts). The
//                 durable consumer uses AckPolicy.Explicit: with several processes pulling from one durable consumer,
//                 AckPolicy.All would acknowledge messages another process holds and has not stored yet. A message
//                 not acknowledged within `ackWaitMs` (a process died, the connection dropped) is redelivered, finds
//                 its workflow stored already, and does not run twice; while intake waits out a database outage it
//                 tells the server it is still working on its messages.
//
// The stream must exist; the durable consumer is created at launch if it does not (from the start of the stream).
// The client reconnects by itself; a fetch that fails (the server is away) is logged, raised as the alert
// `EventReceiverCrashed`, and retried with backoff while the receiver runs. No order is promised across processes.

import type { NatsConnection } from '@nats-io/nats-core';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { registeredWorkflowName } from '../process/state.js';
import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSInitializationError, DBOSNotRegisteredError } from '../errors.js';
import type { AnyFunction } from '../runtime/registry.js';
import { registerInternalQueue, registerPollerQueue } from './api.js';
import { ConcurrentTakes, MessageIntake, pause, type IntakeItem, type IntakeTarget, type TakeResult } from './intake.js';
import { ConsumerStatus, type ReceiverStatus } from './status.js';

export interface NatsReceiverConfig {
  /** `nats://host:4222` (or several, comma-separated or as an array). */
  servers: string | string[];
  /** More connection options for @nats-io/transport-node's connect(). */
  connection?: Record<string, unknown>;
  /** The first wait after a failed fetch (default 500 ms; doubles up to 30 s). */
  reconnectMs?: number;
  /** Pause fetching while this many workflows of a consumer's queue are stored but not finished (default 2,000). */
  maxUnfinished?: number;
  /** Batches a consumer stores at once, fetching the next while earlier ones are stored (default 4). */
  concurrentBatches?: number;
}

export interface NatsConsumerOptions {
  /** The durable consumer's name (default: derived from the workflow's class and name). */
  durable?: string;
  /** Messages fetched, stored and acknowledged together (default 100). */
  batchSize?: number;
  /** Redelivery after this long without an acknowledgement (default 30000 ms); used when the consumer is created. */
  ackWaitMs?: number;
  /** Only messages on this subject (default: the whole stream); used when the consumer is created. */
  filterSubject?: string;
  /** The queue the workflows run on (default an internal one). */
  queueName?: string;
}

/** What a consumer workflow receives for a message (JsMsg itself cannot be stored). */
export interface NatsMessage {
  stream: string;
  subject: string;
  seq: number;
  data: string;
  headers: Record<string, string[]>;
  redelivered: boolean;
  timestampMs: number;
}

export const NATS_QUEUE = '_transact_nats_queue';

export function natsWorkflowID(stream: string, durable: string, seq: number): string {
  return `nats-${stream}-${durable}-${seq}`;
}

export function defaultNatsDurable(className: string, name: string): string {
  return `transact-${[className, name].filter(Boolean).join('-')}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

interface Registration {
  fn: AnyFunction;
  stream: string;
  options: NatsConsumerOptions;
}

export class NatsReceiver implements DBOSLifecycleCallback {
  private readonly registrations: Registration[] = [];
  private consumers: NatsStreamConsumer[] = [];
  private stop = new AbortController();
  private connection?: NatsConnection;

  constructor(private readonly config: NatsReceiverConfig) {
    DBOS.registerLifecycleCallback(this);
  }

  /** Runs registered workflow `func(message)` once for every message of JetStream stream `stream`. */
  registerConsumer<This, Return>(func: (this: This, message: NatsMessage) => Promise<Return>, stream: string, options: NatsConsumerOptions = {}): void {
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new DBOSInitializationError(`NATS consumer ${func.name}: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    const queueName = options.queueName ?? NATS_QUEUE;
    if (queueName === NATS_QUEUE) registerInternalQueue(NATS_QUEUE);
    registerPollerQueue(queueName);
    this.registrations.push({ fn: func as AnyFunction, stream, options });
  }

  /** `@receiver.consumer(stream, options)` above `@DBOS.workflow()`. */
  consumer(stream: string, options: NatsConsumerOptions = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => method.fn,
      (method) => this.registerConsumer(method.fn as (message: NatsMessage) => Promise<unknown>, stream, options),
    );
  }

  status(): ReceiverStatus[] {
    return this.consumers.map((c) => c.status.snapshot());
  }

  async initialize(): Promise<void> {
    if (this.registrations.length === 0) return;
    this.stop = new AbortController();
    let transport: typeof import('@nats-io/transport-node');
    let js: typeof import('@nats-io/jetstream');
    try {
      transport = await import('@nats-io/transport-node');
      js = await import('@nats-io/jetstream');
    } catch (err) {
      throw new DBOSInitializationError(
        'NatsReceiver needs the @nats-io/jetstream and @nats-io/transport-node packages: npm install @nats-io/jetstream @nats-io/transport-node',
        err instanceof Error ? err : new Error(String(err)),
      );
    }
    const servers = typeof this.config.servers === 'string' ? this.config.servers.split(',') : this.config.servers;
    const nc = await transport.connect({
      servers,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.config.reconnectMs ?? 500,
      ...this.config.connection,
    });
    this.connection = nc;
    const intake = new MessageIntake({ backoff: { retryTime: 500, multiplier: 2 }, stopped: this.stop.signal, maxUnfinished: this.config.maxUnfinished });
    try {
      const jsm = await js.jetstreamManager(nc);
      const client = js.jetstream(nc);
      for (const r of this.registrations) {
        const registered = registeredWorkflowName(r.fn);
        if (!registered) throw new DBOSNotRegisteredError(`${r.fn.name || 'anonymous function'} (a NATS consumer must be a registered workflow)`);
        const label = registered.className ? `${registered.className}.${registered.name}` : registered.name;
        const durable = r.options.durable ?? defaultNatsDurable(registered.className, registered.name);
        const existing = await jsm.consumers.info(r.stream, durable).catch(() => undefined);
        if (!existing) {
          await jsm.consumers.add(r.stream, {
            durable_name: durable,
            ack_policy: js.AckPolicy.Explicit,
            deliver_policy: js.DeliverPolicy.All,
            ack_wait: (r.options.ackWaitMs ?? 30_000) * 1_000_000,
            ...(r.options.filterSubject ? { filter_subject: r.options.filterSubject } : {}),
          });
        }
        const consumer = await client.consumers.get(r.stream, durable);
        const target: IntakeTarget = { fn: r.fn, label: `NATS consumer ${label}`, queueName: r.options.queueName ?? NATS_QUEUE, batchSize: r.options.batchSize ?? 100 };
        this.consumers.push(new NatsStreamConsumer(consumer, r.stream, durable, target, intake, this.config, this.stop.signal, label));
      }
    } catch (err) {
      await this.destroy();
      throw err;
    }
    for (const c of this.consumers) c.run();
  }

  async destroy(): Promise<void> {
    this.stop.abort();
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((c) => c.close()));
    const nc = this.connection;
    this.connection = undefined;
    await nc?.close().catch(() => {});
  }

  logRegisteredEndpoints(): void {
    for (const c of this.consumers) DBOS.logger.info(`${c.target.label}: stream ${c.stream}, durable ${c.durable}, queue ${c.target.queueName}`);
  }
}

type NatsItem = IntakeItem & { message: JsMsg };

class NatsStreamConsumer {
  readonly status: ConsumerStatus;
  private running?: Promise<void>;
  private lagCheckedAt = 0;

  constructor(
    private readonly consumer: Consumer,
    readonly stream: string,
    readonly durable: string,
    readonly target: IntakeTarget,
    private readonly intake: MessageIntake,
    private readonly config: NatsReceiverConfig,
    private readonly stopped: AbortSignal,
    label: string,
  ) {
    this.status = new ConsumerStatus('nats', label, durable, target);
  }

  run(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    const floor = this.config.reconnectMs ?? 500;
    let wait = floor;
    // The next batch is fetched while earlier ones are being stored; each message is acknowledged on its own, once
    // its chunk is stored, so batches in flight together cannot acknowledge one another's messages.
    const takes = new ConcurrentTakes(this.config.concurrentBatches ?? 4);
    while (!this.stopped.aborted) {
      try {
        const fetched = await this.consumer.fetch({ max_messages: this.target.batchSize, expires: 1000 });
        const messages: JsMsg[] = [];
        for await (const m of fetched) messages.push(m);
        if (this.stopped.aborted) break;
        if (this.status.state !== 'paused') this.status.set('running');
        wait = floor;
        if (messages.length > 0) await takes.add(() => this.take(messages));
        if (messages.length === 0 || !takes.clean) {
          const result = await takes.settle();
          if (result === 'paused') {
            this.status.set('paused');
            await this.intake.drained(this.target.queueName);
            this.status.set('running');
          }
        }
        await this.updateLag();
      } catch (err) {
        await takes.settle().catch(() => {});
        if (this.stopped.aborted) break;
        this.status.crashed(err, wait);
        await pause(wait, this.stopped);
        wait = Math.min(wait * 2, 30_000);
      }
    }
    await takes.settle().catch(() => {});
  }

  private async take(messages: JsMsg[]): Promise<TakeResult> {
    const items: NatsItem[] = messages.map((m) => ({
      workflowID: natsWorkflowID(this.stream, this.durable, m.seq),
      args: [toMessage(this.stream, m)],
      position: `${this.stream}#${m.seq}`,
      message: m,
    }));
    const stored = new Set<JsMsg>();
    try {
      return await this.intake.take(this.target, items, {
        commit: async (chunk) => {
          for (const c of chunk) {
            c.message.ack();
            stored.add(c.message);
          }
          this.status.took(chunk.length);
        },
        heartbeat: async () => messages.forEach((m) => m.working()),
        abandoned: () => this.stopped.aborted,
      });
    } finally {
      // What was not stored goes back to the server now, for whoever fetches next (this process after a pause).
      for (const m of messages) if (!stored.has(m)) m.nak();
    }
  }

  private async updateLag(): Promise<void> {
    if (Date.now() - this.lagCheckedAt < 1000) return;
    this.lagCheckedAt = Date.now();
    const info = await this.consumer.info(false);
    this.status.setLag(this.stream, info.num_pending + info.num_ack_pending);
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {});
    this.status.remove();
  }
}

function toMessage(stream: string, m: JsMsg): NatsMessage {
  const headers: Record<string, string[]> = {};
  if (m.headers) for (const [key, values] of m.headers) headers[key] = values;
  return {
    stream,
    subject: m.subject,
    seq: m.seq,
    data: m.string(),
    headers,
    redelivered: m.redelivered,
    timestampMs: Math.floor(m.info.timestampNanos / 1_000_000),
  };
}
