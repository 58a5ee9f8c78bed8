// DBOS 5.x schedules: rows of `workflow_schedules`, created, read and changed here, written once and used by the
// facade (DBOS.createSchedule, …) and by DBOSClient. Every check runs before anything is written. Firing the ticks
// is the scheduler's job (scheduler.ts); this module only enqueues on demand (trigger, backfill).

import { checkKey } from '../validation.js';
import { randomUUID } from 'node:crypto';
import { DBOSConflictingRegistrationError, DBOSError, DBOSInvalidScheduleError } from '../errors.js';
import { deserializeValue, serializeValue } from '../serialization/index.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import {
  applyScheduleRecords,
  deleteScheduleRecord,
  getScheduleRecord,
  insertSchedule,
  listScheduleRecords,
  setScheduleStatus,
  updateScheduleRecord,
  type ScheduleChange,
  type ScheduleRecord,
} from '../sysdb/schedules.js';
import { CronSchedule } from './cron.js';

export interface ScheduleOptions {
  /** When a process picks the schedule up, it first enqueues the ticks missed since the last one fired. */
  automaticBackfill?: boolean;
  /** The IANA time zone the cron expression is read in (default: the process's local time). */
  cronTimezone?: string;
  /** Enqueue each tick's workflow on this queue (default: the internal queue). */
  queueName?: string;
}

/** A schedule as the API shows it (DBOS's WorkflowSchedule). */
export interface WorkflowSchedule {
  scheduleId: string;
  scheduleName: string;
  workflowName: string;
  workflowClassName: string;
  schedule: string;
  status: string;
  context: unknown;
  lastFiredAt: string | null;
  automaticBackfill: boolean;
  cronTimezone: string | null;
  queueName: string | null;
  applicationName?: string;
}

export interface ListSchedulesFilters {
  /** Schedules of these applications (and unclaimed ones); default: this application's. */
  applicationName?: string | string[];
  status?: string | string[];
  workflowName?: string | string[];
  scheduleNamePrefix?: string | string[];
}

export interface ScheduleUpdate {
  schedule?: string;
  context?: unknown;
  automaticBackfill?: boolean;
  cronTimezone?: string | null;
  queueName?: string | null;
}

/** What to enqueue for one tick of a schedule (or a trigger). */
export interface ScheduledStart {
  workflowID: string;
  workflowName: string;
  workflowClassName: string;
  queueName: string;
  args: unknown[];
  scheduleName: string;
}

/** Enqueues a scheduled workflow and returns its ID; an existing workflow with that ID is attached to, not rerun. */
export type ScheduledEnqueuer = (start: ScheduledStart) => Promise<string>;

export interface ScheduleEnv {
  db: SqlDriver;
  /** The application whose schedules a listing shows by default; null: every application's. */
  applicationName: string | null;
  enqueue: ScheduledEnqueuer;
  /** Told after a schedule was created, changed or deleted (the local scheduler re-reads the table). */
  changed?: () => void;
}

/** The workflow ID of the tick `tick` of schedule `name`: every process firing that tick names the same workflow. */
export function scheduledWorkflowID(name: string, tick: Date): string {
  return `sched-${name}-${tick.toISOString()}`;
}

export interface NewScheduleDefinition {
  scheduleName: string;
  workflowName: string;
  workflowClassName: string;
  schedule: string;
  context?: unknown;
  options?: ScheduleOptions;
  /** The owner; null leaves it unclaimed (every application sharing the database runs it). */
  applicationName: string | null;
}

/** Checks a definition and builds its row; throws a typed error (and writes nothing) if anything is wrong. */
export function scheduleRecordOf(d: NewScheduleDefinition): ScheduleRecord {
  checkScheduleName(d.scheduleName);
  const options = d.options ?? {};
  if (typeof options !== 'object') throw new DBOSInvalidScheduleError('Schedule options must be an object');
  CronSchedule.parse(d.schedule, options.cronTimezone);
  checkQueueName(options.queueName);
  if (options.automaticBackfill !== undefined && typeof options.automaticBackfill !== 'boolean') {
    throw new DBOSInvalidScheduleError(`automaticBackfill must be true or false, got ${JSON.stringify(options.automaticBackfill)}`);
  }
  return {
    scheduleID: randomUUID(),
    scheduleName: d.scheduleName,
    workflowName: d.workflowName,
    workflowClassName: d.workflowClassName,
    schedule: d.schedule,
    status: 'ACTIVE',
    context: serializeValue(d.context, 'native', `the context of schedule ${d.scheduleName}`).text,
    lastFiredAt: null,
    automaticBackfill: options.automaticBackfill ?? false,
    cronTimezone: options.cronTimezone || null,
    queueName: options.queueName ?? null,
    applicationName: d.applicationName,
  };
}

function checkScheduleName(name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new DBOSInvalidScheduleError(`A schedule needs a name, got ${JSON.stringify(name)}`);
  }
  asScheduleError(() => checkKey('scheduleName', name)); // it becomes part of the workflow IDs of its ticks
}

function checkQueueName(queueName: unknown): void {
  if (queueName !== undefined && queueName !== null && (typeof queueName !== 'string' || queueName === '')) {
    throw new DBOSInvalidScheduleError(`queueName must be a queue's name, got ${JSON.stringify(queueName)}`);
  }
  if (typeof queueName === 'string') asScheduleError(() => checkKey('queueName', queueName));
}

/** A check of src/validation.ts, failing as a schedule's errors do. */
function asScheduleError(check: () => void): void {
  try {
    check();
  } catch (err) {
    throw new DBOSInvalidScheduleError((err as Error).message, { cause: err });
  }
}

export async function createSchedule(env: ScheduleEnv, record: ScheduleRecord): Promise<void> {
  if (!(await insertSchedule(env.db, record))) {
    throw new DBOSConflictingRegistrationError(
      `A schedule named ${JSON.stringify(record.scheduleName)} already exists: delete it first, or use updateSchedule`,
    );
  }
  env.changed?.();
}

/**
 * Makes the table hold these definitions (declarative, all or nothing): new names are created; existing ones keep
 * their status and last fired tick and take the new definition. Schedules not named are left alone.
 */
export async function applySchedules(env: ScheduleEnv, records: ScheduleRecord[]): Promise<void> {
  const names = new Set<string>();
  for (const r of records) {
    if (names.has(r.scheduleName)) throw new DBOSInvalidScheduleError(`Schedule ${JSON.stringify(r.scheduleName)} is defined twice`);
    names.add(r.scheduleName);
  }
  const refused = await applyScheduleRecords(env.db, records);
  if (refused !== undefined) {
    throw new DBOSConflictingRegistrationError(`A schedule named ${JSON.stringify(refused)} belongs to another application; nothing was applied`);
  }
  env.changed?.();
}

function many(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

/** A listing shows a context that cannot be decoded (a damaged row) as the text stored, and does not fail. */
function listedContext(r: ScheduleRecord): unknown {
  try {
    return deserializeValue(r.context, null);
  } catch {
    return r.context;
  }
}

export function toWorkflowSchedule(r: ScheduleRecord): WorkflowSchedule {
  return {
    scheduleId: r.scheduleID,
    scheduleName: r.scheduleName,
    workflowName: r.workflowName,
    workflowClassName: r.workflowClassName,
    schedule: r.schedule,
    status: r.status,
    context: listedContext(r),
    lastFiredAt: r.lastFiredAt,
    automaticBackfill: r.automaticBackfill,
    cronTimezone: r.cronTimezone,
    queueName: r.queueName,
    ...(r.applicationName !== null ? { applicationName: r.applicationName } : {}),
  };
}

export async function listSchedules(env: ScheduleEnv, filters: ListSchedulesFilters = {}): Promise<WorkflowSchedule[]> {
  const apps = many(filters.applicationName) ?? (env.applicationName !== null ? [env.applicationName] : null);
  const records = await listScheduleRecords(env.db, {
    applicationNames: apps,
    statuses: many(filters.status),
    workflowNames: many(filters.workflowName),
    namePrefixes: many(filters.scheduleNamePrefix),
  });
  return records.map(toWorkflowSchedule);
}

export async function getSchedule(env: ScheduleEnv, name: string): Promise<WorkflowSchedule | null> {
  const record = await getScheduleRecord(env.db, name);
  return record ? toWorkflowSchedule(record) : null;
}

/** Deletes a schedule (nothing happens if there is none); workflows it already started are left alone. */
export async function deleteSchedule(env: ScheduleEnv, name: string): Promise<void> {
  if (await deleteScheduleRecord(env.db, name)) env.changed?.();
}

/** PAUSED stops its ticks in every process until it is resumed; a missing schedule is left alone, as in DBOS. */
export async function setStatus(env: ScheduleEnv, name: string, status: 'ACTIVE' | 'PAUSED'): Promise<void> {
  if (await setScheduleStatus(env.db, name, status)) env.changed?.();
}

export async function updateSchedule(env: ScheduleEnv, name: string, updates: ScheduleUpdate): Promise<void> {
  const current = await getScheduleRecord(env.db, name);
  if (!current) throw new DBOSError(`Schedule '${name}' not found`);
  const change: ScheduleChange = {};
  if (updates.schedule !== undefined) change.schedule = updates.schedule;
  if (updates.cronTimezone !== undefined) change.cronTimezone = updates.cronTimezone || null;
  if (updates.schedule !== undefined || updates.cronTimezone !== undefined) {
    const timezone = updates.cronTimezone !== undefined ? updates.cronTimezone : current.cronTimezone;
    CronSchedule.parse(updates.schedule ?? current.schedule, timezone);
  }
  if ('context' in updates) change.context = serializeValue(updates.context, 'native', `the context of schedule ${name}`).text;
  if (updates.automaticBackfill !== undefined) change.automaticBackfill = updates.automaticBackfill;
  if (updates.queueName !== undefined) {
    checkQueueName(updates.queueName);
    change.queueName = updates.queueName;
  }
  if (!(await updateScheduleRecord(env.db, name, change))) throw new DBOSError(`Schedule '${name}' not found`);
  env.changed?.();
}

async function existingSchedule(env: ScheduleEnv, name: string): Promise<ScheduleRecord> {
  const record = await getScheduleRecord(env.db, name);
  if (!record) throw new DBOSError(`Schedule '${name}' not found`);
  return record;
}

/** The start of one tick (or trigger) of a stored schedule: its workflow gets `(tick, context)`. */
export function scheduledStart(record: ScheduleRecord, workflowID: string, tick: Date, context: unknown): ScheduledStart {
  return {
    workflowID,
    workflowName: record.workflowName,
    workflowClassName: record.workflowClassName,
    queueName: record.queueName ?? INTERNAL_QUEUE,
    args: [tick, context],
    scheduleName: record.scheduleName,
  };
}

/** Enqueues the schedule's workflow now, off its cron: ID `sched-<name>-trigger-<now>`. */
export async function triggerSchedule(env: ScheduleEnv, name: string): Promise<string> {
  const record = await existingSchedule(env, name);
  const now = new Date();
  const context = deserializeValue(record.context, null);
  return env.enqueue(scheduledStart(record, `sched-${name}-trigger-${now.toISOString()}`, now, context));
}

/**
 * Enqueues the workflows of every tick `t` with start <= t < end (under their usual IDs, so a tick that already ran
 * is not run again). Returns their IDs in order.
 */
export async function backfillSchedule(env: ScheduleEnv, name: string, start: Date, end: Date): Promise<string[]> {
  if (!(start instanceof Date) || !(end instanceof Date) || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
    throw new DBOSInvalidScheduleError('backfillSchedule needs a start and an end Date');
  }
  const record = await existingSchedule(env, name);
  const cron = CronSchedule.parse(record.schedule, record.cronTimezone);
  const context = deserializeValue(record.context, null);
  const ids: string[] = [];
  for (const tick of cron.ticksBetween(start, end)) {
    ids.push(await env.enqueue(scheduledStart(record, scheduledWorkflowID(name, tick), tick, context)));
  }
  return ids;
}
