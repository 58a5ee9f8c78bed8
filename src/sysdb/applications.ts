// Moving rows from one application to another (DBOSClient.renameApplication, dbos-spec §1.12): the `application_name`
// column of queues, schedules, versions, workflows and steps. An application's control rows (its queues, schedules
// and versions, and its active workflows) move together in one transaction, so
// whoever runs the application next finds all of its live work; the history (the other workflows, and every step)
// moves in batches of its own transactions, each resuming where the last one stopped, in primary-key order, so the
// whole move reads each table once however many batches it takes.
//
// A row is moved when its application_name is the old name, or, when unclaimed rows are adopted, NULL. With no old
// name ($1 NULL) only unclaimed rows match.

import { sql, type Queryable } from './driver.js';

/** Rows moved, by table (DBOS's ApplicationRowCounts). */
export interface ApplicationRowCounts {
  queues: number;
  schedules: number;
  versions: number;
  workflows: number;
  steps: number;
}

/** $1 old name (or NULL), $2 new name, $3 adopt unclaimed rows. */
const OWNED_PG = (column = 'application_name') => `(${column} = $1::text OR ($3::boolean AND ${column} IS NULL))`;
const OWNED_SQLITE = (column = 'application_name') => `(${column} = $1 OR ($3 AND ${column} IS NULL))`;
const ACTIVE = `status IN ('PENDING', 'ENQUEUED', 'DELAYED')`;

const MOVE_CONTROL_PG = sql(
  'transact_rename_control',
  `WITH q AS (
     UPDATE dbos.queues SET application_name = $2::text, updated_at = NOWMS WHERE ${OWNED_PG()} RETURNING 1
   ), s AS (
     UPDATE dbos.workflow_schedules SET application_name = $2::text WHERE ${OWNED_PG()} RETURNING 1
   ), v AS (
     UPDATE dbos.application_versions SET application_name = $2::text WHERE ${OWNED_PG()} RETURNING 1
   ), w AS (
     UPDATE dbos.workflow_status SET application_name = $2::text WHERE ${ACTIVE} AND ${OWNED_PG()} RETURNING 1
   )
   SELECT (SELECT count(*) FROM q)::int AS queues, (SELECT count(*) FROM s)::int AS schedules,
          (SELECT count(*) FROM v)::int AS versions, (SELECT count(*) FROM w)::int AS workflows`,
);

const MOVE_CONTROL_SQLITE = {
  queues: sql('transact_rename_queues', '', `UPDATE queues SET application_name = $2, updated_at = NOWMS WHERE ${OWNED_SQLITE()} RETURNING 1`),
  schedules: sql('transact_rename_schedules', '', `UPDATE workflow_schedules SET application_name = $2 WHERE ${OWNED_SQLITE()} RETURNING 1`),
  versions: sql('transact_rename_versions', '', `UPDATE application_versions SET application_name = $2 WHERE ${OWNED_SQLITE()} RETURNING 1`),
  workflows: sql(
    'transact_rename_active',
    '',
    `UPDATE workflow_status SET application_name = $2 WHERE ${ACTIVE} AND ${OWNED_SQLITE()} RETURNING 1`,
  ),
};

/** Moves the control rows and the active workflows. One transaction: run it inside `tx` on SQLite. */
export async function moveControlRows(
  q: Queryable,
  oldName: string | null,
  newName: string,
  adoptUnclaimed: boolean,
): Promise<Omit<ApplicationRowCounts, 'steps'>> {
  const params = [oldName, newName, adoptUnclaimed];
  if (q.dialect === 'postgres') {
    const [row] = await q.query<Record<string, number>>(MOVE_CONTROL_PG, params);
    return { queues: row!.queues!, schedules: row!.schedules!, versions: row!.versions!, workflows: row!.workflows! };
  }
  const count = async (statement: (typeof MOVE_CONTROL_SQLITE)[keyof typeof MOVE_CONTROL_SQLITE]) =>
    (await q.query(statement, params)).length;
  return {
    queues: await count(MOVE_CONTROL_SQLITE.queues),
    schedules: await count(MOVE_CONTROL_SQLITE.schedules),
    versions: await count(MOVE_CONTROL_SQLITE.versions),
    workflows: await count(MOVE_CONTROL_SQLITE.workflows),
  };
}

// ------------------------------------------------------------------------------------------------ batches

// A batch takes the next `$5` matching rows after the key the last batch stopped at ($4, then $6 for steps), locks
// them (re-checked under the lock), moves them, and reports how many it moved and where it stopped.
const MOVE_WORKFLOWS_PG = sql(
  'transact_rename_workflows',
  `WITH batch AS (
     SELECT workflow_uuid FROM dbos.workflow_status
      WHERE workflow_uuid > $4::text AND ${OWNED_PG()}
      ORDER BY workflow_uuid LIMIT $5::int
      FOR UPDATE
   ), moved AS (
     UPDATE dbos.workflow_status ws SET application_name = $2::text
       FROM batch WHERE ws.workflow_uuid = batch.workflow_uuid
     RETURNING ws.workflow_uuid
   )
   SELECT count(*)::int AS moved, max(workflow_uuid) AS last_id FROM moved`,
);
const MOVE_WORKFLOWS_SQLITE = sql(
  'transact_rename_workflows',
  '',
  `UPDATE workflow_status SET application_name = $2
    WHERE workflow_uuid IN (SELECT workflow_uuid FROM workflow_status
                             WHERE workflow_uuid > $4 AND ${OWNED_SQLITE()}
                             ORDER BY workflow_uuid LIMIT $5)
    RETURNING workflow_uuid`,
);

const MOVE_STEPS_PG = sql(
  'transact_rename_steps',
  `WITH batch AS (
     SELECT workflow_uuid, function_id FROM dbos.operation_outputs
      WHERE (workflow_uuid, function_id) > ($4::text, $6::int) AND ${OWNED_PG()}
      ORDER BY workflow_uuid, function_id LIMIT $5::int
      FOR UPDATE
   ), moved AS (
     UPDATE dbos.operation_outputs o SET application_name = $2::text
       FROM batch WHERE o.workflow_uuid = batch.workflow_uuid AND o.function_id = batch.function_id
     RETURNING o.workflow_uuid, o.function_id
   )
   SELECT (SELECT count(*) FROM moved)::int AS moved, last.workflow_uuid AS last_id, last.function_id AS last_function_id
     FROM (SELECT 1) one
     LEFT JOIN (SELECT workflow_uuid, function_id FROM moved ORDER BY workflow_uuid DESC, function_id DESC LIMIT 1) last ON true`,
);
const MOVE_STEPS_SQLITE = sql(
  'transact_rename_steps',
  '',
  `UPDATE operation_outputs SET application_name = $2
    WHERE (workflow_uuid, function_id) IN (SELECT workflow_uuid, function_id FROM operation_outputs
                                            WHERE (workflow_uuid, function_id) > ($4, $6) AND ${OWNED_SQLITE()}
                                            ORDER BY workflow_uuid, function_id LIMIT $5)
    RETURNING workflow_uuid, function_id`,
);

/** Where a batch stopped (exclusive lower bound of the next one); the empty ID is below every workflow ID. */
export interface BatchCursor {
  workflowID: string;
  functionID: number;
}

export const START_CURSOR: BatchCursor = { workflowID: '', functionID: -1 };

export interface BatchResult {
  moved: number;
  next: BatchCursor;
}

/** Moves up to `limit` more workflows after `after` (one statement, so one transaction of its own). */
export async function moveWorkflowBatch(
  q: Queryable,
  oldName: string | null,
  newName: string,
  adoptUnclaimed: boolean,
  after: BatchCursor,
  limit: number,
): Promise<BatchResult> {
  const params = [oldName, newName, adoptUnclaimed, after.workflowID, limit];
  if (q.dialect === 'postgres') {
    const [row] = await q.query<{ moved: number; last_id: string | null }>(MOVE_WORKFLOWS_PG, params);
    return { moved: row!.moved, next: { workflowID: row!.last_id ?? after.workflowID, functionID: -1 } };
  }
  const rows = await q.query<{ workflow_uuid: string }>(MOVE_WORKFLOWS_SQLITE, params);
  // RETURNING comes in no promised order: the cursor is the greatest key moved. JavaScript orders strings by UTF-16
  // units where SQLite orders bytes; where the two disagree the cursor only comes out lower, and the next batch
  // re-reads rows already moved, which no longer match.
  const last = rows.reduce<string | null>((max, r) => (max === null || r.workflow_uuid > max ? r.workflow_uuid : max), null);
  return { moved: rows.length, next: { workflowID: last ?? after.workflowID, functionID: -1 } };
}

/** Moves up to `limit` more steps after `after` (one statement, so one transaction of its own). */
export async function moveStepBatch(
  q: Queryable,
  oldName: string | null,
  newName: string,
  adoptUnclaimed: boolean,
  after: BatchCursor,
  limit: number,
): Promise<BatchResult> {
  const params = [oldName, newName, adoptUnclaimed, after.workflowID, limit, after.functionID];
  if (q.dialect === 'postgres') {
    const [row] = await q.query<{ moved: number; last_id: string | null; last_function_id: number | null }>(MOVE_STEPS_PG, params);
    const next = row!.last_id === null ? after : { workflowID: row!.last_id, functionID: Number(row!.last_function_id) };
    return { moved: row!.moved, next };
  }
  const rows = await q.query<{ workflow_uuid: string; function_id: number }>(MOVE_STEPS_SQLITE, params);
  let next = after;
  for (const r of rows) {
    if (next === after || r.workflow_uuid > next.workflowID || (r.workflow_uuid === next.workflowID && r.function_id > next.functionID)) {
      next = { workflowID: r.workflow_uuid, functionID: Number(r.function_id) };
    }
  }
  return { moved: rows.length, next };
}
