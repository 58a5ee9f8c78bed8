// Type names @dbos-inc/dbos-sdk exports that Transact's own modules spell differently: aliases, so that code
// importing them by DBOS's names compiles unchanged. Types only; nothing here exists at run time.

import type { Logger } from './logger.js';
import type { PollingOptions } from './messaging/options.js';
import type { Span } from './tracing/public.js';

/** Options of DBOS.getResult (a number is `timeoutSeconds`). */
export interface GetResultOptions extends PollingOptions {
  timeoutSeconds?: number;
}

export type WaitFirstOptions = PollingOptions;
export type WaitAllOptions = PollingOptions;

/** DBOS.setWorkflowDelay's object form (a number is seconds from now). */
export interface SetWorkflowDelayOptions {
  delaySeconds?: number;
  delayUntilEpochMS?: number;
}

/** A workflow's `inputSchema`: validates (and may transform) the argument array; throws to refuse it. */
export interface InputSchema {
  parse(input: unknown): unknown;
}

export type WorkflowIDReusePolicy = 'return-existing' | 'reject';

export type OtelAttributeFormat = 'legacy' | 'semconv';

/** DBOS's name for a logger (`DBOSConfig.logger`, `DBOS.logger`). */
export type DLogger = Logger;

export type DBOSSpan = Span;

export type ContextualMetadata = {
  includeContextMetadata?: boolean;
  span?: Span;
};

export interface StackTrace {
  stack?: string;
  error?: unknown;
}

/**
 * DBOS's custom serializer shape (`DBOSConfig.serializer`). Transact stores values in DBOS's own formats (native,
 * and portable JSON), so a configured serializer is refused at launch; teach the native format your own types with
 * DBOS.registerSerialization instead.
 */
export interface DBOSSerializer {
  name: () => string;
  stringify(value: unknown): string | Promise<string>;
  parse(text: string | null | undefined): unknown;
}
