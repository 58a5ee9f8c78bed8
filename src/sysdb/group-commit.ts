// Group commit: writes that arrive while earlier ones are in flight leave together, as one statement (one round trip,
// one commit). Nothing waits on a timer: a lone write is sent at once, so a single workflow sees no extra latency,
// while many concurrent workflows share commits (and the per-commit cost of the database) instead of queueing for
// connections one statement at a time.

interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommitter<T, R> {
  private readonly queue: Pending<T, R>[] = [];
  private inFlight = 0;

  constructor(
    /** Writes a batch; returns one result per item, in order. */
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.write(batch.map((p) => p.item))
        .then(
          (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
          (error) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}

/** One committer per database and kind of write, created on first use. */
export function committerFor<T, R>(
  registry: WeakMap<object, GroupCommitter<T, R>>,
  db: object,
  create: () => GroupCommitter<T, R>,
): GroupCommitter<T, R> {
  let committer = registry.get(db);
  if (!committer) {
    committer = create();
    registry.set(db, committer);
  }
  return committer;
}
