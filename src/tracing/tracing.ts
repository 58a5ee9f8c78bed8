// Tracing: one OpenTelemetry span per workflow run and one per step, with DBOS's attribute names, when the
// application asks for it (`tracingEnabled`) and has `@opentelemetry/api` installed. The application registers its
// own tracer provider and exporter (OTLP or anything else); without one, the API's no-op tracer costs next to
// nothing. `@opentelemetry/api` is an optional peer dependency: Transact loads it only when tracing is on.

import type { Logger } from '../logger.js';

type OtelApi = typeof import('@opentelemetry/api');
export type Span = import('@opentelemetry/api').Span;

export interface SpanIdentity {
  workflowID: string;
  workflowName: string;
  applicationVersion: string;
  executorID: string;
  applicationID: string | null;
  authenticatedUser: string | null;
  authenticatedRoles: string[];
  assumedRole: string | null;
  queueName?: string | null;
}

/**
 * DBOS.tracer: spans of the application's own, from the same tracer as the workflow and step spans. Attribute names
 * given in DBOS's legacy form are renamed under `otelAttributeFormat: 'semconv'`, as for DBOS's own spans.
 */
export interface Tracer {
  /** The name this tracer emits for a DBOS attribute (the name itself when it is not one of DBOS's). */
  resolveAttributeName(key: string): string;
  /** A span, a child of `parent` when given, else of the active span. */
  startSpan(name: string, attributes?: import('@opentelemetry/api').Attributes, parent?: Span): Span;
  endSpan(span: Span): void;
}

export interface Tracing {
  /** For DBOS.tracer. */
  readonly tracer: Tracer;
  /** A workflow run's span (a root span, or a child of the span active when it was started locally). */
  startWorkflow(who: SpanIdentity): Span;
  /** A step's span, a child of its workflow's. */
  startStep(workflowSpan: Span, who: SpanIdentity, stepName: string, functionID: number): Span;
  /** Ends a span, marking it failed when `error` is given. */
  end(span: Span, error?: unknown): void;
}

/** DBOS's legacy attribute names, and their semantic-convention names (otelAttributeFormat 'semconv'). */
const SEMCONV_NAMES: Record<string, string> = {
  operationUUID: 'dbos.operation.workflow_id',
  operationType: 'dbos.operation.type',
  operationName: 'dbos.operation.name',
  applicationID: 'dbos.application.id',
  applicationVersion: 'dbos.application.version',
  executorID: 'dbos.executor.id',
  queueName: 'dbos.queue.name',
  authenticatedUser: 'dbos.auth.user',
  authenticatedRoles: 'dbos.auth.roles',
  assumedRole: 'dbos.auth.assumed_role',
};

/** DBOS's legacy attribute names (otelAttributeFormat 'legacy', the default) or its semantic-convention ones. */
function attributes(who: SpanIdentity, operationType: string, operationName: string, format: 'legacy' | 'semconv') {
  const legacy: Record<string, string | string[] | undefined> = {
    operationUUID: who.workflowID,
    operationType,
    operationName,
    applicationID: who.applicationID ?? undefined,
    applicationVersion: who.applicationVersion,
    executorID: who.executorID,
    queueName: who.queueName ?? undefined,
    authenticatedUser: who.authenticatedUser ?? undefined,
    authenticatedRoles: who.authenticatedRoles.length ? who.authenticatedRoles : undefined,
    assumedRole: who.assumedRole ?? undefined,
  };
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(legacy)) {
    if (value !== undefined) out[format === 'semconv' ? SEMCONV_NAMES[key]! : key] = value;
  }
  return out;
}

class OtelTracing implements Tracing {
  private readonly otel: import('@opentelemetry/api').Tracer;
  readonly tracer: Tracer;

  constructor(
    private readonly api: OtelApi,
    private readonly format: 'legacy' | 'semconv',
  ) {
    this.otel = api.trace.getTracer('transact');
    this.tracer = {
      resolveAttributeName: (key) => (format === 'semconv' ? (SEMCONV_NAMES[key] ?? key) : key),
      startSpan: (name, attributes = {}, parent) => {
        const renamed = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [this.tracer.resolveAttributeName(k), v]));
        const context = parent ? api.trace.setSpan(api.context.active(), parent) : api.context.active();
        return this.otel.startSpan(name, { attributes: renamed }, context);
      },
      endSpan: (span) => span.end(),
    };
  }

  startWorkflow(who: SpanIdentity): Span {
    return this.otel.startSpan(who.workflowName, { attributes: attributes(who, 'workflow', who.workflowName, this.format) });
  }

  startStep(workflowSpan: Span, who: SpanIdentity, stepName: string, functionID: number): Span {
    const parent = this.api.trace.setSpan(this.api.context.active(), workflowSpan);
    const span = this.otel.startSpan(stepName, { attributes: attributes(who, 'step', stepName, this.format) }, parent);
    span.setAttribute(this.format === 'semconv' ? 'dbos.step.function_id' : 'functionID', functionID);
    return span;
  }

  end(span: Span, error?: unknown): void {
    if (error !== undefined) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    } else {
      span.setStatus({ code: this.api.SpanStatusCode.OK });
    }
    span.end();
  }
}

/** Tracing for this process, or undefined when it is off (or the OpenTelemetry API is not installed). */
export async function loadTracing(
  options: { enabled: boolean; format?: 'legacy' | 'semconv' },
  logger: Logger,
): Promise<Tracing | undefined> {
  if (!options.enabled) return undefined;
  try {
    const api = (await import('@opentelemetry/api')) as OtelApi;
    return new OtelTracing(api, options.format ?? 'legacy');
  } catch {
    logger.warn('Tracing is enabled but @opentelemetry/api is not installed: npm install @opentelemetry/api (and an SDK)');
    return undefined;
  }
}
