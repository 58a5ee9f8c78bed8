// Counts overlapping runs: how many are inside at once, and the most there ever were (per key, too).

export class OverlapTracker {
  private readonly current = new Map<string, number>();
  private readonly peak = new Map<string, number>();
  readonly starts: string[] = [];

  enter(label: string, key = ''): void {
    this.starts.push(label);
    for (const k of key === '' ? [''] : ['', key]) {
      const n = (this.current.get(k) ?? 0) + 1;
      this.current.set(k, n);
      this.peak.set(k, Math.max(this.peak.get(k) ?? 0, n));
    }
  }

  exit(key = ''): void {
    for (const k of key === '' ? [''] : ['', key]) this.current.set(k, (this.current.get(k) ?? 1) - 1);
  }

  /** The most runs that were ever inside at once (overall, or with this key). */
  max(key = ''): number {
    return this.peak.get(key) ?? 0;
  }

  reset(): void {
    this.current.clear();
    this.peak.clear();
    this.starts.length = 0;
  }
}

/** Given [start, end] intervals, the most that overlapped at any instant (an end at t comes before a start at t). */
export function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let current = 0;
  let max = 0;
  for (const e of events) {
    current += e.d;
    max = Math.max(max, current);
  }
  return max;
}
