// Group commit: writes that arrive while earlier ones are in flight leave together, as one statement (one round trip,
// one commit). Nothing waits on a timer: a lone write is sent at once, so a single workflow sees no extra latency,
// while many concurrent workflows share commits (and the per-commit cost of the database) instead of queueing for
// connections one statement at a time.
//
// A batch shares one fate only while it succeeds: when it fails, each write is tried again on its own, so a write
// the database refuses fails alone, not every workflow that happened to share its commit. (Every batched write is
// safe to repeat: the statements are fenced upserts, see their modules.) A batch holding a workflow run's write waits
// out an outage as that run would on its own (src/sysdb/retry.ts).

import { groupCommitBatch } from '../metrics/instruments.js';
import { impatiently, isPatient, patiently } from './retry.js';

interface Pending<T, R> {
  item: T;
  patient: boolean;
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
    /** The kind of write, for the batch-size metric. */
    private readonly kind = 'write',
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, patient: isPatient(), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.writeBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private writeBatch(batch: Pending<T, R>[]): Promise<void> {
    return this.send(batch).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
      (error) => {
        if (batch.length === 1) return batch[0]!.reject(error);
        return Promise.all(batch.map((p) => this.writeBatch([p]))).then(() => undefined);
      },
    );
  }

  private send(batch: Pending<T, R>[]): Promise<R[]> {
    groupCommitBatch.observe(batch.length, this.kind);
    const write = () => this.write(batch.map((p) => p.item));
    // Run in a scope of the batch's own, not in whichever submitter's async context started the pump.
    return batch.some((p) => p.patient) ? patiently({}, write) : impatiently(write);
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
