// One schedule's timer in one process: wait for the next cron tick, fire it, repeat. Ticks already in the past (a
// backfill after downtime) fire at once, in order. Waits go through `callAt`, so a tick months away never asks Node
// for a timer longer than it can hold.

import { callAt, MAX_TIMER_MS } from '../runtime/context.js';
import { engineNow } from '../runtime/clock.js';
import type { Logger } from '../logger.js';
import type { CronSchedule } from './cron.js';

/**
 * Processes that fire the same tick create one workflow between them (its ID is deterministic), but they all knock
 * at once; a random delay of up to a tenth of the wait (at most 10 s) spreads them out, as DBOS does.
 */
const MAX_JITTER_MS = 10_000;

export interface TickLoopOptions {
  /** For log lines. */
  name: string;
  cron: CronSchedule;
  /** Ticks strictly after this instant (epoch ms) are fired. */
  after: number;
  /**
   * Fires one tick (enqueues its workflow). May return a later instant to continue after, when another process is
   * known to have fired further already.
   */
  fire(tick: Date): Promise<number | void>;
  logger: Logger;
  jitter?: boolean;
}

export class TickLoop {
  private stopped = false;
  private interrupt?: () => void;
  private running?: Promise<void>;

  constructor(private readonly options: TickLoopOptions) {}

  start(): void {
    this.running ??= this.run();
  }

  private async run(): Promise<void> {
    const { cron, logger, name } = this.options;
    // A process whose only job is its schedules stays alive while they run, as with DBOS; shutdown lets it go.
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    try {
      let last = this.options.after;
      while (!this.stopped) {
        const tick = cron.nextAfter(last);
        if (!tick) {
          logger.info(`Schedule ${name} (${cron.expression}) has no further ticks`);
          return;
        }
        const wait = tick.getTime() - engineNow();
        if (wait > 0) {
          const jitter = this.options.jitter ? Math.random() * Math.min(wait / 10, MAX_JITTER_MS) : 0;
          await this.sleepUntil(tick.getTime() + jitter);
          if (this.stopped) return;
        }
        let next = tick.getTime();
        try {
          const ahead = await this.options.fire(tick);
          if (typeof ahead === 'number' && ahead > next) next = ahead;
        } catch (err) {
          if (this.stopped) return;
          logger.warn(`Schedule ${name}: could not start the workflow for ${tick.toISOString()}:`, err);
        }
        last = next;
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  private sleepUntil(epochMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = callAt(epochMs, () => {
        this.interrupt = undefined;
        resolve();
      });
      this.interrupt = () => {
        cancel();
        resolve();
      };
    });
  }

  /** Stops waiting for ticks; resolves once a tick being fired has been written (or has failed). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.running;
  }
}
