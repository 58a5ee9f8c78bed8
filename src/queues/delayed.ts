// The DELAYED -> ENQUEUED transition (dbos-spec §3.7): a loop that promotes due workflows and then sleeps until the
// next delay ends (as the database reports it) or `maxSleepMs`, whichever is sooner. A delay created or changed
// meanwhile (here, or announced by another process) pokes the loop to re-plan at once; the longest sleep is the safety
// net for delays nobody announced (a DBOS process's). Promoted work is announced (NOTIFY) by the same statement.

import type { Logger } from '../logger.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { promoteDelayedWorkflows } from '../sysdb/queues.js';

const MAX_SLEEP_MS = 1000;
/** Pokes closer together than this share one promotion. */
const POKE_SPACING_MS = 50;

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
    private readonly maxSleepMs = MAX_SLEEP_MS,
  ) {}

  private dueAt = Infinity;
  private poked = false;
  private lastRunAt = -Infinity;

  start(): void {
    this.schedule(0);
  }

  /** A delay was created or changed: promote (and re-plan) soon, whatever the current sleep. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.poked = true; // the run in progress may have read before the change: it goes again
      return;
    }
    const at = Math.max(performance.now(), this.lastRunAt + POKE_SPACING_MS);
    if (at < this.dueAt) this.schedule(at - performance.now());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.dueAt = performance.now() + Math.max(0, ms);
    this.timer = setTimeout(() => {
      this.dueAt = Infinity;
      this.lastRunAt = performance.now();
      this.running = this.promote().finally(() => (this.running = undefined));
    }, Math.max(0, ms));
    this.timer.unref();
  }

  private async promote(): Promise<void> {
    this.poked = false;
    let next = this.maxSleepMs;
    try {
      const result = await promoteDelayedWorkflows(this.db, this.applicationName);
      if (result.queues.length > 0) this.promoted(result.queues);
      if (result.nextDueInMs !== null) next = Math.min(next, result.nextDueInMs);
    } catch (err) {
      if (!this.stopped) this.logger.debug('Could not promote delayed workflows:', err);
    }
    this.schedule(this.poked ? POKE_SPACING_MS : next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
