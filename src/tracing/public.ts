// The tracing types of the public surface, written out so that an application without OpenTelemetry installed
// still type-checks Transact's declarations. Spans are OpenTelemetry's (`@opentelemetry/api`) when tracing is on:
// an OpenTelemetry Span is a `Span` here, and one of these can be cast to OpenTelemetry's type where its API wants it.

export type SpanAttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;

export interface SpanAttributes {
  [key: string]: SpanAttributeValue | undefined;
}

/** The span of a workflow or step (DBOS.span), or one of the application's own (DBOS.tracer.startSpan). */
export interface Span {
  spanContext(): { traceId: string; spanId: string; traceFlags: number };
  setAttribute(key: string, value: SpanAttributeValue): this;
  setAttributes(attributes: SpanAttributes): this;
  addEvent(name: string, attributesOrStartTime?: SpanAttributes | number | Date, startTime?: number | Date): this;
  /** `code`: 0 unset, 1 ok, 2 error (OpenTelemetry's SpanStatusCode). */
  setStatus(status: { code: number; message?: string }): this;
  updateName(name: string): this;
  end(endTime?: number | Date): void;
  isRecording(): boolean;
  recordException(exception: unknown, time?: number | Date): void;
}

/**
 * DBOS.tracer: spans of the application's own, from the same tracer as the workflow and step spans. Attribute names
 * given in DBOS's legacy form are renamed under `otelAttributeFormat: 'semconv'`, as for DBOS's own spans.
 */
export interface Tracer {
  /** The name this tracer emits for a DBOS attribute (the name itself when it is not one of DBOS's). */
  resolveAttributeName(key: string): string;
  /** A span, a child of `parent` when given, else of the active span. */
  startSpan(name: string, attributes?: SpanAttributes, parent?: Span): Span;
  endSpan(span: Span): void;
}
