// The schedule tables: `workflow_schedules` (DBOS 5.x schedules, rows shared by every process of an application) and
// `event_dispatch_kv` (where the in-code 4.x schedules keep the last tick they fired). Each function is one statement.

import { sql, type Queryable, type SqlDriver } from './driver.js';

/** Carries a schedule's name when a schedule is created, changed or deleted, so every process re-reads the table. */
export const SCHEDULE_CHANNEL = 'transact_schedules';

export type ScheduleStatus = 'ACTIVE' | 'PAUSED';

/** One row of `workflow_schedules`, in the engine's terms (the context still serialized). */
export interface ScheduleRecord {
  scheduleID: string;
  scheduleName: string;
  workflowName: string;
  /** '' for a free function, as DBOS writes it. */
  workflowClassName: string;
  schedule: string;
  status: string;
  /** The context value in the native format. */
  context: string;
  /** The last tick fired, as an ISO string. */
  lastFiredAt: string | null;
  automaticBackfill: boolean;
  cronTimezone: string | null;
  queueName: string | null;
  /** The owning application; null for an unclaimed schedule (every application runs it). */
  applicationName: string | null;
}

const COLUMNS = `schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context, last_fired_at,
  automatic_backfill, cron_timezone, queue_name, application_name`;

function toRecord(r: Record<string, unknown>): ScheduleRecord {
  return {
    scheduleID: r.schedule_id as string,
    scheduleName: r.schedule_name as string,
    workflowName: r.workflow_name as string,
    workflowClassName: (r.workflow_class_name as string | null) ?? '',
    schedule: r.schedule as string,
    status: r.status as string,
    context: r.context as string,
    lastFiredAt: (r.last_fired_at as string | null) ?? null,
    automaticBackfill: Boolean(r.automatic_backfill),
    cronTimezone: (r.cron_timezone as string | null) ?? null,
    queueName: (r.queue_name as string | null) ?? null,
    applicationName: (r.application_name as string | null) ?? null,
  };
}

const INSERT_SCHEDULE = sql(
  'transact_insert_schedule',
  `INSERT INTO dbos.workflow_schedules (${COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
   ON CONFLICT (schedule_name) DO NOTHING
   RETURNING schedule_name, pg_notify('${SCHEDULE_CHANNEL}', schedule_name) AS notified`,
  `INSERT INTO workflow_schedules (${COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
   ON CONFLICT (schedule_name) DO NOTHING
   RETURNING schedule_name`,
);

const GET_SCHEDULE = sql('transact_get_schedule', `SELECT ${COLUMNS} FROM dbos.workflow_schedules WHERE schedule_name = $1`);

// Each filter is NULL (no filter) or an array; an application filter also matches unclaimed rows (dbos-spec §1.6).
const LIST_SCHEDULES = sql(
  'transact_list_schedules',
  `SELECT ${COLUMNS} FROM dbos.workflow_schedules
    WHERE ($1::text[] IS NULL OR application_name = ANY($1::text[]) OR application_name IS NULL)
      AND ($2::text[] IS NULL OR status = ANY($2::text[]))
      AND ($3::text[] IS NULL OR workflow_name = ANY($3::text[]))
      AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($4::text[]) p WHERE starts_with(schedule_name, p)))
    ORDER BY schedule_name`,
  `SELECT ${COLUMNS} FROM workflow_schedules
    WHERE ($1 IS NULL OR application_name IN (SELECT value FROM json_each($1)) OR application_name IS NULL)
      AND ($2 IS NULL OR status IN (SELECT value FROM json_each($2)))
      AND ($3 IS NULL OR workflow_name IN (SELECT value FROM json_each($3)))
      AND ($4 IS NULL OR EXISTS (SELECT 1 FROM json_each($4) p WHERE substr(schedule_name, 1, length(p.value)) = p.value))
    ORDER BY schedule_name`,
);

const DELETE_SCHEDULE = sql(
  'transact_delete_schedule',
  `DELETE FROM dbos.workflow_schedules WHERE schedule_name = $1
   RETURNING schedule_name, pg_notify('${SCHEDULE_CHANNEL}', schedule_name) AS notified`,
  'DELETE FROM workflow_schedules WHERE schedule_name = $1 RETURNING schedule_name',
);

const SET_STATUS = sql(
  'transact_set_schedule_status',
  `UPDATE dbos.workflow_schedules SET status = $2 WHERE schedule_name = $1
   RETURNING schedule_name, pg_notify('${SCHEDULE_CHANNEL}', schedule_name) AS notified`,
  'UPDATE workflow_schedules SET status = $2 WHERE schedule_name = $1 RETURNING schedule_name',
);

// Each definition field is replaced only when its "set" flag is true; status and last_fired_at are runtime state.
const UPDATE_SCHEDULE = sql(
  'transact_update_schedule',
  `UPDATE dbos.workflow_schedules
      SET schedule = CASE WHEN $2::boolean THEN $3::text ELSE schedule END,
          context = CASE WHEN $4::boolean THEN $5::text ELSE context END,
          automatic_backfill = CASE WHEN $6::boolean THEN $7::boolean ELSE automatic_backfill END,
          cron_timezone = CASE WHEN $8::boolean THEN $9::text ELSE cron_timezone END,
          queue_name = CASE WHEN $10::boolean THEN $11::text ELSE queue_name END
    WHERE schedule_name = $1
    RETURNING schedule_name, pg_notify('${SCHEDULE_CHANNEL}', schedule_name) AS notified`,
  `UPDATE workflow_schedules
      SET schedule = CASE WHEN $2 THEN $3 ELSE schedule END,
          context = CASE WHEN $4 THEN $5 ELSE context END,
          automatic_backfill = CASE WHEN $6 THEN $7 ELSE automatic_backfill END,
          cron_timezone = CASE WHEN $8 THEN $9 ELSE cron_timezone END,
          queue_name = CASE WHEN $10 THEN $11 ELSE queue_name END
    WHERE schedule_name = $1
    RETURNING schedule_name`,
);

// applySchedules: a new name is inserted; an existing one keeps its ID and runtime state (status, last_fired_at) and
// takes the new definition, unless it belongs to another application (then nothing is written and no row returned).
const APPLY_SCHEDULE = sql(
  'transact_apply_schedule',
  `INSERT INTO dbos.workflow_schedules AS s (${COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
   ON CONFLICT (schedule_name) DO UPDATE
      SET workflow_name = EXCLUDED.workflow_name, workflow_class_name = EXCLUDED.workflow_class_name,
          schedule = EXCLUDED.schedule, context = EXCLUDED.context, automatic_backfill = EXCLUDED.automatic_backfill,
          cron_timezone = EXCLUDED.cron_timezone, queue_name = EXCLUDED.queue_name,
          application_name = COALESCE(s.application_name, EXCLUDED.application_name)
    WHERE s.application_name IS NULL OR EXCLUDED.application_name IS NULL OR s.application_name = EXCLUDED.application_name
   RETURNING schedule_name, pg_notify('${SCHEDULE_CHANNEL}', schedule_name) AS notified`,
  `INSERT INTO workflow_schedules AS s (${COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
   ON CONFLICT (schedule_name) DO UPDATE
      SET workflow_name = excluded.workflow_name, workflow_class_name = excluded.workflow_class_name,
          schedule = excluded.schedule, context = excluded.context, automatic_backfill = excluded.automatic_backfill,
          cron_timezone = excluded.cron_timezone, queue_name = excluded.queue_name,
          application_name = COALESCE(s.application_name, excluded.application_name)
    WHERE s.application_name IS NULL OR excluded.application_name IS NULL OR s.application_name = excluded.application_name
   RETURNING schedule_name`,
);

// ISO-8601 instants of one fixed width order like the instants themselves, so the mark only moves forward however
// the processes firing a schedule interleave. No NOTIFY: firing is not a change of definition.
const MARK_FIRED = sql(
  'transact_mark_schedule_fired',
  `UPDATE dbos.workflow_schedules SET last_fired_at = $2
    WHERE schedule_name = $1 AND (last_fired_at IS NULL OR last_fired_at < $2)`,
);

function recordParams(r: ScheduleRecord): unknown[] {
  return [
    r.scheduleID,
    r.scheduleName,
    r.workflowName,
    r.workflowClassName,
    r.schedule,
    r.status,
    r.context,
    r.lastFiredAt,
    r.automaticBackfill,
    r.cronTimezone,
    r.queueName,
    r.applicationName,
  ];
}

/** Inserts a new schedule; false if one of that name exists (nothing is written). */
export async function insertSchedule(db: Queryable, r: ScheduleRecord): Promise<boolean> {
  return (await db.query(INSERT_SCHEDULE, recordParams(r))).length > 0;
}

/**
 * Creates or redefines each schedule, all in one transaction. Returns the name of a schedule owned by another
 * application, in which case nothing was written.
 */
export async function applyScheduleRecords(db: SqlDriver, records: ScheduleRecord[]): Promise<string | undefined> {
  const refused = { name: undefined as string | undefined };
  try {
    await db.transaction(async (tx) => {
      for (const r of records) {
        if ((await tx.query(APPLY_SCHEDULE, recordParams(r))).length === 0) {
          refused.name = r.scheduleName;
          throw refused;
        }
      }
    });
  } catch (err) {
    if (err !== refused) throw err;
  }
  return refused.name;
}

export async function getScheduleRecord(db: Queryable, name: string): Promise<ScheduleRecord | undefined> {
  const rows = await db.query(GET_SCHEDULE, [name]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export interface ScheduleFilter {
  /** These applications' schedules and the unclaimed ones; every schedule when null. */
  applicationNames: string[] | null;
  statuses?: string[];
  workflowNames?: string[];
  namePrefixes?: string[];
}

export async function listScheduleRecords(db: Queryable, filter: ScheduleFilter): Promise<ScheduleRecord[]> {
  const rows = await db.query(LIST_SCHEDULES, [
    filter.applicationNames,
    filter.statuses ?? null,
    filter.workflowNames ?? null,
    filter.namePrefixes ?? null,
  ]);
  return rows.map(toRecord);
}

export async function deleteScheduleRecord(db: Queryable, name: string): Promise<boolean> {
  return (await db.query(DELETE_SCHEDULE, [name])).length > 0;
}

export async function setScheduleStatus(db: Queryable, name: string, status: ScheduleStatus): Promise<boolean> {
  return (await db.query(SET_STATUS, [name, status])).length > 0;
}

/** The definition fields to change; an absent field is left as it is, null clears a nullable one. */
export interface ScheduleChange {
  schedule?: string;
  context?: string;
  automaticBackfill?: boolean;
  cronTimezone?: string | null;
  queueName?: string | null;
}

export async function updateScheduleRecord(db: Queryable, name: string, change: ScheduleChange): Promise<boolean> {
  const has = (key: keyof ScheduleChange) => Object.prototype.hasOwnProperty.call(change, key) && change[key] !== undefined;
  const rows = await db.query(UPDATE_SCHEDULE, [
    name,
    has('schedule'),
    change.schedule ?? null,
    has('context'),
    change.context ?? null,
    has('automaticBackfill'),
    change.automaticBackfill ?? false,
    has('cronTimezone'),
    change.cronTimezone ?? null,
    has('queueName'),
    change.queueName ?? null,
  ]);
  return rows.length > 0;
}

export async function markScheduleFired(db: Queryable, name: string, tickISO: string): Promise<void> {
  await db.query(MARK_FIRED, [name, tickISO]);
}

// ------------------------------------------------------------------------------------------- event_dispatch_kv

// A value with an update_time replaces the stored one only if it is newer (DBOS's versioned upsert), so processes
// recording the ticks they fired never move the mark backwards. The row as it stands afterwards is returned.
const UPSERT_DISPATCH_STATE = sql(
  'transact_upsert_dispatch_state',
  `WITH up AS (
     INSERT INTO dbos.event_dispatch_kv AS kv (service_name, workflow_fn_name, key, value, update_time)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (service_name, workflow_fn_name, key) DO UPDATE SET value = EXCLUDED.value, update_time = EXCLUDED.update_time
      WHERE kv.update_time IS NULL OR EXCLUDED.update_time IS NULL OR EXCLUDED.update_time > kv.update_time
     RETURNING value
   )
   SELECT value FROM up
   UNION ALL
   SELECT value FROM dbos.event_dispatch_kv WHERE service_name = $1 AND workflow_fn_name = $2 AND key = $3
     AND NOT EXISTS (SELECT 1 FROM up)`,
  `INSERT INTO event_dispatch_kv (service_name, workflow_fn_name, key, value, update_time)
   VALUES ($1, $2, $3, $4, $5)
   ON CONFLICT (service_name, workflow_fn_name, key) DO UPDATE SET value = excluded.value, update_time = excluded.update_time
    WHERE event_dispatch_kv.update_time IS NULL OR excluded.update_time IS NULL OR excluded.update_time > event_dispatch_kv.update_time`,
);

const GET_DISPATCH_STATE = sql(
  'transact_get_dispatch_state',
  'SELECT value FROM dbos.event_dispatch_kv WHERE service_name = $1 AND workflow_fn_name = $2 AND key = $3',
);

export interface DispatchKey {
  service: string;
  workflowFnName: string;
  key: string;
}

export async function getDispatchState(db: Queryable, k: DispatchKey): Promise<string | null | undefined> {
  const rows = await db.query<{ value: string | null }>(GET_DISPATCH_STATE, [k.service, k.workflowFnName, k.key]);
  return rows[0] ? rows[0].value : undefined;
}

/** Stores `value` unless a newer one (by `updateTime`) is stored; returns the value stored afterwards. */
export async function upsertDispatchState(db: Queryable, k: DispatchKey, value: string, updateTime: number): Promise<string | null> {
  const params = [k.service, k.workflowFnName, k.key, value, updateTime];
  if (db.dialect === 'postgres') {
    const rows = await db.query<{ value: string | null }>(UPSERT_DISPATCH_STATE, params);
    return rows[0]?.value ?? value;
  }
  await db.query(UPSERT_DISPATCH_STATE, params);
  return (await getDispatchState(db, k)) ?? value;
}
