// Input validation: one place that decides what the engine accepts, used by the DBOS facade, the runtime and the
// client alike, so the embedded database and PostgreSQL accept and reject exactly the same input, with the same typed
// error, before anything is written. Each check is a small function that returns the value (normalized where the
// stored form needs it) or throws.
//
// Limits, and why:
//  - No NUL character in any text: PostgreSQL's text type cannot hold one ("invalid byte sequence"), SQLite can.
//  - Identifiers are indexed, and a PostgreSQL btree index entry must fit in about a third of a page (2704 bytes on
//    the default 8 KB page), or the insert fails ("index row size exceeds btree maximum"). Several identifiers share
//    one index entry: the partitioned-dequeue index holds the queue name, the partition key, the workflow ID and the
//    application name together. So a workflow ID may have up to MAX_WORKFLOW_ID_BYTES (leaving room for the suffixes
//    the engine appends: `-<functionID>` for a child), every other identifier up to MAX_KEY_BYTES, and the widest
//    entry stays near 2.5 KB. Lengths are counted in UTF-8 bytes, as PostgreSQL stores them.
//  - Durations are finite, positive and at most MAX_DURATION_MS (100 years), so every deadline computed from them
//    is a valid Date and an exact integer; fractions of a millisecond are rounded up (PostgreSQL's bigint columns
//    take no fractions, SQLite would store them as they are). Waits longer than a Node timer can hold (2^31-1 ms)
//    are taken in pieces (see callAt in src/runtime/context.ts).

import { DBOSInvalidQueuePriorityError, DBOSInvalidWorkflowInputError } from './errors.js';

/** The most UTF-8 bytes a workflow ID may have. */
export const MAX_WORKFLOW_ID_BYTES = 1000;
/** The most UTF-8 bytes of a queue name, deduplication ID, partition key, topic, event or stream key, idempotency key,
 * application name, authenticated user or registered function name. */
export const MAX_KEY_BYTES = 500;
/** PostgreSQL declares class_name and config_name as varchar(255): at most 255 characters. */
export const MAX_CLASS_NAME_CHARS = 255;
/** The longest timeout or delay accepted (100 years, in ms). */
export const MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000;
/** Queue priorities are PostgreSQL integers: 0 (first) to 2^31-1. */
export const MAX_PRIORITY = 2147483647;

/** What a text identifier is, for the error message. */
export type KeyKind =
  | 'workflowID'
  | 'queueName'
  | 'scheduleName'
  | 'deduplicationID'
  | 'queuePartitionKey'
  | 'topic'
  | 'event key'
  | 'stream key'
  | 'idempotencyKey'
  | 'applicationName'
  | 'applicationVersion'
  | 'authenticatedUser'
  | 'authenticated role'
  | 'workflow name'
  | 'step name'
  | 'class name'
  | 'instance name';

function invalid(message: string): DBOSInvalidWorkflowInputError {
  return new DBOSInvalidWorkflowInputError(message);
}

/** A short, printable picture of a rejected value (never the whole of a huge string). */
function shown(value: unknown): string {
  if (typeof value === 'string') {
    const text = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(text).replace(/\\u0000/g, '\\0');
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return typeof value;
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Text the database stores as is: a string without NUL characters. */
export function checkText(what: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(`${what} must be a string, got ${shown(value)}`);
  if (value.includes('\u0000')) throw invalid(`${what} must not contain a NUL character (\\0), got ${shown(value)}`);
  return value;
}

/** A non-empty identifier of at most `maxBytes` UTF-8 bytes, without NUL characters. */
export function checkKey(kind: KeyKind, value: unknown, maxBytes = kind === 'workflowID' ? MAX_WORKFLOW_ID_BYTES : MAX_KEY_BYTES): string {
  checkText(kind, value);
  const text = value as string;
  if (text.length === 0) throw invalid(`${kind} must not be empty`);
  const bytes = utf8Bytes(text);
  if (bytes > maxBytes) throw invalid(`${kind} is ${bytes} bytes long; at most ${maxBytes} bytes are allowed, got ${shown(text)}`);
  return text;
}

/** checkKey for an optional value: undefined (and null, where the caller allows it) pass through. */
export function checkOptionalKey<T extends string | null | undefined>(kind: KeyKind, value: T): T {
  if (value === undefined || value === null) return value;
  return checkKey(kind, value) as T;
}

export function checkWorkflowID(value: unknown): string {
  return checkKey('workflowID', value);
}

/** A queue priority: an integer from 0 (runs first) to 2^31-1. */
export function checkPriority(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_PRIORITY) {
    throw new DBOSInvalidQueuePriorityError(value as number, 0, MAX_PRIORITY);
  }
  return value;
}

/** A duration in ms: a finite positive number, at most MAX_DURATION_MS; returned as a whole number of ms. */
export function checkTimeoutMS(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) {
    throw invalid(`${what} must be a finite positive number of milliseconds, got ${shown(value)}`);
  }
  if (value > MAX_DURATION_MS) throw invalid(`${what} must be at most ${MAX_DURATION_MS} ms (100 years), got ${value}`);
  return Math.ceil(value);
}

/** A delay in seconds before a queued workflow may start: finite, not negative, at most 100 years. */
export function checkDelaySeconds(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`${what} must be a finite number of seconds, 0 or more, got ${shown(value)}`);
  }
  if (value * 1000 > MAX_DURATION_MS) throw invalid(`${what} must be at most ${MAX_DURATION_MS / 1000} s (100 years), got ${value}`);
  return value;
}

/** An absolute time (epoch ms) the engine stores: finite and within 100 years of now; returned whole. */
export function checkEpochMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value - Date.now()) > MAX_DURATION_MS) {
    throw invalid(`${what} must be a time (epoch milliseconds) within 100 years of now, got ${shown(value)}`);
  }
  return Math.ceil(value);
}

/** A sleep in ms: any finite number (0 or less does not wait). */
export function checkSleepMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${what} must be a finite number, got ${shown(value)}`);
  if (value > MAX_DURATION_MS) throw invalid(`${what} must be at most ${MAX_DURATION_MS} ms (100 years), got ${value}`);
  return value;
}

/** Authenticated roles: an array of role names. */
export function checkRoles(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid(`authenticatedRoles must be an array of strings, got ${shown(value)}`);
  for (const role of value) checkText('an authenticated role', role);
  return value as string[];
}

/**
 * Workflow attributes (stored as JSONB on PostgreSQL): a plain JSON object whose text has no NUL character, which
 * JSONB rejects (`\u0000`) where SQLite's text would not.
 */
export function checkAttributes(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`workflowAttributes must be a plain object, got ${shown(value)}`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw invalid(`workflowAttributes must be JSON: ${(err as Error).message}`);
  }
  if (text === undefined) throw invalid('workflowAttributes must be JSON');
  if (text.includes('\\u0000')) throw invalid('workflowAttributes must not contain a NUL character (\\0) in any key or string');
  return value as Record<string, unknown>;
}

/** A name recorded for a registered workflow or step (indexed with the steps it records). */
export function checkFunctionName(kind: 'workflow name' | 'step name', value: unknown): string {
  return checkKey(kind, value);
}

/** A class or configured-instance name: PostgreSQL's varchar(255), without NUL characters. */
export function checkClassName(kind: 'class name' | 'instance name', value: unknown): string {
  checkText(kind, value);
  const text = value as string;
  if ([...text].length > MAX_CLASS_NAME_CHARS) throw invalid(`${kind} must be at most ${MAX_CLASS_NAME_CHARS} characters, got ${shown(text)}`);
  return text;
}

/** A step's configuration, checked where the step is declared (or run, for DBOS.runStep). */
export function checkStepConfig(name: string, config: { timeoutMS?: unknown; maxAttempts?: unknown; intervalSeconds?: unknown; backoffRate?: unknown }): void {
  if (config.timeoutMS !== undefined) checkTimeoutMS(`timeoutMS of step ${name}`, config.timeoutMS);
  if (config.maxAttempts !== undefined && !(typeof config.maxAttempts === 'number' && Number.isFinite(config.maxAttempts))) {
    throw invalid(`maxAttempts of step ${name} must be a finite number, got ${shown(config.maxAttempts)}`);
  }
  for (const key of ['intervalSeconds', 'backoffRate'] as const) {
    const v = config[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw invalid(`${key} of step ${name} must be a finite number, 0 or more, got ${shown(v)}`);
    }
  }
}

/** The options of a start or an enqueue, whoever makes it (the facade, the runtime, the client, a debouncer). */
export interface StartCheck {
  workflowID?: string;
  queueName?: string;
  timeoutMS?: number | null;
  deduplicationID?: string;
  priority?: number;
  queuePartitionKey?: string;
  delaySeconds?: number;
  applicationName?: string;
  applicationVersion?: string | null;
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  attributes?: Record<string, unknown>;
}

/**
 * Checks every option of a start or an enqueue; returns the options with durations in the stored form (whole ms).
 * `timeoutMS: null` (detach from a parent's deadline) passes.
 */
export function checkStartOptions<T extends StartCheck>(options: T, timeoutName = 'timeoutMS'): T {
  checkOptionalKey('workflowID', options.workflowID);
  checkOptionalKey('queueName', options.queueName);
  checkOptionalKey('deduplicationID', options.deduplicationID);
  checkOptionalKey('queuePartitionKey', options.queuePartitionKey);
  checkOptionalKey('applicationName', options.applicationName);
  checkOptionalKey('applicationVersion', options.applicationVersion);
  if (options.authenticatedUser !== undefined && options.authenticatedUser !== null) checkText('authenticatedUser', options.authenticatedUser);
  if (options.authenticatedRoles !== undefined) checkRoles(options.authenticatedRoles);
  if (options.attributes !== undefined && options.attributes !== null) checkAttributes(options.attributes);
  if (options.priority !== undefined) checkPriority(options.priority);
  if (options.delaySeconds !== undefined) checkDelaySeconds('delaySeconds', options.delaySeconds);
  if (options.timeoutMS === undefined || options.timeoutMS === null) return options;
  return { ...options, timeoutMS: checkTimeoutMS(timeoutName, options.timeoutMS) };
}

/** Every status a workflow row can have, in the order an operator reads them. */
export const WORKFLOW_STATUSES = ['PENDING', 'ENQUEUED', 'DELAYED', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'] as const;

/**
 * A status an operator typed (a filter of the CLI or the console): one of WORKFLOW_STATUSES, exactly. A near miss
 * (`error`, `Success`) is refused with the correct spelling, so a typo never reads as "no workflows".
 */
export function checkWorkflowStatus(value: unknown): string {
  checkText('status', value);
  const text = value as string;
  if ((WORKFLOW_STATUSES as readonly string[]).includes(text)) return text;
  const near = WORKFLOW_STATUSES.find((s) => s === text.toUpperCase().replace(/[-\s]/g, '_'));
  throw invalid(`unknown status ${shown(text)}${near ? ` (did you mean ${near}?)` : ''}; use one of ${WORKFLOW_STATUSES.join(', ')}`);
}

/**
 * A point in time an operator typed: an ISO 8601 date or date-time (`2025-03-01`, `2025-03-01T12:00`, with an
 * optional zone; without one a date-time is local time and a bare date is midnight UTC, as Date reads them), epoch milliseconds, or a duration before
 * now (`90s`, `15m`, `2h`, `7d`). Returns epoch milliseconds.
 */
export function checkTimeText(what: string, value: unknown, now = Date.now()): number {
  checkText(what, value);
  const text = (value as string).trim();
  const ago = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text);
  if (ago) return Math.round(now - Number(ago[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd']);
  if (/^\d{10,}$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw invalid(`${what} must be a date or time (2025-03-01, 2025-03-01T12:00:00Z), epoch milliseconds, or a time ago (30m, 2h, 7d); got ${shown(text)}`);
  }
  return ms;
}
