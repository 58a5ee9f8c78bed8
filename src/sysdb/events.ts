// The workflow_events family: key-value events a workflow publishes (last value wins), with their history per
// function ID (what fork and rewind restore from).

import { sql, type SqlDriver } from './driver.js';
import {
  FENCE_RESULT_PG,
  fencedResult,
  OWNER_CTE_PG,
  recordOperationStepSqlite,
  STEP_CTE_PG,
  stepParams,
  type FencedResult,
  type OperationStep,
} from './operations.js';

/** Carries `<workflowID>::<key>` when an event is set, so getEvent waiters in every process look again. */
export const EVENTS_CHANNEL = 'dbos_workflow_events_channel';

export interface EventValue {
  value: string;
  serialization: string | null;
}

// The event, its history row and the step row in one statement; the NOTIFY is sent at commit, and only when the
// event was written (not by an execution that found the step already recorded).
const SET_EVENT_PG = sql(
  'transact_set_event',
  `WITH ${OWNER_CTE_PG}, ${STEP_CTE_PG}, evt AS (
     INSERT INTO dbos.workflow_events (workflow_uuid, key, value, serialization)
     SELECT $1::text, $8::text, $9::text, $10::text FROM step
     ON CONFLICT (workflow_uuid, key) DO UPDATE SET value = EXCLUDED.value, serialization = EXCLUDED.serialization
   ), hist AS (
     INSERT INTO dbos.workflow_events_history (workflow_uuid, function_id, key, value, serialization)
     SELECT $1::text, $3::int, $8::text, $9::text, $10::text FROM step
     ON CONFLICT (workflow_uuid, function_id, key) DO UPDATE SET value = EXCLUDED.value, serialization = EXCLUDED.serialization
   )
   SELECT ${FENCE_RESULT_PG},
          CASE WHEN EXISTS (SELECT 1 FROM step) THEN pg_notify('${EVENTS_CHANNEL}', $1::text || '::' || $8::text) END AS notified`,
);

const UPSERT_EVENT_SQLITE = sql(
  'transact_upsert_event',
  '',
  `INSERT INTO workflow_events (workflow_uuid, key, value, serialization) VALUES ($1, $2, $3, $4)
   ON CONFLICT (workflow_uuid, key) DO UPDATE SET value = excluded.value, serialization = excluded.serialization`,
);
const UPSERT_EVENT_HISTORY_SQLITE = sql(
  'transact_upsert_event_history',
  '',
  `INSERT INTO workflow_events_history (workflow_uuid, function_id, key, value, serialization) VALUES ($1, $2, $3, $4, $5)
   ON CONFLICT (workflow_uuid, function_id, key) DO UPDATE SET value = excluded.value, serialization = excluded.serialization`,
);

/** Sets an event as the step `DBOS.setEvent` of the workflow that publishes it. */
export async function setEvent(db: SqlDriver, step: OperationStep, key: string, value: EventValue): Promise<FencedResult> {
  if (db.dialect === 'postgres') {
    const rows = await db.query(SET_EVENT_PG, [...stepParams(step), key, value.value, value.serialization]);
    return fencedResult(rows[0]);
  }
  return db.transaction(async (tx) => {
    const result = await recordOperationStepSqlite(tx, step);
    if (result === 'recorded') {
      await tx.query(UPSERT_EVENT_SQLITE, [step.workflowID, key, value.value, value.serialization]);
      await tx.query(UPSERT_EVENT_HISTORY_SQLITE, [step.workflowID, step.functionID, key, value.value, value.serialization]);
    }
    return result;
  });
}

const GET_EVENT = sql(
  'transact_get_event',
  'SELECT value, serialization FROM dbos.workflow_events WHERE workflow_uuid = $1 AND key = $2',
);

/** The event's current value, or undefined while it is not set. */
export async function getEvent(db: SqlDriver, workflowID: string, key: string): Promise<EventValue | undefined> {
  const rows = await db.query<{ value: string; serialization: string | null }>(GET_EVENT, [workflowID, key]);
  const row = rows[0];
  return row ? { value: row.value, serialization: row.serialization ?? null } : undefined;
}
