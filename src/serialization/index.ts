// Values <-> text for everything the engine stores: inputs, outputs, errors, messages, events, stream values.
// Each stored text sits beside a `serialization` column naming its format (dbos-spec §3.3):
//   js_superjson  - the native format (default): superjson inside DBOS's marked envelope; keeps Date, Map, Set,
//                   bigint, undefined, Buffer, …
//   portable_json - plain JSON that DBOS libraries in other languages read and write
//   NULL          - written before the column existed: native, or DBOS 4.x's legacy JSON when the marker is absent

import { DBOSError } from '../errors.js';
import { errorToPlain, minimalErrorPlain, reviveError } from './error-shape.js';
import { decodeNative, encodeNative } from './native.js';
import {
  decodePortable,
  decodePortableArgs,
  decodePortableError,
  encodePortable,
  encodePortableArgs,
  encodePortableError,
} from './portable.js';

export const NATIVE_SERIALIZATION = 'js_superjson';
export const PORTABLE_SERIALIZATION = 'portable_json';
export type SerializationFormat = 'native' | 'portable';

export interface Serialized {
  text: string;
  serialization: string;
}

/** Encodes one value. `what` names it in error messages, e.g. "the output of step foo". */
export function serializeValue(value: unknown, format: SerializationFormat = 'native', what = 'a value'): Serialized {
  return isPortable(format)
    ? { text: encodePortable(value, what, 'value'), serialization: PORTABLE_SERIALIZATION }
    : { text: encodeNative(value, what, 'value'), serialization: NATIVE_SERIALIZATION };
}

/** Decodes one stored value; SQL NULL (no text at all) reads as undefined. */
export function deserializeValue<T = unknown>(
  text: string | null | undefined,
  serialization: string | null | undefined,
): T {
  if (text === null || text === undefined) return undefined as T;
  switch (serialization ?? null) {
    case NATIVE_SERIALIZATION:
      return decodeNative(text, false) as T;
    case PORTABLE_SERIALIZATION:
      return decodePortable(text) as T;
    case null:
      return decodeNative(text, true) as T;
    default:
      throw unreadableFormat(serialization as string);
  }
}

/** Encodes workflow arguments: native stores the array itself, portable `{"positionalArgs":[…]}`. */
export function serializeArgs(
  args: unknown[],
  format: SerializationFormat = 'native',
  what = 'the workflow arguments',
): Serialized {
  return isPortable(format)
    ? { text: encodePortableArgs(args, what), serialization: PORTABLE_SERIALIZATION }
    : { text: encodeNative(args, what, 'args'), serialization: NATIVE_SERIALIZATION };
}

export function deserializeArgs(text: string | null | undefined, serialization: string | null | undefined): unknown[] {
  if (text === null || text === undefined) return [];
  if (serialization === PORTABLE_SERIALIZATION) return decodePortableArgs(text);
  const args = deserializeValue<unknown>(text, serialization);
  if (args === undefined || args === null) return [];
  if (!Array.isArray(args)) {
    throw new DBOSError(`Stored workflow arguments (${serialization ?? 'no serialization'}) are not an array`);
  }
  return args;
}

/**
 * Encodes a thrown value. Never throws for the value's content: what cannot be stored is dropped, so a failure is
 * always recorded. Native keeps name, message, stack, cause and custom properties; portable keeps name, message,
 * code and data.
 */
export function serializeError(error: unknown, format: SerializationFormat = 'native'): Serialized {
  if (isPortable(format)) return { text: encodePortableError(error), serialization: PORTABLE_SERIALIZATION };
  let text: string;
  try {
    text = encodeNative(errorToPlain(error), 'the error', 'error');
  } catch {
    text = encodeNative(minimalErrorPlain(error), 'the error', 'error');
  }
  return { text, serialization: NATIVE_SERIALIZATION };
}

/** Revives a stored error: an Error of the recorded class where possible, PortableWorkflowError for portable text. */
export function deserializeError(text: string, serialization: string | null | undefined): unknown {
  if (serialization === PORTABLE_SERIALIZATION) return decodePortableError(text);
  return reviveError(deserializeValue(text, serialization));
}

function isPortable(format: SerializationFormat): boolean {
  if (format === 'portable') return true;
  if (format === 'native') return false;
  throw new DBOSError(`Unknown serialization format '${String(format)}': use 'native' or 'portable'`);
}

function unreadableFormat(serialization: string): DBOSError {
  const origin = serialization === 'py_pickle' ? ' (written by DBOS for Python)' : '';
  return new DBOSError(
    `A stored value uses the serialization format '${serialization}'${origin}, which this process cannot read: ` +
      `it reads ${NATIVE_SERIALIZATION} and ${PORTABLE_SERIALIZATION}. ` +
      'Use portable_json for data shared between languages.',
  );
}
