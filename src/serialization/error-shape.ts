// Thrown errors in the native format. DBOS stores the output of the npm package `serialize-error` (a plain object:
// own enumerable properties plus name, message, stack, code, cause and errors, nested errors converted the same way)
// inside the js_superjson envelope, and revives it by name. We write and read that same shape with our own code.
//
// Writing must never fail: an error is recorded when something already went wrong, and it may hold anything (an
// HTTP client's error holds sockets and agents). So this conversion drops what cannot be stored instead of throwing,
// marks cycles, and stops at a depth where the useful information has long been reached.

import { errorPrototypeFor } from '../errors.js';

const MAX_DEPTH = 10;
const OMIT = Symbol('omit');

// Error properties that are usually not enumerable, so Object.keys would miss them.
const ERROR_FIELDS = ['name', 'message', 'stack', 'code', 'cause', 'errors'] as const;

/** The serialize-error shape of a thrown value. Values that are not objects are returned as they are. */
export function errorToPlain(thrown: unknown): unknown {
  if (typeof thrown === 'function' || typeof thrown === 'symbol') return describe(thrown);
  return toPlain(thrown, [], 0);
}

function toPlain(v: unknown, ancestors: object[], depth: number): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') return OMIT;
  if (typeof v !== 'object' || v === null) return v;
  if (ancestors.includes(v)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  // These the native encoder stores faithfully as they are.
  if (v instanceof Date || v instanceof RegExp || v instanceof URL || ArrayBuffer.isView(v)) return v;

  const inner = [...ancestors, v];
  const next = (x: unknown): unknown => toPlain(x, inner, depth + 1);
  if (Array.isArray(v)) return v.map((x) => orUndefined(next(x)));
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) {
      const key = next(k);
      if (key !== OMIT) out.set(key, orUndefined(next(x)));
    }
    return out;
  }
  if (v instanceof Set) {
    const out = new Set<unknown>();
    for (const x of v) {
      const item = next(x);
      if (item !== OMIT) out.add(item);
    }
    return out;
  }

  const out: Record<string, unknown> = {};
  if (v instanceof Error) {
    for (const field of ERROR_FIELDS) {
      const x = read(v, field);
      if (x !== undefined && x !== null) copy(out, field, next(x));
    }
  } else {
    const toJSON = read(v, 'toJSON');
    if (typeof toJSON === 'function') {
      try {
        const json: unknown = toJSON.call(v);
        if (json !== v) return next(json);
      } catch {
        // fall through to the own properties
      }
    }
  }
  for (const k of Object.keys(v)) {
    if (k in out || k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    copy(out, k, next(read(v, k)));
  }
  return out;
}

function copy(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== OMIT) out[key] = value;
}

function orUndefined(x: unknown): unknown {
  return x === OMIT ? undefined : x;
}

// A getter that throws must not stop the error from being recorded.
function read(o: object, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'function') return `[Function: ${v.name || 'anonymous'}]`;
  return String(v);
}

/** A small stand-in when even the plain form cannot be encoded. */
export function minimalErrorPlain(thrown: unknown): unknown {
  if (typeof thrown !== 'object' || thrown === null) return String(thrown);
  const e = thrown as { name?: unknown; message?: unknown; stack?: unknown };
  return {
    name: String(e.name ?? 'Error'),
    message: String(e.message ?? ''),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reviving

type ErrorRecord = Record<string, unknown> & { name: string; message: string };

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function looksLikeError(v: unknown): v is ErrorRecord {
  return isPlainRecord(v) && typeof v.name === 'string' && typeof v.message === 'string';
}

/**
 * Turns a stored serialize-error shape back into an Error of the right class (by name), so `instanceof` works for
 * Transact's errors and built-ins. Anything else that was thrown (a string, a number, a plain object without
 * name and message) comes back as it was stored.
 */
export function reviveError(stored: unknown): unknown {
  return looksLikeError(stored) ? buildError(stored) : stored;
}

function buildError(record: ErrorRecord): Error {
  const error = Object.create(errorPrototypeFor(record.name)) as Error;
  // Like a constructed Error: message, stack and cause are own but not enumerable, name comes from the prototype.
  hidden(error, 'message', record.message);
  if (typeof record.stack === 'string') hidden(error, 'stack', record.stack);
  if (error.name !== record.name) hidden(error, 'name', record.name);
  for (const k of Object.keys(record)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    // defineProperty, not assignment: a prototype may have a getter-only property of that name
    if (k === 'cause') hidden(error, 'cause', reviveError(record.cause));
    else Object.defineProperty(error, k, { value: reviveNested(record[k]), ...VISIBLE });
  }
  return error;
}

const VISIBLE = { enumerable: true, writable: true, configurable: true } as const;

function hidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}

// Inside an error's properties (e.g. DBOSMaxStepRetriesError.errors), nested errors were written with a stack;
// requiring it keeps ordinary data objects that happen to have `name` and `message` as they were.
function reviveNested(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reviveNested);
  if (!isPlainRecord(v)) return v;
  if (looksLikeError(v) && 'stack' in v) return buildError(v);
  for (const k of Object.keys(v)) v[k] = reviveNested(v[k]);
  return v;
}
