// What each consumer of an event receiver is doing, for operators: its state, its crashes (each one logged with its
// cause and raised as the alert `EventReceiverCrashed`), how far behind the source it is, and what it has taken in.
// `receiverStatuses()` (from `transact/eventreceiver`) lists every consumer of this process; each receiver's
// `status()` lists its own.

import { DBOS } from '../dbos.js';
import { raiseAlert } from '../alerts/alerts.js';

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
  /** Messages taken in (stored as workflows, or found stored already) since launch. */
  taken: number;
  /** Per partition (Kafka `topic/partition`, Redis stream key, NATS stream): messages in the source not yet taken. */
  lag: Record<string, number>;
  /** When the state last changed. */
  sinceMs: number;
}

/** The alert raised, beside the log line, each time a receiver's client crashes. */
export const ALERT_RECEIVER_CRASHED = 'EventReceiverCrashed';

const all = new Set<ConsumerStatus>();

/** Every consumer of every receiver in this process. */
export function receiverStatuses(): ReceiverStatus[] {
  return [...all].map((s) => s.snapshot());
}

/** One consumer's status, kept by its receiver. */
export class ConsumerStatus {
  private status: ReceiverStatus;

  constructor(source: string, name: string, group: string) {
    this.status = { source, name, group, state: 'starting', crashes: 0, taken: 0, lag: {}, sinceMs: Date.now() };
    all.add(this);
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
    const message = `${this.status.source} consumer ${this.status.name} (${this.status.group}) crashed: ${text}; rebuilding it in ${rebuildInMs} ms`;
    DBOS.logger.error(message, error);
    raiseAlert(DBOS.logger, ALERT_RECEIVER_CRASHED, message, {
      source: this.status.source,
      consumer: this.status.name,
      group: this.status.group,
      error: text,
      crashes: this.status.crashes,
      rebuildInMs,
    });
  }

  snapshot(): ReceiverStatus {
    return { ...this.status, lag: { ...this.status.lag }, ...(this.status.lastCrash ? { lastCrash: { ...this.status.lastCrash } } : {}) };
  }

  /** The receiver is gone (shutdown): no longer listed. */
  remove(): void {
    this.set('stopped');
    all.delete(this);
  }
}
