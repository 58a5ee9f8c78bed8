// A small leveled logger with DBOS's method names; users may pass their own (config.logger).

export interface Logger {
  debug(message: unknown, ...rest: unknown[]): void;
  info(message: unknown, ...rest: unknown[]): void;
  warn(message: unknown, ...rest: unknown[]): void;
  error(message: unknown, ...rest: unknown[]): void;
}

import { redactError, redactSecrets } from './redact.js';

/** Log arguments with the password of any database URL in them replaced (see src/redact.ts). */
function redacted(args: unknown[]): unknown[] {
  return args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a instanceof Error ? redactError(a) : a));
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as LogLevel[];

export class ConsoleLogger implements Logger {
  constructor(private level: LogLevel = 'info') {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  private enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  debug(message: unknown, ...rest: unknown[]): void {
    if (this.enabled('debug')) console.debug('[transact] debug:', ...redacted([message, ...rest]));
  }
  info(message: unknown, ...rest: unknown[]): void {
    if (this.enabled('info')) console.info('[transact]', ...redacted([message, ...rest]));
  }
  warn(message: unknown, ...rest: unknown[]): void {
    if (this.enabled('warn')) console.warn('[transact] warning:', ...redacted([message, ...rest]));
  }
  error(message: unknown, ...rest: unknown[]): void {
    if (this.enabled('error')) console.error('[transact] error:', ...redacted([message, ...rest]));
  }
}
