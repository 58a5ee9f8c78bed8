// The facade's 5.x schedules (rows of workflow_schedules, src/scheduler/schedules.ts, shared with the client): a
// schedule must name a registered workflow, a queue this application has, and a name no in-code schedule has; each
// call is a checkpointed step inside a workflow, except those that start workflows or write many rows at once.

import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import {
  DBOSConflictingRegistrationError,
  DBOSError,
  DBOSInitializationError,
  DBOSInvalidScheduleError,
  DBOSNotRegisteredError,
} from '../errors.js';
import { currentFrame } from '../runtime/context.js';
import { RuntimeWorkflowHandle, type WorkflowHandle } from '../runtime/handle.js';
import type { AnyFunction } from '../runtime/registry.js';
import { checkSchedulerConfig, declareScheduled, type SchedulerConfig } from '../scheduler/declared.js';
import * as schedules from '../scheduler/schedules.js';
import type { ListSchedulesFilters, ScheduleEnv, ScheduleOptions, ScheduleUpdate, WorkflowSchedule } from '../scheduler/schedules.js';
import { asStep, currentOrThrow, launchedOrLaunching, registry, type Launched } from './state.js';

/** A workflow a 5.x schedule runs: `(scheduledDate, context)`. */
export type ScheduledWorkflowFn = (scheduledDate: Date, context: never) => Promise<unknown>;

/** One schedule for DBOS.applySchedules. */
export interface ScheduleDefinition extends ScheduleOptions {
  scheduleName: string;
  workflowFn: ScheduledWorkflowFn;
  schedule: string;
  context?: unknown;
}

/** DBOS.createSchedule's definition: ScheduleDefinition with its options apart. */
export interface NewSchedule {
  scheduleName: string;
  workflowFn: ScheduledWorkflowFn;
  schedule: string;
  context?: unknown;
  options?: ScheduleOptions;
}

function scheduleEngine(what: string): { here: Launched; env: ScheduleEnv } {
  const here = currentOrThrow(what);
  return { here, env: here.scheduler.env };
}

/** Refused inside workflow code: the call starts workflows or writes many rows, which a replay could not repeat. */
function outsideWorkflows(what: string): void {
  if (currentFrame()) throw new DBOSError(`${what} cannot be called from within a workflow`);
}

export async function createSchedule(definition: NewSchedule): Promise<void> {
  const { here, env } = scheduleEngine('DBOS.createSchedule');
  const record = await checkedScheduleRecord(here, { ...definition, ...definition.options });
  await asStep('DBOS.createSchedule', () => schedules.createSchedule(env, record));
}

export async function applySchedules(definitions: ScheduleDefinition[]): Promise<void> {
  const { here, env } = scheduleEngine('DBOS.applySchedules');
  outsideWorkflows('applySchedules');
  const records = [];
  for (const d of definitions) records.push(await checkedScheduleRecord(here, d));
  await schedules.applySchedules(env, records);
}

/** Schedules of this application (and unclaimed ones), or of the applications named. */
export async function listSchedules(filters: ListSchedulesFilters): Promise<WorkflowSchedule[]> {
  const { env } = scheduleEngine('DBOS.listSchedules');
  return asStep('DBOS.listSchedules', () => schedules.listSchedules(env, filters));
}

export async function getSchedule(name: string): Promise<WorkflowSchedule | null> {
  const { env } = scheduleEngine('DBOS.getSchedule');
  return asStep('DBOS.getSchedule', () => schedules.getSchedule(env, name));
}

export async function deleteSchedule(name: string): Promise<void> {
  const { env } = scheduleEngine('DBOS.deleteSchedule');
  return asStep('DBOS.deleteSchedule', () => schedules.deleteSchedule(env, name));
}

/** Stops a schedule's ticks in every process until it is resumed. */
export async function pauseSchedule(name: string): Promise<void> {
  const { env } = scheduleEngine('DBOS.pauseSchedule');
  return asStep('DBOS.pauseSchedule', () => schedules.setStatus(env, name, 'PAUSED'));
}

export async function resumeSchedule(name: string): Promise<void> {
  const { env } = scheduleEngine('DBOS.resumeSchedule');
  return asStep('DBOS.resumeSchedule', () => schedules.setStatus(env, name, 'ACTIVE'));
}

export async function updateSchedule(name: string, updates: ScheduleUpdate): Promise<void> {
  const { here, env } = scheduleEngine('DBOS.updateSchedule');
  if (updates.queueName) await checkScheduleQueue(here, updates.queueName);
  await asStep('DBOS.updateSchedule', () => schedules.updateSchedule(env, name, updates));
}

export async function triggerSchedule(name: string): Promise<WorkflowHandle<unknown>> {
  const { here, env } = scheduleEngine('DBOS.triggerSchedule');
  outsideWorkflows('triggerSchedule');
  return new RuntimeWorkflowHandle(here.executor, await schedules.triggerSchedule(env, name));
}

export async function backfillSchedule(name: string, start: Date, end: Date): Promise<WorkflowHandle<unknown>[]> {
  const { here, env } = scheduleEngine('DBOS.backfillSchedule');
  outsideWorkflows('backfillSchedule');
  const ids = await schedules.backfillSchedule(env, name, start, end);
  return ids.map((id) => new RuntimeWorkflowHandle(here.executor, id));
}

/** A 5.x schedule of a registered workflow, on a queue this application has, under a name no in-code schedule has. */
async function checkedScheduleRecord(
  here: Launched,
  d: { scheduleName: string; workflowFn: ScheduledWorkflowFn; schedule: string; context?: unknown } & ScheduleOptions,
) {
  const reg = registry.forFunction(d.workflowFn as AnyFunction);
  if (!reg) {
    const name = d.workflowFn?.name || 'anonymous function';
    throw new DBOSNotRegisteredError(name, `${name} is not a registered workflow: schedule a function registered with @DBOS.workflow() or DBOS.registerWorkflow`);
  }
  const options: ScheduleOptions = { automaticBackfill: d.automaticBackfill, cronTimezone: d.cronTimezone, queueName: d.queueName };
  const record = schedules.scheduleRecordOf({
    scheduleName: d.scheduleName,
    workflowName: reg.name,
    workflowClassName: reg.className,
    schedule: d.schedule,
    context: d.context,
    options,
    applicationName: here.executor.identity.applicationName,
  });
  if (here.scheduler.codeScheduleNames.has(d.scheduleName)) {
    throw new DBOSConflictingRegistrationError(`${d.scheduleName} is the name of a schedule declared with @DBOS.scheduled; choose another`);
  }
  if (d.queueName) await checkScheduleQueue(here, d.queueName);
  return record;
}

async function checkScheduleQueue(here: Launched, queueName: string): Promise<void> {
  let usable: boolean;
  try {
    usable = await here.queues.queueExists(queueName, undefined);
  } catch (err) {
    throw new DBOSInvalidScheduleError(`Scheduled workflows cannot use queue ${queueName}: ${(err as Error).message}`, { cause: err });
  }
  if (!usable) {
    throw new DBOSInvalidScheduleError(`Queue ${queueName} does not exist: declare it or register it with DBOS.registerQueue first`);
  }
}

/** `@DBOS.scheduled(config)` above `@DBOS.workflow()` (DBOS 4.x): static methods only. */
export function scheduledDecorator(schedulerConfig: SchedulerConfig): DualMethodDecorator {
  checkSchedulerConfig(schedulerConfig);
  return dualMethodDecorator(
    (method) => method.fn,
    (method, owner) => {
      if (typeof owner !== 'function') {
        throw new DBOSInvalidScheduleError(`@DBOS.scheduled needs a static method; ${method.name} is an instance method`);
      }
      declareScheduled(method.fn, schedulerConfig);
    },
  );
}

/** The decorator-free form of `@DBOS.scheduled`, for a registered workflow, before launch. */
export function registerScheduled(workflow: AnyFunction, schedulerConfig: SchedulerConfig): void {
  if (!registry.forFunction(workflow)) {
    throw new DBOSNotRegisteredError(
      workflow.name || 'anonymous function',
      `${workflow.name || 'This function'} is not a registered workflow: pass the function DBOS.registerWorkflow returned`,
    );
  }
  if (launchedOrLaunching()) throw new DBOSInitializationError('DBOS.registerScheduled must be called before DBOS.launch()');
  declareScheduled(workflow, schedulerConfig);
}
