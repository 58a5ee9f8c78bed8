// A small leveled logger with DBOS's method names; users may pass their own (config.logger).

export interface Logger {
  debug(message: unknown, ...rest: unknown[]): void;
  info(message: unknown, ...rest: unknown[]): void;
  warn(message: unknown, ...rest: unknown[]): void;
  error(message: unknown, ...rest: unknown[]): void;
}

import { formatWithOptions } from 'node:util';
import { redactError, redactSecrets } from './redact.js';

/** `text` (the default): `[transact] warning: ...` lines; `json`: one JSON object per line, for log collectors. */
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** What a log line made inside a workflow says about where it was made. */
export interface LogFields {
  workflowID?: string;
  workflowName?: string;
  /** The step running, by name and function ID, when the line comes from inside one. */
  step?: string;
  functionID?: number;
  executorID?: string;
}

// The runtime knows the workflow a call is made in; this module sits below it and asks through this hook.
let fieldsHere: () => LogFields | undefined = () => undefined;

/** Installs what JSON lines read their workflow fields from (src/runtime/context.ts does, once). */
export function setLogFieldsSource(source: () => LogFields | undefined): void {
  fieldsHere = source;
}

/** Log arguments with the password of any database URL in them replaced (see src/redact.ts). */
function redacted(args: unknown[]): unknown[] {
  return args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a instanceof Error ? redactError(a) : a));
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as LogLevel[];

export class ConsoleLogger implements Logger {
  constructor(
    private level: LogLevel = 'info',
    private format: LogFormat = 'text',
  ) {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  setFormat(format: LogFormat): void {
    this.format = format;
  }

  private enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  debug(message: unknown, ...rest: unknown[]): void {
    if (!this.enabled('debug')) return;
    if (this.format === 'json') console.debug(jsonLine('debug', [message, ...rest]));
    else console.debug('[transact] debug:', ...redacted([message, ...rest]));
  }
  info(message: unknown, ...rest: unknown[]): void {
    if (!this.enabled('info')) return;
    if (this.format === 'json') console.info(jsonLine('info', [message, ...rest]));
    else console.info('[transact]', ...redacted([message, ...rest]));
  }
  warn(message: unknown, ...rest: unknown[]): void {
    if (!this.enabled('warn')) return;
    if (this.format === 'json') console.warn(jsonLine('warn', [message, ...rest]));
    else console.warn('[transact] warning:', ...redacted([message, ...rest]));
  }
  error(message: unknown, ...rest: unknown[]): void {
    if (!this.enabled('error')) return;
    if (this.format === 'json') console.error(jsonLine('error', [message, ...rest]));
    else console.error('[transact] error:', ...redacted([message, ...rest]));
  }
}

interface ErrorFields {
  name: string;
  message: string;
  code?: unknown;
  stack?: string;
  cause?: ErrorFields | string;
}

function errorFields(err: Error, depth = 0): ErrorFields {
  const out: ErrorFields = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.stack) out.stack = err.stack;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && depth < 5) out.cause = cause instanceof Error ? errorFields(redactError(cause), depth + 1) : String(cause);
  return out;
}

/**
 * One JSON object: time, level, message (the arguments that are not errors, formatted as console.log would), the
 * workflow's fields when the call is made inside one, and the first error with its code, stack and causes.
 */
function jsonLine(level: LogLevel, args: unknown[]): string {
  const clean = redacted(args);
  const error = clean.find((a): a is Error => a instanceof Error);
  const text = clean.filter((a) => a !== error && a !== '');
  const message = text.length > 0 ? formatWithOptions({ colors: false, breakLength: Infinity }, ...(text as [unknown, ...unknown[]])) : (error?.message ?? '');
  let fields: LogFields | undefined;
  try {
    fields = fieldsHere();
  } catch {
    fields = undefined;
  }
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, message, ...fields };
  if (error) line.error = errorFields(error);
  return JSON.stringify(line);
}
