// The DELAYED -> ENQUEUED transition (dbos-spec §3.7): a loop that promotes due workflows and then sleeps until the
// next delay ends (as the database reports it) or one second, whichever is sooner, since another process may enqueue
// a shorter delay meanwhile. Promoted work is announced (NOTIFY) by the same statement.

import type { Logger } from '../logger.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { promoteDelayedWorkflows } from '../sysdb/queues.js';

const MAX_SLEEP_MS = 1000;

export class DelayedPromoter {
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly db: SqlDriver,
    private readonly applicationName: string,
    private readonly logger: Logger,
    /** Called with the queues that got work, so this process claims at once (on SQLite there is no NOTIFY). */
    private readonly promoted: (queues: string[]) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.promote().finally(() => (this.running = undefined));
    }, Math.max(0, ms));
    this.timer.unref();
  }

  private async promote(): Promise<void> {
    let next = MAX_SLEEP_MS;
    try {
      const result = await promoteDelayedWorkflows(this.db, this.applicationName);
      if (result.queues.length > 0) this.promoted(result.queues);
      if (result.nextDueInMs !== null) next = Math.min(next, result.nextDueInMs);
    } catch (err) {
      if (!this.stopped) this.logger.debug('Could not promote delayed workflows:', err);
    }
    this.schedule(next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
