// The options of send/recv, events and streams, as DBOS 5.3.0 declares them, and how each resolves to a deadline,
// a poll interval or a format.

import { DBOSInvalidWorkflowInputError } from '../errors.js';
import type { SerializationFormat } from '../serialization/index.js';

/** DBOS's name for the per-call format: `undefined` means the calling workflow's format (native outside one). */
export type WorkflowSerializationFormat = undefined | SerializationFormat;

export interface PollingOptions {
  /** How long a wait goes without re-reading the database when no notification comes (ms; positive). */
  pollingIntervalMs?: number;
}

export interface SendOptions {
  serializationType?: WorkflowSerializationFormat;
}

export interface SetEventOptions {
  serializationType?: WorkflowSerializationFormat;
}

export interface WriteStreamOptions {
  serializationType?: WorkflowSerializationFormat;
}

export interface RecvOptions extends PollingOptions {
  /** Default 60 s; recv returns null when nothing arrives in time. */
  timeoutSeconds?: number;
  /** An absolute deadline (epoch ms); takes precedence over timeoutSeconds. */
  deadlineEpochMS?: number;
}

export interface GetEventOptions extends PollingOptions {
  /** Default 60 s; getEvent returns null when the event is not set in time. */
  timeoutSeconds?: number;
  /** An absolute deadline (epoch ms); takes precedence over timeoutSeconds. */
  deadlineEpochMS?: number;
}

export interface ReadStreamOptions extends PollingOptions {
  /** The offset to start at (default 0). */
  offset?: number;
  /** How long to wait for each value before DBOSStreamTimeoutError; the clock restarts with every value. */
  timeoutSeconds?: number;
}

export type ReadStreamOffsetOptions = Omit<ReadStreamOptions, 'offset'>;

export const DEFAULT_NOTIFICATION_TIMEOUT_SECONDS = 60;

/** The timeout of recv/getEvent in ms from now (an explicit deadline wins; 60 s by default). */
export function resolveTimeoutMs(options: number | RecvOptions | GetEventOptions | undefined): number {
  let seconds: number;
  if (typeof options === 'number') seconds = options;
  else if (options?.deadlineEpochMS !== undefined) {
    if (!Number.isFinite(options.deadlineEpochMS)) throw new DBOSInvalidWorkflowInputError(`deadlineEpochMS must be a finite epoch time in ms, got ${options.deadlineEpochMS}`);
    return Math.max(0, options.deadlineEpochMS - Date.now());
  }
  else seconds = options?.timeoutSeconds ?? DEFAULT_NOTIFICATION_TIMEOUT_SECONDS;
  if (!Number.isFinite(seconds) || seconds < 0) throw new DBOSInvalidWorkflowInputError(`The timeout must be a non-negative number of seconds, got ${seconds}`);
  return Math.ceil(seconds * 1000);
}

export function resolvePollingIntervalMs(options: number | PollingOptions | undefined): number | undefined {
  if (options === undefined || typeof options === 'number') return undefined;
  const interval = options.pollingIntervalMs;
  if (interval === undefined) return undefined;
  if (!Number.isFinite(interval) || interval <= 0) throw new DBOSInvalidWorkflowInputError('pollingIntervalMs must be a positive finite number');
  return interval;
}

export function resolveStreamOffset(offset: number | undefined): number {
  const value = offset ?? 0;
  if (!Number.isInteger(value) || value < 0) throw new DBOSInvalidWorkflowInputError(`The stream offset must be a non-negative integer, got ${value}`);
  return value;
}

export function resolveStreamTimeoutMs(options: ReadStreamOptions | ReadStreamOffsetOptions): number | undefined {
  const seconds = options.timeoutSeconds;
  if (seconds === undefined) return undefined;
  if (!Number.isFinite(seconds) || seconds < 0) throw new DBOSInvalidWorkflowInputError(`timeoutSeconds must not be negative, got ${seconds}`);
  return seconds * 1000;
}
