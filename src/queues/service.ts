// Everything queues need inside one launched process, behind one object the facade starts and stops: the catalog of
// queues (code and database), the dispatcher with a lane per served queue, the DELAYED -> ENQUEUED loop, and the
// heartbeat that takes over dead executors.

import { CoalescedTask } from '../runtime/coalesced.js';
import type { Executor } from '../runtime/executor.js';
import { QUEUE_SLOT_CHANNEL } from '../sysdb/queues.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import { DELAY_CHANGED_CHANNEL, QUEUE_CHANNEL } from '../sysdb/workflows.js';
import { WorkAnnouncer } from './announcer.js';
import { checkEnqueue, QueueCatalog } from './catalog.js';
import { DelayedPromoter } from './delayed.js';
import { Dispatcher } from './dispatcher.js';
import { Heartbeat } from './heartbeat.js';
import { declaredQueues, isPollerQueue, onQueueDeclared, type RegisterQueueOptions, type WorkflowQueue } from './workflow-queue.js';

/** How often the rows of `queues` are re-read by default (a notification naming an unknown queue re-reads them at once). */
const CATALOG_REFRESH_MS = 1000;


export interface QueueServiceOptions {
  /** Dispatch only these queues (the internal queue is always served); every queue when unset. */
  listenQueues?: readonly string[];
  /** An executor whose heartbeat is older than this is dead, and its work is taken over. */
  executorLeaseMs: number;
  /**
   * The safety-net poll of an idle process (ms): how often the queues table is re-read, how long an empty queue's
   * lane and the delayed-work promoter sleep at most. Default: every second (no notifications to rely on).
   */
  idlePollMs?: number;
}

/** The notification channels the queue layer listens on. */
export const QUEUE_CHANNELS = [QUEUE_CHANNEL, QUEUE_SLOT_CHANNEL, DELAY_CHANGED_CHANNEL] as const;

export class QueueService {
  readonly catalog: QueueCatalog;
  readonly dispatcher: Dispatcher;
  private readonly delayed: DelayedPromoter;
  private readonly heartbeat: Heartbeat;
  private readonly announcer: WorkAnnouncer;
  private readonly listen?: ReadonlySet<string>;
  private refreshTimer?: NodeJS.Timeout;
  private readonly refresher = new CoalescedTask(
    () => this.refresh(),
    (err) => this.executor.logger.debug('Could not read the queues table:', err),
  );
  private unsubscribe?: () => void;
  /** No lane runs before start(): launch must finish recovery (and the facade must know the engine) first. */
  private started = false;
  private stopped = false;
  private readonly idlePollMs: number;

  constructor(
    private readonly executor: Executor,
    private readonly isLatestVersion: () => boolean,
    options: QueueServiceOptions,
  ) {
    const app = executor.identity.applicationName;
    this.idlePollMs = options.idlePollMs ?? CATALOG_REFRESH_MS;
    this.catalog = new QueueCatalog(executor.db, app);
    this.dispatcher = new Dispatcher(executor, isLatestVersion, this.idlePollMs);
    const wakeAll = (queues: string[]) => queues.forEach((q) => this.dispatcher.wake(q, 'work'));
    this.delayed = new DelayedPromoter(executor.db, app, executor.logger, wakeAll, this.idlePollMs);
    this.heartbeat = new Heartbeat(executor, options.executorLeaseMs, wakeAll);
    this.announcer = new WorkAnnouncer(executor.db, executor.logger);
    this.listen = options.listenQueues ? new Set(options.listenQueues) : undefined;
  }

  private serves(queue: WorkflowQueue): boolean {
    return queue.name === INTERNAL_QUEUE || this.listen === undefined || this.listen.has(queue.name) || isPollerQueue(queue.name);
  }

  private serve(queue: WorkflowQueue): void {
    if (this.started && this.serves(queue)) this.dispatcher.ensureLane(queue);
  }

  /**
   * At launch, before recovery: this process becomes the holder of its executor ID (see src/queues/heartbeat.ts), so
   * an earlier process with the same ID, if still alive, stops recording what recovery hands to this one.
   */
  claimExecutor(): Promise<void> {
    return this.heartbeat.claim();
  }

  async start(): Promise<void> {
    await this.heartbeat.start();
    this.executor.lease = this.heartbeat;
    this.started = true;
    await this.refresh().catch((err) => this.executor.logger.warn('Could not read the queues table:', err));
    for (const queue of declaredQueues()) this.serve(queue);
    this.unsubscribe = onQueueDeclared((queue) => this.serve(queue));
    this.delayed.start();
    this.refreshTimer = setInterval(() => this.requestRefresh(), this.idlePollMs);
    this.refreshTimer.unref();
  }

  /** Re-reads `queues`: new rows get lanes, deleted ones lose theirs, changed settings apply from the next claim. */
  private async refresh(): Promise<void> {
    const { removed } = await this.catalog.refresh();
    for (const name of removed) {
      if (!this.catalog.find(name)) await this.dispatcher.removeLane(name);
    }
    for (const queue of this.catalog.storedQueues()) {
      if (this.catalog.find(queue.name) === queue) this.serve(queue); // else a queue of that name is declared in code
    }
  }

  private requestRefresh(): void {
    if (!this.stopped) this.refresher.request();
  }

  /** Work was enqueued by this process (committed): this process claims at once, and the others are told. */
  workflowEnqueued(queueName: string, delayed = false): void {
    if (delayed) return this.delayChanged();
    this.dispatcher.wake(queueName, 'work');
    this.announcer.announce(queueName);
  }

  /**
   * A DELAYED workflow was created here or its delay changed: the promoter re-plans its next wake-up at once, and on
   * PostgreSQL the other processes' promoters are told.
   */
  delayChanged(): void {
    this.delayed.poke();
    if (this.executor.db.dialect === 'postgres') {
      this.executor.db.notify(DELAY_CHANGED_CHANNEL, '').catch((err) => this.executor.logger.debug('Could not announce a delay:', err));
    }
  }

  /** A notification on one of QUEUE_CHANNELS, from any process. */
  onNotification(channel: string, queueName: string): void {
    if (channel === DELAY_CHANGED_CHANNEL) {
      this.delayed.poke();
    } else if (channel === QUEUE_SLOT_CHANNEL) {
      this.dispatcher.wake(queueName, 'slot');
    } else if (this.dispatcher.has(queueName)) {
      this.dispatcher.wake(queueName, 'work');
    } else if (!this.catalog.find(queueName)) {
      this.requestRefresh(); // a queue registered by another process, or work for one
    }
  }

  /** Notifications may have been missed: every lane claims again, and the queues are re-read. */
  onReconnect(): void {
    this.dispatcher.wakeAll();
    this.delayed.poke();
    this.requestRefresh();
  }

  /**
   * Whether an enqueue to `queueName` can ever run: the queue is declared in code or registered (here or by another
   * process of the application). Rejects an enqueue without a partition key to a partitioned queue.
   */
  queueExists(queueName: string, partitionKey: string | undefined): boolean | Promise<boolean> {
    const known = this.catalog.find(queueName);
    if (known) {
      checkEnqueue(known, partitionKey);
      return true;
    }
    return this.catalog.lookup(queueName).then((queue) => {
      if (!queue) return false;
      this.serve(queue);
      checkEnqueue(queue, partitionKey);
      return true;
    });
  }

  async register(name: string, options: RegisterQueueOptions): Promise<WorkflowQueue> {
    const queue = await this.catalog.register(name, options, this.isLatestVersion());
    this.serve(queue);
    this.dispatcher.wake(name, 'config');
    return queue;
  }

  retrieve(name: string): Promise<WorkflowQueue | null> {
    return this.catalog.retrieve(name);
  }

  list(applicationNames?: string | string[]): Promise<WorkflowQueue[]> {
    return this.catalog.list(applicationNames);
  }

  async delete(name: string): Promise<void> {
    await this.catalog.delete(name);
    if (!this.catalog.find(name)) await this.dispatcher.removeLane(name);
  }

  /** Stops claiming and promoting; the heartbeat goes on (a shutdown still hands work back under its lease). */
  async stopDispatching(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    this.unsubscribe?.();
    await this.refresher.idle();
    await Promise.all([this.dispatcher.stop(), this.delayed.stop(), this.announcer.drain()]);
  }

  /**
   * Stops beating. `remove` deletes the heartbeat: this executor is gone, not dead, because it handed all its work
   * back; otherwise the row stays, lapses, and a live executor takes over what is left.
   */
  async stopHeartbeat(remove: boolean): Promise<void> {
    await this.heartbeat.stop(remove);
  }

  async stop(): Promise<void> {
    await this.stopDispatching();
    await this.stopHeartbeat(false);
  }
}
