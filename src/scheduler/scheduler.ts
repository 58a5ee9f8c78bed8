// The scheduler of one launched process: a TickLoop per schedule, for the schedules declared in code (4.x) and for
// the ACTIVE rows of `workflow_schedules` (5.x), which it re-reads when told (NOTIFY, or a change made here) and
// periodically. Every process of an application fires every tick; the tick's workflow ID is deterministic, so the
// first insert creates the workflow and the others attach to it: one workflow per tick, whoever fires it.

import { engineNow } from '../runtime/clock.js';
import { DBOSError } from '../errors.js';
import { CoalescedTask } from '../runtime/coalesced.js';
import type { Executor } from '../runtime/executor.js';
import { executionStorage, nextStartStorage } from '../runtime/context.js';
import type { RegisteredWorkflow } from '../runtime/registry.js';
import { deserializeValue } from '../serialization/index.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import { getDispatchState, listScheduleRecords, markScheduleFired, upsertDispatchState, type DispatchKey, type ScheduleRecord } from '../sysdb/schedules.js';
import { CronSchedule } from './cron.js';
import { SchedulerMode, type CodeSchedule } from './declared.js';
import { scheduledStart, scheduledWorkflowID, type ScheduledEnqueuer, type ScheduledStart, type ScheduleEnv } from './schedules.js';
import { TickLoop } from './tick-loop.js';

/** Where 4.x schedules keep the last tick they fired (`event_dispatch_kv`), under DBOS's service name and key. */
const DISPATCH_SERVICE = 'dbos.scheduler';
const LAST_STATE_KEY = 'lastState';

/** Schedules created around launch are picked up within a second: the table is re-read every second at first. */
const FAST_REFRESH_MS = 1000;
const FAST_REFRESH_PERIOD_MS = 60_000;

export interface SchedulerOptions {
  /** How often the schedules table is re-read after the first minute (a notification re-reads it at once). */
  refreshIntervalMs: number;
}

/** Starts a scheduled workflow outside any workflow context (never as a child of whatever code asked for a refresh). */
function startScheduled(executor: Executor, workflow: RegisteredWorkflow, s: ScheduledStart): Promise<string> {
  return executionStorage.exit(() =>
    nextStartStorage.exit(() =>
      executor.start(workflow, s.args, {
        workflowID: s.workflowID,
        queueName: s.queueName,
        scheduleName: s.scheduleName,
        // As DBOS: the latest version of the application runs scheduled work, whichever process enqueued it.
        applicationVersion: null,
      }),
    ),
  );
}

/**
 * Enqueues through this process's engine. A schedule may name a workflow this process does not have (made by a
 * client, or for another version): it is enqueued by name all the same, for a process that has it.
 */
export function runtimeEnqueuer(executor: Executor): ScheduledEnqueuer {
  return (s) => {
    const workflow = executor.registry.find(s.workflowClassName, s.workflowName) ?? unregistered(s.workflowName, s.workflowClassName);
    return startScheduled(executor, workflow, s);
  };
}

function unregistered(name: string, className: string): RegisteredWorkflow {
  const absent = () => {
    throw new DBOSError(`Workflow ${name} is not registered in this process`);
  };
  return { name, className, fn: absent, thisArg: undefined, config: {}, wrapper: absent };
}

interface TableLoop {
  /** What the loop was started from; a different definition restarts it. */
  signature: string;
  /** Absent when the row cannot run (an invalid cron written by another tool): it is reported once, not retried. */
  loop?: TickLoop;
}

export class Scheduler {
  private readonly codeLoops: TickLoop[] = [];
  private readonly tableLoops = new Map<string, TableLoop>();
  private readonly startedAt = Date.now();
  private readonly enqueue: ScheduledEnqueuer;
  private refreshTimer?: NodeJS.Timeout;
  private readonly refresher = new CoalescedTask(
    () => this.refresh(),
    (err) => this.executor.logger.warn('Could not read the schedules table:', err),
  );
  /** Loops are made by prepare() and run from start(), once the queues are being served. */
  private running = false;
  private stopped = false;

  constructor(
    private readonly executor: Executor,
    private readonly codeSchedules: CodeSchedule[],
    private readonly options: SchedulerOptions,
  ) {
    this.enqueue = runtimeEnqueuer(executor);
  }

  /** What the schedule API (create, list, trigger, …) needs from this process. */
  get env(): ScheduleEnv {
    return {
      db: this.executor.db,
      applicationName: this.executor.identity.applicationName,
      enqueue: this.enqueue,
      changed: () => this.refreshSoon(),
    };
  }

  /** The names of the schedules declared in code (a table schedule may not take one). */
  get codeScheduleNames(): Set<string> {
    return new Set(this.codeSchedules.map((s) => s.name));
  }

  /** Reads what the loops start from (the last ticks fired, the schedules table) without firing anything yet. */
  async prepare(): Promise<void> {
    for (const schedule of this.codeSchedules) this.codeLoops.push(await this.codeLoop(schedule));
    this.refreshSoon();
    await this.refresher.idle();
  }

  /** Starts firing ticks, and re-reading the table. */
  start(): void {
    if (this.stopped || this.running) return;
    this.running = true;
    for (const loop of this.codeLoops) loop.start();
    for (const entry of this.tableLoops.values()) entry.loop?.start();
    this.armRefresh();
  }

  // ---------------------------------------------------------------------------------------------- 4.x, in code

  private async codeLoop(schedule: CodeSchedule): Promise<TickLoop> {
    const { db, logger } = this.executor;
    const key: DispatchKey = { service: DISPATCH_SERVICE, workflowFnName: schedule.name, key: LAST_STATE_KEY };
    let after = engineNow();
    if (schedule.mode === SchedulerMode.ExactlyOncePerInterval) {
      const last = Number((await getDispatchState(db, key)) ?? NaN);
      if (Number.isFinite(last)) after = last; // every tick since then is fired first, at once
    }
    return new TickLoop({
      name: schedule.name,
      cron: schedule.cron,
      after,
      logger,
      jitter: true,
      fire: async (tick) => {
        await startScheduled(this.executor, schedule.workflow, {
          workflowID: scheduledWorkflowID(schedule.name, tick),
          workflowName: schedule.workflow.name,
          workflowClassName: schedule.workflow.className,
          queueName: schedule.queueName ?? INTERNAL_QUEUE,
          args: [tick, new Date()],
          scheduleName: schedule.name,
        });
        // Recorded in both modes, so a schedule switched to ExactlyOncePerInterval resumes from here.
        const stored = Number(await upsertDispatchState(db, key, String(tick.getTime()), tick.getTime()));
        return Number.isFinite(stored) ? stored : undefined;
      },
    });
  }

  // ---------------------------------------------------------------------------------------------- 5.x, in the table

  /** Re-read the table soon (coalesced): a schedule was created, changed or deleted, here or elsewhere. */
  refreshSoon(): void {
    if (!this.stopped) this.refresher.request();
  }

  private armRefresh(): void {
    if (this.stopped) return;
    const fast = Date.now() - this.startedAt < FAST_REFRESH_PERIOD_MS;
    this.refreshTimer = setTimeout(
      () => {
        this.refreshSoon();
        this.armRefresh();
      },
      fast ? FAST_REFRESH_MS : this.options.refreshIntervalMs,
    );
    this.refreshTimer.unref();
  }

  /** Starts loops for new ACTIVE rows, restarts changed ones, stops those paused or deleted. */
  private async refresh(): Promise<void> {
    const { db, identity } = this.executor;
    const records = await listScheduleRecords(db, { applicationNames: [identity.applicationName] });
    if (this.stopped) return;
    const active = new Map(records.filter((r) => r.status === 'ACTIVE').map((r) => [r.scheduleName, r]));
    const stopping: Promise<void>[] = [];
    for (const [name, entry] of this.tableLoops) {
      const record = active.get(name);
      if (record && signatureOf(record) === entry.signature) continue;
      this.tableLoops.delete(name);
      if (entry.loop) stopping.push(entry.loop.stop());
    }
    await Promise.all(stopping);
    for (const record of active.values()) {
      if (this.stopped) return;
      if (this.tableLoops.has(record.scheduleName)) continue;
      const entry: TableLoop = { signature: signatureOf(record), loop: this.tableLoop(record) };
      this.tableLoops.set(record.scheduleName, entry);
      if (this.running) entry.loop?.start();
    }
  }

  private tableLoop(record: ScheduleRecord): TickLoop | undefined {
    const { db, logger } = this.executor;
    const name = record.scheduleName;
    let cron: CronSchedule;
    let context: unknown;
    try {
      cron = CronSchedule.parse(record.schedule, record.cronTimezone);
      context = deserializeValue(record.context, null);
    } catch (err) {
      logger.warn(`Schedule ${name} cannot run:`, err);
      return undefined;
    }
    const lastFired = record.lastFiredAt ? Date.parse(record.lastFiredAt) : NaN;
    // With automatic backfill, the ticks missed since the last one fired (while no process ran it, or while it was
    // paused) fire first, at once.
    const after = record.automaticBackfill && Number.isFinite(lastFired) ? lastFired : engineNow();
    return new TickLoop({
      name,
      cron,
      after,
      logger,
      jitter: true,
      fire: async (tick) => {
        await this.enqueue(scheduledStart(record, scheduledWorkflowID(name, tick), tick, context));
        await markScheduleFired(db, name, tick.toISOString());
      },
    });
  }

  /** Stops every loop; a tick being fired is written (or fails) first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    await this.refresher.idle();
    const loops = [...this.codeLoops, ...[...this.tableLoops.values()].flatMap((e) => (e.loop ? [e.loop] : []))];
    this.tableLoops.clear();
    await Promise.all(loops.map((l) => l.stop()));
  }
}

function signatureOf(r: ScheduleRecord): string {
  return JSON.stringify([r.workflowName, r.workflowClassName, r.schedule, r.context, r.cronTimezone, r.queueName]);
}
