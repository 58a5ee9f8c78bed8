// The same metrics through OpenTelemetry, when the optional peer dependency `@opentelemetry/api` is installed: the
// instruments are created on the meter provider the application registered (`metrics.setGlobalMeterProvider`, or
// an SDK's start) before `DBOS.launch()`. Counters and gauges are observable instruments read from the in-memory
// registry at each collection (nothing more on the hot path); histograms record each observation as it happens.
// Without the package, or without a registered provider (the API's no-op), this costs nothing.

import type { AnyInstrument, MetricsRegistry } from './registry.js';

type OtelApi = typeof import('@opentelemetry/api');
type Attributes = import('@opentelemetry/api').Attributes;

const bound = new WeakSet<object>();

function attributes(names: readonly string[], values: readonly string[]): Attributes {
  const attrs: Attributes = {};
  names.forEach((n, i) => (attrs[n] = values[i] ?? ''));
  return attrs;
}

/** OpenTelemetry's convention has no `_total` suffix (a Prometheus exporter adds it back). */
function otelName(m: AnyInstrument): string {
  return m.name.replace(/_total$/, '');
}

/**
 * Creates the registry's instruments on `api`'s global meter provider, once per provider. Returns whether they were
 * created (false: already bound to this provider).
 */
export function bindOpenTelemetryMetrics(api: OtelApi, registry: MetricsRegistry, version: string): boolean {
  const provider = api.metrics.getMeterProvider() as object;
  if (bound.has(provider)) return false;
  bound.add(provider);
  const meter = api.metrics.getMeter('transact', version);
  for (const m of registry.all()) {
    if (m.kind === 'histogram') {
      const unit = m.name.endsWith('_seconds') ? 's' : '1';
      const histogram = meter.createHistogram(otelName(m), { description: m.help, unit, advice: { explicitBucketBoundaries: [...m.buckets] } });
      const previous = m.mirror;
      m.mirror = (value, labels) => {
        previous?.(value, labels);
        histogram.record(value, attributes(m.labelNames, labels));
      };
    } else if (m.kind === 'counter' || m.exposedAs === 'counter') {
      const counter = meter.createObservableCounter(otelName(m), { description: m.help });
      counter.addCallback(async (result) => {
        for (const s of m.kind === 'gauge' ? await m.samples() : m.samples()) result.observe(s.value, attributes(m.labelNames, s.labels));
      });
    } else {
      const gauge = meter.createObservableGauge(otelName(m), { description: m.help });
      gauge.addCallback(async (result) => {
        for (const s of await m.samples()) result.observe(s.value, attributes(m.labelNames, s.labels));
      });
    }
  }
  return true;
}

/** Loads `@opentelemetry/api` if it is installed; undefined if not. */
export async function loadOpenTelemetryApi(): Promise<OtelApi | undefined> {
  try {
    return await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
}
