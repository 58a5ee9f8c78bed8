// Small helpers shared by the benchmarks: percentiles, timing, a fresh database, printing.

import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  count: number;
  totalMs: number;
  p50: number;
  p99: number;
  perSecond: number;
}

export function summarize(latencies: number[], totalMs: number): Summary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { count: latencies.length, totalMs, p50: percentile(sorted, 50), p99: percentile(sorted, 99), perSecond: (latencies.length / totalMs) * 1000 };
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function line(label: string, s: Summary): string {
  return `${label.padEnd(44)} p50 ${fmt(s.p50).padStart(7)} ms   p99 ${fmt(s.p99).padStart(7)} ms   ${fmt(s.perSecond, 0).padStart(6)} wf/s`;
}

export const benchBaseUrl =
  process.env.TRANSACT_BENCH_DATABASE_URL ?? process.env.TRANSACT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database of its own for one benchmark, dropped by `dropDatabase`. */
export function freshBenchDatabase(tag: string): string {
  const url = new URL(benchBaseUrl);
  url.pathname = `/transact_bench_${tag}_${randomBytes(3).toString('hex')}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new pg.Client({ connectionString: benchBaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
