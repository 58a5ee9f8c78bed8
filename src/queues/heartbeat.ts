// Heartbeats, the lease they give this executor, and the takeover of dead executors.
//
// At launch this incarnation claims its executor ID's row (src/sysdb/heartbeats.ts); from then on only its beats
// count. Every lease/3 it beats, and takes over any executor of its application version that is dead: whose
// heartbeat is older than the lease, or whose process is gone from this very host (a PID that no longer exists,
// seen at once instead of a lease later). Their PENDING workflows go back to their queues and the claim decides who
// runs them. No control plane: whichever live executor gets there first does it, exactly once. The lapse is measured
// on the database clock, so the machines' clocks do not matter.
//
// The lease also binds this executor. Another executor may take its work over once the database has not seen a beat
// for a lease; so this one starts a step only while its last acknowledged beat was sent less than LEASE_SAFETY of a
// lease ago (on the local monotonic clock, which a pause such as SIGSTOP or a frozen VM does not stop). Past that
// it beats first, and if the beat finds it was presumed dead meanwhile, its runs of workflows taken over are stopped
// before they run anything more. Normal beats keep the lease fresh, so a step start costs no round trip.

import { alertExecutorsTakenOver } from '../alerts/alerts.js';
import { takenOverWorkflows, takeovers } from '../metrics/instruments.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DBOSInitializationError } from '../errors.js';
import type { LeaseGuard } from '../runtime/context.js';
import type { Executor } from '../runtime/executor.js';
import {
  beat,
  claimExecutorID,
  peers,
  pruneRetiredHeartbeats,
  removeHeartbeat,
  runsStillOwning,
  takeOverLapsedExecutors,
  type Incarnation,
  type PreviousHolder,
} from '../sysdb/heartbeats.js';
import { hostID, processExists } from './host.js';

export const DEFAULT_EXECUTOR_LEASE_MS = 30_000;

/** The incarnations launched in this process and not yet stopped (an engine shut down and launched again is gone). */
const liveIncarnations = new Set<string>();

/** A step may start while the last acknowledged beat was sent within this fraction of the lease. */
const LEASE_SAFETY = 0.75;
/** Retired heartbeat rows are pruned at the first beat and every this many beats after. */
const PRUNE_EVERY_TICKS = 6;
/** The longest pause between attempts to renew a lapsed lease (the database away). */
const MAX_RENEW_BACKOFF_MS = 2000;

function isMissingTable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '42P01' || e?.code === '42703' || /no such (table|column)/.test(e?.message ?? '');
}

export class Heartbeat implements LeaseGuard {
  private stopped = false;
  /** No heartbeat table (a schema made by DBOS, opened without migrations): no leases, as in DBOS. */
  private disabled = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private renewing?: Promise<void>;
  private beating?: Promise<void>;
  /** performance.now() when the last beat that the database acknowledged was sent. */
  private beatSentAt?: number;
  /**
   * performance.now() since when this executor's beats have been acknowledged without a gap (undefined: failing).
   * A gap (a beat failed, or its acknowledgement came more than 2/3 of a lease after the one before: the database
   * was away, or the process stalled) starts the streak again.
   */
  private streakSince?: number;
  private lastAckAt?: number;
  private supersededLogged = false;
  private ticks = 0;
  readonly me: Incarnation;

  constructor(
    private readonly executor: Executor,
    private readonly leaseMs: number,
    /** Called with the queues that got a dead executor's work (this process claims at once; SQLite has no NOTIFY). */
    private readonly requeued: (queues: string[]) => void,
  ) {
    const { executorID, applicationName, applicationVersion } = executor.identity;
    this.me = {
      executorID,
      applicationName,
      applicationVersion,
      incarnation: randomUUID(),
      hostID: hostID(),
      pid: process.pid,
      hostname: hostname(),
    };
  }

  get intervalMs(): number {
    return Math.max(50, Math.floor(this.leaseMs / 3));
  }

  /**
   * At launch, before this executor recovers its own unfinished work: takes its executor ID over from an earlier
   * incarnation once that one is known to be gone (its process gone from this host, its row older than the lease, or
   * a shutdown that removed it). An earlier holder that may still be running is waited for, for as long as its lease
   * could still hold; one that keeps beating makes the launch fail: two live processes cannot share an executor ID
   * without running each other's steps again.
   */
  async claim(): Promise<void> {
    const giveUpAt = performance.now() + this.leaseMs + this.intervalMs;
    let told = false;
    for (;;) {
      const sentAt = performance.now();
      let claimed: { taken: boolean; previous?: PreviousHolder };
      try {
        claimed = await claimExecutorID(this.executor.db, this.me, (p) => p.silentMs >= this.leaseMs || this.provablyGone(p));
      } catch (err) {
        if (!isMissingTable(err)) throw err;
        this.disable();
        return;
      }
      if (claimed.taken) {
        this.beatSentAt = sentAt;
        this.streakSince = this.lastAckAt = performance.now();
        liveIncarnations.add(this.me.incarnation);
        return;
      }
      const p = claimed.previous!;
      const holder = `${p.hostname ?? 'an unknown host'}, pid ${p.pid ?? '?'}`;
      if (performance.now() >= giveUpAt) {
        throw new DBOSInitializationError(
          `Executor ID ${this.me.executorID} is in use by a running process (${holder}, last heartbeat ${p.silentMs} ms ago): ` +
            'give each process its own executor ID (DBOS__VMID or executorID), or stop that process first',
        );
      }
      if (!told) {
        told = true;
        this.executor.logger.info(
          `Executor ID ${this.me.executorID} was held by a process that beat ${p.silentMs} ms ago (${holder}); ` +
            `waiting up to ${this.leaseMs - p.silentMs} ms for it to stop or its lease to lapse before taking its work over`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(this.intervalMs, Math.max(10, this.leaseMs - p.silentMs))));
    }
  }

  /** The first beat (with takeover of dead peers) is awaited, so a launched executor is alive before it runs anything. */
  async start(): Promise<void> {
    if (this.disabled) return;
    await this.tick();
  }

  private disable(): void {
    if (!this.disabled) {
      this.executor.logger.warn(
        'The system database has no transact_executor_heartbeats table (launch once with migrations to create it); ' +
          'dead executors will not be detected',
      );
    }
    this.disabled = true;
  }

  /**
   * Whether the process of this heartbeat row is known to be gone: it ran on this host and its PID is free, or it was
   * an earlier launch in this very process that has stopped.
   */
  private provablyGone(row: { hostID: string | null; pid: number | null; incarnation: string | null }): boolean {
    if (row.hostID !== this.me.hostID || row.pid === null) return false;
    if (row.pid === this.me.pid) return row.incarnation === null || !liveIncarnations.has(row.incarnation);
    return !processExists(row.pid);
  }

  // ---------------------------------------------------------------------------------------------- the lease

  valid(): boolean {
    if (this.disabled) return true;
    return this.beatSentAt !== undefined && performance.now() - this.beatSentAt < this.leaseMs * LEASE_SAFETY;
  }

  /** Beats until the lease is valid again (or the heartbeat stops); runs taken over meanwhile are stopped by then. */
  async renew(): Promise<void> {
    let backoff = 50;
    while (!this.stopped && !this.valid()) {
      this.renewing ??= this.beatInTurn()
        .catch(async (err) => {
          if (isMissingTable(err)) return this.disable();
          this.executor.logger.debug('Could not renew the executor lease:', err);
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, MAX_RENEW_BACKOFF_MS);
        })
        .finally(() => (this.renewing = undefined));
      await this.renewing;
    }
  }

  /**
   * One beat at a time: a renewal waits for the tick's beat (and the other way round). Two beats at once could let a
   * renewal see the lease valid again (its beat finding the row the other had just re-inserted) before the other had
   * stopped the runs taken over while this executor was away.
   */
  private beatInTurn(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const sentAt = performance.now();
    let result: Awaited<ReturnType<typeof beat>>;
    try {
      result = await beat(this.executor.db, this.me);
    } catch (err) {
      this.streakSince = this.lastAckAt = undefined;
      throw err;
    }
    const ackAt = performance.now();
    if (this.lastAckAt === undefined || ackAt - this.lastAckAt > (this.leaseMs * 2) / 3) this.streakSince = ackAt;
    this.lastAckAt = ackAt;
    if (result === 'revived') await this.presumedDead();
    if (result === 'superseded') await this.superseded();
    this.beatSentAt = sentAt;
  }

  // ---------------------------------------------------------------------------------------------- beating

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
      await this.beatInTurn();
      await this.takeOverDeadPeers();
      // Retired rows are only clutter: removing them once every few beats keeps an idle executor's cost down.
      if (this.ticks++ % PRUNE_EVERY_TICKS === 0) {
        const pruned = await pruneRetiredHeartbeats(db, this.me, this.leaseMs);
        if (pruned.length > 0) this.executor.logger.debug(`Removed the heartbeats of retired executor(s) ${pruned.join(', ')}`);
      }
    } catch (err) {
      if (isMissingTable(err)) return this.disable();
      if (!this.stopped) this.executor.logger.warn('Heartbeat failed:', err);
    }
    this.schedule();
  }

  /**
   * Takes over the peers that are dead. A peer whose process is gone from this host is dead at once. A peer whose
   * heartbeat lapsed is dead only if this executor has itself been beating, without a failure, for a whole lease:
   * when the database was away from everyone, every lease lapsed together, and the first executor back must not take
   * over peers that are alive and merely reconnecting (their steps in flight would run twice). Each peer gets a lease
   * after the database returns to show it is alive.
   */
  private async takeOverDeadPeers(): Promise<void> {
    const others = await peers(this.executor.db, this.me);
    const settled = this.streakSince !== undefined && performance.now() - this.streakSince >= this.leaseMs;
    const gone = others.filter((p) => this.provablyGone(p));
    const lapsed = settled ? others.filter((p) => p.silentMs >= this.leaseMs) : [];
    if (gone.length === 0 && lapsed.length === 0) return;
    const taken = await takeOverLapsedExecutors(this.executor.db, this.me, settled ? this.leaseMs : null, gone);
    if (taken.executors.length > 0) {
      takeovers.add(taken.executors.length);
      takenOverWorkflows.add(taken.requeued);
      this.executor.logger.warn(
        `Executor(s) ${taken.executors.join(', ')} stopped (heartbeat lease of ${this.leaseMs} ms missed, or process gone); ` +
          `${taken.requeued} of their workflow(s) went back to their queues`,
      );
      alertExecutorsTakenOver(this.executor.logger, taken.executors, taken.requeued, this.me.executorID);
      if (taken.queues.length > 0) this.requeued(taken.queues);
    }
  }

  /** This executor's row had been deleted: it was presumed dead, and its runs of workflows taken over must stop. */
  private async presumedDead(): Promise<void> {
    const lost = await this.runsTakenOver();
    if (lost === 0) return;
    this.executor.logger.warn(
      `This executor (${this.me.executorID}) missed its heartbeat lease and was presumed dead; ` +
        `${lost} workflow(s) it was running were taken over and are stopped here`,
    );
  }

  /** A newer launch took this executor ID over, and with it the work this process was running then. */
  private async superseded(): Promise<void> {
    const lost = await this.runsTakenOver();
    if (this.supersededLogged && lost === 0) return;
    this.supersededLogged = true;
    this.executor.logger.error(
      `Another process launched with this executor ID (${this.me.executorID}) and took over ${lost} workflow(s) ` +
        'running here, which are stopped; give each process its own executor ID',
    );
  }

  /** Stops the local runs whose workflows no longer belong to them; returns how many. */
  private async runsTakenOver(): Promise<number> {
    const local = this.executor.localRunOwners();
    const held = await runsStillOwning(this.executor.db, local);
    const lost = local.filter((r) => !held.has(r.workflowID));
    for (const run of lost) this.executor.stopLocal(run.workflowID, run.ownerXid);
    return lost.length;
  }

  /** Stops beating; `remove` deletes the row (a clean shutdown that handed its work back: gone, not dead). */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    liveIncarnations.delete(this.me.incarnation);
    clearTimeout(this.timer);
    await this.running;
    await this.renewing;
    if (remove && !this.disabled && this.beatSentAt !== undefined) await removeHeartbeat(this.executor.db, this.me).catch(() => {});
  }
}
