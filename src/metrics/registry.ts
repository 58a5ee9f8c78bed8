// Metrics kept in memory, read by a Prometheus scrape (the text exposition format, src/ops/http.ts and the console's
// /metrics) and, when `@opentelemetry/api` is installed, by the application's OpenTelemetry meter provider
// (src/metrics/otel.ts). Recording is a Map lookup and an addition: no allocation for a label set seen before, no
// I/O, no database round trip. Gauges are read when a scrape (or an OpenTelemetry collection) asks for them.
//
// This module is at the bottom of the layers (docs/architecture.md): anything may record into it, it imports nothing.

/** The label values of one series, in the order of the instrument's label names. */
type Series<T> = Map<string, { labels: readonly string[]; value: T }>;

const SEP = '\u0001';

export interface Sample {
  labels: readonly string[];
  value: number;
}

/** A histogram series, exposed as cumulative buckets. */
export interface HistogramSample {
  labels: readonly string[];
  /** Counts per bucket (not cumulative), the last one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

abstract class Instrument {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
}

export class Counter extends Instrument {
  readonly kind = 'counter' as const;
  private readonly series: Series<number> = new Map();

  /** Adds `n` (default 1) to the series of these label values (as many as the instrument has label names). */
  add(n: number, ...labels: string[]): void {
    const key = labels.length === 1 ? labels[0]! : labels.join(SEP);
    const s = this.series.get(key);
    if (s) s.value += n;
    else this.series.set(key, { labels, value: n });
  }

  inc(...labels: string[]): void {
    this.add(1, ...labels);
  }

  samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }

  /** The value of one series (tests, and the health report). */
  value(...labels: string[]): number {
    return this.series.get(labels.length === 1 ? labels[0]! : labels.join(SEP))?.value ?? 0;
  }

  reset(): void {
    this.series.clear();
  }
}

export class Histogram extends Instrument {
  readonly kind = 'histogram' as const;
  private readonly series: Series<{ counts: number[]; sum: number; count: number }> = new Map();
  /** Set by the OpenTelemetry bridge: each observation is also recorded there. */
  mirror?: (value: number, labels: readonly string[]) => void;

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** Upper bounds, ascending. */
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  observe(value: number, ...labels: string[]): void {
    const key = labels.length === 1 ? labels[0]! : labels.join(SEP);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, value: { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 } };
      this.series.set(key, s);
    }
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.value.counts[i]!++;
    s.value.sum += value;
    s.value.count++;
    this.mirror?.(value, labels);
  }

  samples(): HistogramSample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, counts: [...s.value.counts], sum: s.value.sum, count: s.value.count }));
  }

  /** How many observations a series holds (tests). */
  count(...labels: string[]): number {
    return this.series.get(labels.length === 1 ? labels[0]! : labels.join(SEP))?.value.count ?? 0;
  }

  reset(): void {
    this.series.clear();
  }
}

/** A value read when asked (a queue's depth, statements sent so far): its collector may read the database. */
export class Gauge extends Instrument {
  readonly kind = 'gauge' as const;
  private readonly sources = new Set<() => Sample[] | Promise<Sample[]>>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** 'counter' for a monotonic total read from elsewhere (the driver's statement counts). */
    readonly exposedAs: 'gauge' | 'counter' = 'gauge',
  ) {
    super(name, help, labelNames);
  }

  /** Adds a source of samples; returns the function that removes it (at shutdown). */
  addSource(source: () => Sample[] | Promise<Sample[]>): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  async samples(): Promise<Sample[]> {
    const all: Sample[] = [];
    for (const source of this.sources) {
      try {
        all.push(...(await source()));
      } catch {
        // A source that cannot answer (the database away) leaves its series out of this scrape.
      }
    }
    return all;
  }
}

export type AnyInstrument = Counter | Histogram | Gauge;

export class MetricsRegistry {
  private readonly instruments = new Map<string, AnyInstrument>();

  private add<T extends AnyInstrument>(instrument: T): T {
    if (this.instruments.has(instrument.name)) throw new Error(`metric ${instrument.name} is defined twice`);
    this.instruments.set(instrument.name, instrument);
    return instrument;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], exposedAs: 'gauge' | 'counter' = 'gauge'): Gauge {
    return this.add(new Gauge(name, help, labelNames, exposedAs));
  }

  all(): AnyInstrument[] {
    return [...this.instruments.values()];
  }

  /** The Prometheus text exposition format (version 0.0.4) of every instrument. */
  async prometheusText(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.instruments.values()) {
      if (m.kind === 'histogram') {
        lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} histogram`);
        for (const s of m.samples()) {
          let cumulative = 0;
          m.buckets.forEach((bound, i) => {
            cumulative += s.counts[i]!;
            lines.push(`${m.name}_bucket${labelText(m.labelNames, s.labels, ['le', formatNumber(bound)])} ${cumulative}`);
          });
          lines.push(`${m.name}_bucket${labelText(m.labelNames, s.labels, ['le', '+Inf'])} ${s.count}`);
          lines.push(`${m.name}_sum${labelText(m.labelNames, s.labels)} ${formatNumber(s.sum)}`);
          lines.push(`${m.name}_count${labelText(m.labelNames, s.labels)} ${s.count}`);
        }
        continue;
      }
      const type = m.kind === 'gauge' ? m.exposedAs : 'counter';
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${type}`);
      const samples = m.kind === 'gauge' ? await m.samples() : m.samples();
      for (const s of samples) lines.push(`${m.name}${labelText(m.labelNames, s.labels)} ${formatNumber(s.value)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
