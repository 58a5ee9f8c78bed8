// Tracing: one OpenTelemetry span per workflow run and one per step, with DBOS's attribute names, when the
// application asks for it (`tracingEnabled`) and has `@opentelemetry/api` installed. The application registers its
// own tracer provider and exporter (OTLP or anything else); without one, the API's no-op tracer costs next to
// nothing. `@opentelemetry/api` is an optional peer dependency: Transact loads it only when tracing is on.

import type { Logger } from '../runtime/logger.js';

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

export interface Tracing {
  /** A workflow run's span (a root span, or a child of the span active when it was started locally). */
  startWorkflow(who: SpanIdentity): Span;
  /** A step's span, a child of its workflow's. */
  startStep(workflowSpan: Span, who: SpanIdentity, stepName: string, functionID: number): Span;
  /** Ends a span, marking it failed when `error` is given. */
  end(span: Span, error?: unknown): void;
}

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
  const renamed: Record<string, string> = {
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
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(legacy)) {
    if (value !== undefined) out[format === 'semconv' ? renamed[key]! : key] = value;
  }
  return out;
}

class OtelTracing implements Tracing {
  private readonly tracer: import('@opentelemetry/api').Tracer;

  constructor(
    private readonly api: OtelApi,
    private readonly format: 'legacy' | 'semconv',
  ) {
    this.tracer = api.trace.getTracer('transact');
  }

  startWorkflow(who: SpanIdentity): Span {
    return this.tracer.startSpan(who.workflowName, { attributes: attributes(who, 'workflow', who.workflowName, this.format) });
  }

  startStep(workflowSpan: Span, who: SpanIdentity, stepName: string, functionID: number): Span {
    const parent = this.api.trace.setSpan(this.api.context.active(), workflowSpan);
    const span = this.tracer.startSpan(stepName, { attributes: attributes(who, 'step', stepName, this.format) }, parent);
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
