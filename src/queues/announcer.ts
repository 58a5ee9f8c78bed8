// Announcing enqueued work to the other processes (NOTIFY), after the enqueue has committed and coalesced per queue:
// the first announcement leaves at once, and those made while it is in flight leave together as the next one, each
// queue named once. No timers: a lone enqueue is announced one round trip after its commit; a burst of thousands
// costs a handful of notifications. (Why not in the insert itself: see QUEUE_CHANNEL in src/sysdb/workflows.ts.)

import type { Logger } from '../logger.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { announceQueuedWork } from '../sysdb/queues.js';

export class WorkAnnouncer {
  private readonly pending = new Set<string>();
  private flushing?: Promise<void>;

  constructor(
    private readonly db: SqlDriver,
    private readonly logger: Logger,
  ) {}

  announce(queueName: string): void {
    if (this.db.dialect !== 'postgres') return;
    this.pending.add(queueName);
    if (!this.flushing) this.flushing = this.flush().finally(() => (this.flushing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending];
      this.pending.clear();
      try {
        await announceQueuedWork(this.db, batch);
      } catch (err) {
        // The other processes' polls are the safety net.
        this.logger.debug('Could not announce enqueued work:', err);
      }
    }
  }

  /** Waits for announcements in flight (at shutdown, before the connection pool closes). */
  async drain(): Promise<void> {
    await this.flushing;
  }
}
