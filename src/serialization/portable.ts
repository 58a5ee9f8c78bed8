// The cross-language format, `portable_json`: plain JSON that DBOS's Python, Go and Java libraries read too. Values
// JSON lacks are written as the nearest JSON shape and come back as that shape (a Date comes back as its ISO string).

import { DBOSError, DBOSSerializationError, PortableWorkflowError } from '../errors.js';
import { inspectValue } from './inspect.js';
import { parseStoredJSON } from './native.js';

// Date needs no case here: Date.prototype.toJSON has already turned it into its ISO string.
function portableReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString(10);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[k as string] = v; // inspectValue has refused non-string keys
    return out;
  }
  if (value instanceof Set) return Array.from(value);
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function stringifyPortable(value: unknown, what: string): string {
  try {
    return JSON.stringify(value ?? null, portableReplacer);
  } catch (e) {
    throw new DBOSSerializationError(what, `the portable_json encoder failed: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }
}

export function encodePortable(value: unknown, what: string, root: string): string {
  inspectValue(value, { what, root, portable: true });
  return stringifyPortable(value, what);
}

/** Workflow inputs: `{"positionalArgs":[…]}`. TypeScript has no named arguments, so `namedArgs` is never written. */
export function encodePortableArgs(args: unknown[], what: string): string {
  inspectValue(args, { what, root: 'args', portable: true });
  return '{"positionalArgs":' + stringifyPortable(args, what) + '}';
}

export function decodePortable(text: string): unknown {
  return parseStoredJSON(text, 'portable_json');
}

/**
 * Reads inputs written by any language. Named arguments (Python keyword arguments) have no TypeScript equivalent;
 * when there are some, they are passed as one extra trailing object so the function can still see them.
 */
export function decodePortableArgs(text: string): unknown[] {
  const parsed = decodePortable(text);
  if (parsed === null) return [];
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed !== 'object') {
    throw new DBOSError(
      `Stored portable_json workflow arguments are not a {"positionalArgs":[…]} object: ${text.slice(0, 80)}`,
    );
  }
  const { positionalArgs, namedArgs } = parsed as { positionalArgs?: unknown; namedArgs?: unknown };
  const args = Array.isArray(positionalArgs) ? positionalArgs : [];
  if (typeof namedArgs === 'object' && namedArgs !== null && Object.keys(namedArgs).length > 0) args.push(namedArgs);
  return args;
}

interface PortableErrorRecord {
  name: string;
  message: string;
  code?: number | string;
  data?: unknown;
}

function portableErrorRecord(error: unknown): PortableErrorRecord {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error) };
  const e = error as { name?: unknown; message?: unknown; code?: unknown; data?: unknown };
  const record: PortableErrorRecord = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(e.message ?? ''),
  };
  if (typeof e.code === 'number' || typeof e.code === 'string') record.code = e.code;
  if (e.data !== undefined) record.data = e.data;
  return record;
}

/** `{"name","message","code","data"}` (code and data only if present). Never throws: an error must be recordable. */
export function encodePortableError(error: unknown): string {
  const record = portableErrorRecord(error);
  try {
    return encodePortable(record, 'the error', 'error');
  } catch {
    // `data` held something JSON cannot carry; name and message are still worth recording
    delete record.data;
    return JSON.stringify(record);
  }
}

export function decodePortableError(text: string): PortableWorkflowError {
  const parsed = decodePortable(text);
  if (typeof parsed !== 'object' || parsed === null) return new PortableWorkflowError(String(parsed), 'Error');
  const r = parsed as { name?: unknown; message?: unknown; code?: unknown; data?: unknown };
  const code = typeof r.code === 'number' || typeof r.code === 'string' ? r.code : undefined;
  return new PortableWorkflowError(
    typeof r.message === 'string' ? r.message : String(r.message ?? ''),
    typeof r.name === 'string' ? r.name : 'Error',
    code,
    r.data,
  );
}
