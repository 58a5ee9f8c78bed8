// Schedules declared in code, DBOS 4.x style: `@DBOS.scheduled({crontab})` on a workflow, or
// `DBOS.registerScheduled(workflow, {crontab})`. They are collected at module load (the cron is checked there) and
// tied to their workflows at launch, when every registration, and every class name, is final.

import { DBOSConflictingRegistrationError, DBOSInvalidScheduleError, DBOSNotRegisteredError } from '../errors.js';
import { describe, type AnyFunction, type RegisteredWorkflow } from '../runtime/registry.js';
import { CronSchedule } from './cron.js';

/** What a 4.x schedule does about ticks that passed while no process of the application ran. */
export const SchedulerMode = {
  /** Backfills them: every tick since the last one fired gets its workflow, however late. */
  ExactlyOncePerInterval: 'ExactlyOncePerInterval',
  /** Skips them (the default): only ticks that come while some process runs get a workflow. */
  ExactlyOncePerIntervalWhenActive: 'ExactlyOncePerIntervalWhenActive',
} as const;
export type SchedulerMode = (typeof SchedulerMode)[keyof typeof SchedulerMode];

export interface SchedulerConfig {
  /** 5 fields, or 6 with a leading seconds field. */
  crontab: string;
  mode?: SchedulerMode;
  /** Enqueue each tick's workflow on this queue (default: the internal queue). */
  queueName?: string;
}

/** The signature of a 4.x scheduled workflow: the tick it stands for, and when it was started. */
export type ScheduledArgs = [scheduledTime: Date, startTime: Date];

interface Declaration {
  fn: AnyFunction;
  config: SchedulerConfig;
  cron: CronSchedule;
}

/** A declared schedule tied to its workflow. Its name (in workflow IDs) is the workflow's, class-qualified. */
export interface CodeSchedule {
  /** Read when needed: a class's final name may arrive after launch began (see DBOS.workflow). */
  readonly name: string;
  workflow: RegisteredWorkflow;
  cron: CronSchedule;
  mode: SchedulerMode;
  queueName: string | undefined;
}

const declarations: Declaration[] = [];

/** Checks a 4.x schedule (before anything is written) and remembers it until launch. */
export function declareScheduled(fn: AnyFunction, config: SchedulerConfig): void {
  declarations.push({ fn, ...checkSchedulerConfig(config) });
}

/** Throws DBOSInvalidScheduleError for a crontab that does not parse or never fires, or an unknown mode. */
export function checkSchedulerConfig(config: SchedulerConfig): { config: SchedulerConfig; cron: CronSchedule } {
  if (typeof config !== 'object' || config === null) {
    throw new DBOSInvalidScheduleError('A scheduled workflow needs a configuration: { crontab: "* * * * *" }');
  }
  const cron = CronSchedule.parse(config.crontab);
  const mode = config.mode ?? SchedulerMode.ExactlyOncePerIntervalWhenActive;
  if (mode !== SchedulerMode.ExactlyOncePerInterval && mode !== SchedulerMode.ExactlyOncePerIntervalWhenActive) {
    throw new DBOSInvalidScheduleError(
      `Unknown scheduler mode ${JSON.stringify(mode)}: use ${SchedulerMode.ExactlyOncePerInterval} or ${SchedulerMode.ExactlyOncePerIntervalWhenActive}`,
    );
  }
  if (config.queueName !== undefined && (typeof config.queueName !== 'string' || config.queueName === '')) {
    throw new DBOSInvalidScheduleError(`queueName must be a queue's name, got ${JSON.stringify(config.queueName)}`);
  }
  return { config: { ...config, mode }, cron };
}

/**
 * Ties every declaration to its registered workflow (at launch, before the database is opened): a declaration whose
 * function is not a registered workflow, or two schedules under one name, are errors.
 */
export function resolveDeclaredSchedules(find: (fn: AnyFunction) => RegisteredWorkflow | undefined): CodeSchedule[] {
  const byWorkflow = new Map<RegisteredWorkflow, CodeSchedule>();
  for (const d of declarations) {
    const workflow = find(d.fn);
    if (!workflow) {
      throw new DBOSNotRegisteredError(
        d.fn.name || 'anonymous function',
        `${d.fn.name || 'A function'} is scheduled but is not a registered workflow: put @DBOS.scheduled on a @DBOS.workflow() method, or pass a registered workflow to DBOS.registerScheduled`,
      );
    }
    const schedule: CodeSchedule = {
      get name() {
        return describe(workflow.className, workflow.name);
      },
      workflow,
      cron: d.cron,
      mode: d.config.mode ?? SchedulerMode.ExactlyOncePerIntervalWhenActive,
      queueName: d.config.queueName,
    };
    const existing = byWorkflow.get(workflow);
    if (existing) {
      const same = existing.cron.expression === schedule.cron.expression && existing.mode === schedule.mode && existing.queueName === schedule.queueName;
      if (same) continue; // declared twice alike (e.g. registerScheduled called again): one schedule
      throw new DBOSConflictingRegistrationError(
        `Workflow ${schedule.name} is scheduled twice, with different settings; a workflow has one schedule`,
      );
    }
    byWorkflow.set(workflow, schedule);
  }
  return [...byWorkflow.values()];
}

/** Forgets every declaration (DBOS.shutdown({ deregister: true })). */
export function forgetDeclaredSchedules(): void {
  declarations.length = 0;
}
