// The QueueWaitExceeded alert (DBOSConfig.alerts.queueWaitThresholdMs): every `checkIntervalMs`, the executor that
// holds the `queue-watch` lease reads how long each queue's oldest waiting workflow has waited (one statement, on the
// partial index of live rows) and raises the alert for a queue past the threshold, once, until that queue's oldest
// wait drops below the threshold again. The lease keeps a fleet from raising the same alert once per executor.

import { alertQueueWaitExceeded } from '../alerts/alerts.js';
import type { AlertsConfig } from '../runtime/config.js';
import type { Executor } from '../runtime/executor.js';
import { queueAges } from '../sysdb/health.js';
import { takeLease } from '../sysdb/retention.js';

export const DEFAULT_QUEUE_CHECK_MS = 60_000;
const LEASE = 'queue-watch';

export class QueueWatch {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** Queues alerted on and not yet back under the threshold. */
  private readonly alerted = new Set<string>();

  constructor(
    private readonly executor: Executor,
    private readonly config: AlertsConfig & { queueWaitThresholdMs: number },
    private readonly holder: string,
  ) {
    const t = config.queueWaitThresholdMs;
    if (!(Number.isFinite(t) && t > 0)) throw new RangeError(`alerts.queueWaitThresholdMs must be a positive number, got ${t}`);
  }

  get intervalMs(): number {
    return this.config.checkIntervalMs ?? DEFAULT_QUEUE_CHECK_MS;
  }

  start(): void {
    this.schedule(this.intervalMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.check().finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** One check now (also for tests). */
  async check(): Promise<void> {
    const { executor } = this;
    const threshold = this.config.queueWaitThresholdMs;
    try {
      // Held for two intervals and renewed at every check: the holder keeps it while it lives.
      if (!(await takeLease(executor.db, LEASE, this.holder, this.intervalMs * 2))) return;
      const ages = await queueAges(executor.db, executor.identity.applicationName);
      const over = new Set<string>();
      for (const q of ages) {
        if (q.oldestWaitMs <= threshold) continue;
        over.add(q.queueName);
        if (this.alerted.has(q.queueName)) continue;
        this.alerted.add(q.queueName);
        alertQueueWaitExceeded(executor.logger, q.queueName, q.oldestWaitMs, threshold, q.waiting);
      }
      for (const name of [...this.alerted]) if (!over.has(name)) this.alerted.delete(name);
    } catch (err) {
      if (!this.stopped) executor.logger.debug('Queue wait check failed:', err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
