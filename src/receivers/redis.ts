// Redis Streams (`transact/redis`, with ioredis): one workflow per stream entry, exactly once, through a consumer group.
//
//   workflow ID   `redis-<stream key>-<group>-<entry ID>` (e.g. `redis-orders-billing-1718000000000-0`)
//   arguments     (stream key, entry ID, fields as an object of strings)
//   acknowledged  XACK, once the workflows of the entries read together are stored (./intake.ts); an entry read but
//                 not acknowledged stays pending in the group and is read again: by this consumer after a reconnect
//                 or restart under the same name (its own pending entries first), or by any consumer of the group with
//                 XAUTOCLAIM once it has been idle `claimIdleMs` (a dead consumer's entries). Read again, an entry
//                 finds its workflow stored already and does not run twice.
//
// The group is created at the start of the stream if it does not exist (entries added before the first launch are
// processed too). Each consumer reads on a connection of its own (XREADGROUP blocks). A connection error is logged,
// raised as the alert `EventReceiverCrashed`, and retried with backoff while the receiver runs; entries are in order
// within one consumer, but a group shares them between consumers, so no order is promised across a group.

import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { hostname } from 'node:os';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { registeredWorkflowName } from '../process/state.js';
import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSInitializationError, DBOSNotRegisteredError } from '../errors.js';
import type { AnyFunction } from '../runtime/registry.js';
import { registerInternalQueue, registerPollerQueue } from './api.js';
import { ConcurrentTakes, MessageIntake, pause, type IntakeItem, type IntakeTarget } from './intake.js';
import { ConsumerStatus, type ReceiverStatus } from './status.js';

export interface RedisReceiverConfig {
  /** `redis://host:port/db`; or give `redis` (ioredis options). */
  url?: string;
  redis?: RedisOptions;
  /** This process's consumer name in each group (default `<host>-<pid>`); a restart under the same name resumes its pending entries at once. */
  consumerName?: string;
  /** How long one XREADGROUP waits for new entries (default 2000 ms). */
  blockMs?: number;
  /** An entry pending this long with another consumer is claimed (XAUTOCLAIM) and taken in here (default 30000 ms). */
  claimIdleMs?: number;
  /** The first wait after a connection error (default 500 ms; doubles up to 30 s). */
  reconnectMs?: number;
  /** Pause reading while this many workflows of a consumer's queue are stored but not finished (default 2,000). */
  maxUnfinished?: number;
  /** Batches of new entries a consumer stores at once, reading the next while earlier ones are stored (default 4). */
  concurrentBatches?: number;
}

export interface RedisConsumerOptions {
  /** The consumer group (default: derived from the workflow's class and name, as Kafka's). */
  group?: string;
  /** Entries read, stored and acknowledged together (default 100). */
  batchSize?: number;
  /** The queue the workflows run on (default an internal one). */
  queueName?: string;
}

/** The arguments of a consumer workflow: the stream key, the entry ID and its fields. */
export type RedisArgs = [string, string, Record<string, string>];

export const REDIS_QUEUE = '_transact_redis_queue';
/** How often a consumer asks the stream how far behind its group is (XINFO GROUPS). */
const LAG_EVERY_MS = 1000;

export function redisWorkflowID(stream: string, group: string, entryID: string): string {
  return `redis-${stream}-${group}-${entryID}`;
}

export function defaultRedisGroup(className: string, name: string): string {
  return `transact-${[className, name].filter(Boolean).join('-')}`;
}

interface Registration {
  fn: AnyFunction;
  stream: string;
  options: RedisConsumerOptions;
}

type StreamEntry = [id: string, fields: string[]];

export class RedisReceiver implements DBOSLifecycleCallback {
  private readonly registrations: Registration[] = [];
  private consumers: RedisConsumer[] = [];
  private stop = new AbortController();

  constructor(private readonly config: RedisReceiverConfig = {}) {
    DBOS.registerLifecycleCallback(this);
  }

  /** Runs registered workflow `func(stream, entryID, fields)` once for every entry of `stream`. */
  registerConsumer<This, Return>(func: (this: This, ...args: RedisArgs) => Promise<Return>, stream: string, options: RedisConsumerOptions = {}): void {
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new DBOSInitializationError(`Redis consumer ${func.name}: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    const queueName = options.queueName ?? REDIS_QUEUE;
    if (queueName === REDIS_QUEUE) registerInternalQueue(REDIS_QUEUE);
    registerPollerQueue(queueName);
    this.registrations.push({ fn: func as AnyFunction, stream, options });
  }

  /** `@receiver.consumer(stream, options)` above `@DBOS.workflow()`. */
  consumer(stream: string, options: RedisConsumerOptions = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => method.fn,
      (method) => this.registerConsumer(method.fn as (...args: RedisArgs) => Promise<unknown>, stream, options),
    );
  }

  status(): ReceiverStatus[] {
    return this.consumers.map((c) => c.status.snapshot());
  }

  async initialize(): Promise<void> {
    if (this.registrations.length === 0) return;
    this.stop = new AbortController();
    let ioredis: { Redis?: unknown; default?: unknown };
    try {
      ioredis = (await import('ioredis')) as { Redis?: unknown; default?: unknown };
    } catch (err) {
      throw new DBOSInitializationError('RedisReceiver needs the ioredis package: npm install ioredis', err instanceof Error ? err : new Error(String(err)));
    }
    const Redis = (ioredis.Redis ?? ioredis.default) as new (...args: unknown[]) => RedisClient;
    const intake = new MessageIntake({ backoff: { retryTime: 500, multiplier: 2 }, stopped: this.stop.signal, maxUnfinished: this.config.maxUnfinished });
    const connect = () => {
      const options: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, ...this.config.redis };
      return this.config.url ? new Redis(this.config.url, options) : new Redis(options);
    };
    for (const r of this.registrations) {
      const registered = registeredWorkflowName(r.fn);
      if (!registered) throw new DBOSNotRegisteredError(`${r.fn.name || 'anonymous function'} (a Redis consumer must be a registered workflow)`);
      const label = registered.className ? `${registered.className}.${registered.name}` : registered.name;
      const group = r.options.group ?? defaultRedisGroup(registered.className, registered.name);
      const target: IntakeTarget = { fn: r.fn, label: `Redis consumer ${label}`, queueName: r.options.queueName ?? REDIS_QUEUE, batchSize: r.options.batchSize ?? 100 };
      this.consumers.push(new RedisConsumer(connect, r.stream, group, target, intake, this.config, this.stop.signal, label));
    }
    try {
      // A broker that cannot be reached at launch fails the launch, as Kafka's does.
      await Promise.all(this.consumers.map((c) => c.prepare()));
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
  }

  logRegisteredEndpoints(): void {
    for (const c of this.consumers) DBOS.logger.info(`${c.target.label}: stream ${c.stream}, group ${c.group}, queue ${c.target.queueName}`);
  }
}

class RedisConsumer {
  readonly status: ConsumerStatus;
  private client: RedisClient;
  private readonly consumerName: string;
  private running?: Promise<void>;
  private lagCheckedAt = 0;

  constructor(
    private readonly connect: () => RedisClient,
    readonly stream: string,
    readonly group: string,
    readonly target: IntakeTarget,
    private readonly intake: MessageIntake,
    private readonly config: RedisReceiverConfig,
    private readonly stopped: AbortSignal,
    label: string,
  ) {
    this.status = new ConsumerStatus('redis', label, group, target);
    this.consumerName = config.consumerName ?? `${hostname()}-${process.pid}`;
    this.client = connect();
    this.client.on('error', () => {}); // reported where a command fails
  }

  /** Connects and makes sure the group exists (from the start of the stream). */
  async prepare(): Promise<void> {
    if (this.client.status === 'wait' || this.client.status === 'end') await this.client.connect();
    try {
      await this.client.xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  run(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    let wait = this.config.reconnectMs ?? 500;
    let ownPending = true; // after a (re)connect, first what this consumer read and did not acknowledge
    let claimCursor = '0-0';
    let lastClaim = 0;
    const claimIdle = this.config.claimIdleMs ?? 30_000;
    // New entries are read while earlier ones are being stored (each entry is acknowledged on its own, after its
    // chunk is stored); pending and claimed entries are taken one batch at a time, so a re-read never meets an entry
    // that is still on its way in.
    const takes = new ConcurrentTakes(this.config.concurrentBatches ?? 4);
    while (!this.stopped.aborted) {
      try {
        if (this.client.status !== 'ready') {
          this.client.disconnect();
          this.client = this.connect();
          this.client.on('error', () => {});
          await this.prepare();
        }
        if (this.status.state !== 'paused') this.status.set('running');
        let entries: StreamEntry[];
        let alone = true;
        if (ownPending) {
          entries = await this.read('0', false);
          if (entries.length === 0) ownPending = false;
        } else if (Date.now() - lastClaim >= Math.min(claimIdle, 5000)) {
          lastClaim = Date.now();
          const [next, claimed, deleted] = (await this.client.xautoclaim(
            this.stream, this.group, this.consumerName, claimIdle, claimCursor, 'COUNT', this.target.batchSize,
          )) as [string, StreamEntry[], string[]?];
          claimCursor = next;
          if (deleted && deleted.length > 0) await this.client.xack(this.stream, this.group, ...deleted);
          entries = claimed.filter((e) => e && e[1]);
        } else {
          // Block for new entries only when nothing is on its way in: a blocked read holds up the connection's XACKs.
          entries = await this.read('>', takes.size === 0);
          alone = false;
        }
        if (entries.length > 0) await takes.add(() => this.take(entries));
        if (alone || entries.length === 0 || !takes.clean) {
          const result = await takes.settle();
          if (result === 'paused') {
            this.status.set('paused');
            await this.intake.drained(this.target.queueName);
            this.status.set('running');
          }
          if (result !== 'done') ownPending = true; // the rest is pending with this consumer: read it again first
        }
        await this.updateLag();
        wait = this.config.reconnectMs ?? 500;
      } catch (err) {
        await takes.settle().catch(() => {});
        if (this.stopped.aborted) break;
        this.status.crashed(err, wait);
        await pause(wait, this.stopped);
        wait = Math.min(wait * 2, 30_000);
        ownPending = true;
        try {
          this.client.disconnect();
        } catch {
          // already gone
        }
      }
    }
    await takes.settle().catch(() => {});
  }

  private async read(from: '0' | '>', block: boolean): Promise<StreamEntry[]> {
    const args: Array<string | number> = ['GROUP', this.group, this.consumerName, 'COUNT', this.target.batchSize];
    if (block) args.push('BLOCK', this.config.blockMs ?? 2000);
    const reply = (await this.client.call('XREADGROUP', ...args, 'STREAMS', this.stream, from)) as Array<[string, StreamEntry[]]> | null;
    return (reply?.[0]?.[1] ?? []).filter((e) => e && e[1]); // an entry deleted while pending comes back without fields
  }

  private async take(entries: StreamEntry[]) {
    const items = entries.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return { workflowID: redisWorkflowID(this.stream, this.group, id), args: [this.stream, id, fields], position: `${this.stream}@${id}`, id };
    });
    return this.intake.take(this.target, items, {
      commit: async (chunk: Array<IntakeItem & { id: string }>) => {
        await this.client.xack(this.stream, this.group, ...chunk.map((c) => c.id));
        this.status.took(chunk.length);
      },
      heartbeat: async () => {},
      abandoned: () => this.stopped.aborted,
    });
  }

  private async updateLag(): Promise<void> {
    if (Date.now() - this.lagCheckedAt < LAG_EVERY_MS) return;
    this.lagCheckedAt = Date.now();
    const groups = (await this.client.xinfo('GROUPS', this.stream)) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === this.group && typeof info.lag === 'number') this.status.setLag(this.stream, info.lag + Number(info.pending ?? 0));
    }
  }

  async close(): Promise<void> {
    // A blocked XREADGROUP returns within blockMs; disconnecting ends it at once.
    this.client.disconnect();
    await this.running?.catch(() => {});
    this.status.remove();
  }
}
