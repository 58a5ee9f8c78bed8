// Heartbeats and the takeover of dead executors. Every lease/3 this executor refreshes its heartbeat row and takes
// over any executor of its application version whose heartbeat is older than the lease: their PENDING workflows go
// back to their queues and the claim decides who runs them. No control plane: whichever live executor gets there
// first does it, exactly once (see src/sysdb/heartbeats.ts). The clock is the database's, so the machines' clocks
// do not matter.
//
// An executor that finds its own row was deleted had been presumed dead (paused, or cut off, past the lease): its
// runs of workflows taken over meanwhile have lost ownership and could record nothing anyway, so they are stopped
// rather than left to run their steps for nothing.

import type { Executor } from '../runtime/executor.js';
import {
  beat,
  pruneRetiredHeartbeats,
  removeHeartbeat,
  takeOverLapsedExecutors,
  workflowsStillHeld,
  type ExecutorIdentity,
} from '../sysdb/heartbeats.js';

export const DEFAULT_EXECUTOR_LEASE_MS = 30_000;

function isMissingTable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '42P01' || /no such table/.test(e?.message ?? '');
}

export class Heartbeat {
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private startedAt?: number;
  private readonly me: ExecutorIdentity;

  constructor(
    private readonly executor: Executor,
    private readonly leaseMs: number,
    /** Called with the queues that got a dead executor's work (this process claims at once; SQLite has no NOTIFY). */
    private readonly requeued: (queues: string[]) => void,
  ) {
    const { executorID, applicationName, applicationVersion } = executor.identity;
    this.me = { executorID, applicationName, applicationVersion };
  }

  get intervalMs(): number {
    return Math.max(50, Math.floor(this.leaseMs / 3));
  }

  /** The first beat is awaited, so a launched executor is visible as alive before it runs anything. */
  async start(): Promise<void> {
    await this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const db = this.executor.db;
    try {
      const startedAt = await beat(db, this.me);
      if (this.startedAt !== undefined && startedAt !== this.startedAt) await this.presumedDead();
      this.startedAt = startedAt;
      const taken = await takeOverLapsedExecutors(db, this.me, this.leaseMs);
      if (taken.executors.length > 0) {
        this.executor.logger.warn(
          `Executor(s) ${taken.executors.join(', ')} missed their heartbeat lease of ${this.leaseMs} ms; ` +
            `${taken.requeued} of their workflow(s) went back to their queues`,
        );
        if (taken.queues.length > 0) this.requeued(taken.queues);
      }
      const pruned = await pruneRetiredHeartbeats(db, this.me, this.leaseMs);
      if (pruned.length > 0) this.executor.logger.debug(`Removed the heartbeats of retired executor(s) ${pruned.join(', ')}`);
    } catch (err) {
      if (isMissingTable(err)) {
        // A schema made by DBOS itself, opened without migrations: no heartbeats, as in DBOS.
        this.executor.logger.warn(
          'The system database has no transact_executor_heartbeats table (launch once with migrations to create it); ' +
            'dead executors will not be detected',
        );
        this.stopped = true;
        return;
      }
      if (!this.stopped) this.executor.logger.warn('Heartbeat failed:', err);
    }
    this.schedule();
  }

  private async presumedDead(): Promise<void> {
    const local = this.executor.runningWorkflowIDs;
    const held = await workflowsStillHeld(this.executor.db, local, this.me.executorID);
    const lost = local.filter((id) => !held.has(id));
    if (lost.length === 0) return;
    this.executor.logger.warn(
      `This executor (${this.me.executorID}) missed its heartbeat lease and was presumed dead; ` +
        `${lost.length} workflow(s) it was running were taken over and are stopped here`,
    );
    for (const id of lost) this.executor.stopLocal(id);
  }

  /** Stops beating; `remove` deletes the row (a clean shutdown: this executor is gone, not dead). */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (remove && this.startedAt !== undefined) await removeHeartbeat(this.executor.db, this.me).catch(() => {});
  }
}
