// What each consumer of an event receiver is doing, for operators: its state, its crashes (each one logged with its
// cause and raised as the alert `EventReceiverCrashed`), how far behind the source it is, and what it has taken in.
// `receiverStatuses()` (from `transact/eventreceiver`) lists every consumer of this process; each receiver's
// `status()` lists its own.

import { DBOS } from '../dbos.js';
import { alertReceiverCrashed, ALERT_EVENT_RECEIVER_CRASHED } from '../alerts/alerts.js';
import { receiverCrashes, receiverLag, receiverMessages, receiverState, workflowsFinished } from '../metrics/instruments.js';
import { registeredWorkflowName } from '../process/state.js';
import type { AnyFunction } from '../runtime/registry.js';

/**
 * starting     connecting and subscribing
 * running      reading the source
 * rebalancing  the source is handing partitions between consumers (Kafka)
 * paused       too many of its workflows are stored but not finished (maxUnfinished): reading waits for them
 * crashed      the client failed; it is being rebuilt (with backoff)
 * stopped      the receiver was stopped (shutdown)
 */
export type ReceiverState = 'starting' | 'running' | 'rebalancing' | 'paused' | 'crashed' | 'stopped';

export interface ReceiverStatus {
  /** `kafka`, `redis`, `nats`, `pg-changes`. */
  source: string;
  /** The consumer's workflow, `Class.method`. */
  name: string;
  /** The consumer group (Kafka, Redis), durable consumer (NATS) or table (PostgreSQL) it reads as. */
  group: string;
  state: ReceiverState;
  /** Crashes since launch; each was rebuilt (or is being). */
  crashes: number;
  lastCrash?: { atMs: number; error: string };
  /** Messages acknowledged to the source since launch, each once its workflow was stored (by this call, or before). */
  taken: number;
  /** New workflows stored for its messages since launch (a redelivered message finds its workflow stored: not counted). */
  stored: number;
  /** Runs of its workflow that finished (any outcome) in this process since launch. */
  finished: number;
  /** Per partition (Kafka `topic/partition`, Redis stream key, NATS stream): messages in the source not yet taken. */
  lag: Record<string, number>;
  /** When the state last changed. */
  sinceMs: number;
}

/** The alert raised, beside the log line, each time a receiver's client crashes. */
export const ALERT_RECEIVER_CRASHED = ALERT_EVENT_RECEIVER_CRASHED;

const all = new Set<ConsumerStatus>();

const STATES: readonly ReceiverState[] = ['starting', 'running', 'rebalancing', 'paused', 'crashed'];
const FINISHED: readonly string[] = ['SUCCESS', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

// The metrics of every consumer, read at scrape time (src/metrics/instruments.ts).
function perConsumer<T>(each: (s: ReceiverStatus, labels: string[]) => T[]): () => T[] {
  return () => [...all].flatMap((c) => {
    const s = c.snapshot();
    return each(s, [s.source, s.name, s.group]);
  });
}
receiverState.addSource(perConsumer((s, l) => STATES.map((state) => ({ labels: [...l, state], value: s.state === state ? 1 : 0 }))));
receiverLag.addSource(perConsumer((s, l) => Object.entries(s.lag).map(([partition, lag]) => ({ labels: [...l, partition], value: lag }))));
receiverMessages.addSource(
  perConsumer((s, l) => [
    { labels: [...l, 'acknowledged'], value: s.taken },
    { labels: [...l, 'stored'], value: s.stored },
    { labels: [...l, 'finished'], value: s.finished },
  ]),
);
receiverCrashes.addSource(perConsumer((s, l) => [{ labels: l, value: s.crashes }]));

/** What a status needs of its consumer's intake target: the workflow it starts, and where stores are reported. */
interface StatusTarget {
  fn: AnyFunction;
  onStored?: (count: number) => void;
}

/** Every consumer of every receiver in this process. */
export function receiverStatuses(): ReceiverStatus[] {
  return [...all].map((s) => s.snapshot());
}

/** One consumer's status, kept by its receiver. */
export class ConsumerStatus {
  private status: ReceiverStatus;
  private readonly workflowName?: string;
  /** Finished runs of the workflow already counted when this consumer started. */
  private readonly finishedBefore: number;

  constructor(source: string, name: string, group: string, target?: StatusTarget) {
    this.status = { source, name, group, state: 'starting', crashes: 0, taken: 0, stored: 0, finished: 0, lag: {}, sinceMs: Date.now() };
    this.workflowName = target ? registeredWorkflowName(target.fn)?.name : undefined;
    this.finishedBefore = this.finishedRuns();
    if (target) target.onStored = (count) => void (this.status.stored += count);
    all.add(this);
  }

  private finishedRuns(): number {
    const name = this.workflowName;
    return name === undefined ? 0 : FINISHED.reduce((n, status) => n + workflowsFinished.value(name, status), 0);
  }

  get state(): ReceiverState {
    return this.status.state;
  }

  set(state: ReceiverState): void {
    if (this.status.state === state) return;
    this.status = { ...this.status, state, sinceMs: Date.now() };
  }

  took(count: number): void {
    this.status.taken += count;
  }

  setLag(key: string, lag: number): void {
    this.status.lag[key] = Math.max(0, lag);
  }

  clearLag(): void {
    this.status.lag = {};
  }

  /** The client crashed: logged with its cause, raised as an alert; the caller rebuilds it. */
  crashed(error: unknown, rebuildInMs: number): void {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.status = { ...this.status, state: 'crashed', crashes: this.status.crashes + 1, lastCrash: { atMs: Date.now(), error: text }, sinceMs: Date.now() };
    alertReceiverCrashed(DBOS.logger, { ...this.status, consumer: this.status.name, error: text, rebuildInMs }, error);
  }

  snapshot(): ReceiverStatus {
    return {
      ...this.status,
      finished: this.finishedRuns() - this.finishedBefore,
      lag: { ...this.status.lag },
      ...(this.status.lastCrash ? { lastCrash: { ...this.status.lastCrash } } : {}),
    };
  }

  /** The receiver is gone (shutdown): no longer listed. */
  remove(): void {
    this.set('stopped');
    all.delete(this);
  }
}
