// What the messages, events and streams families share: an operation made from a workflow writes its data and its
// step row (operation_outputs) together, fenced by the run's ownership token, so a replay never repeats it and a run
// that lost its workflow writes nothing.
//
// On PostgreSQL each operation is one statement built from the CTEs below. The owner row is locked (FOR NO KEY
// UPDATE, which a foreign-key check's KEY SHARE does not conflict with), so a cancel or a takeover either happens
// before the operation (which then writes nothing) or waits for it to commit. The operation's own writes select FROM
// the step CTE's RETURNING, so they happen exactly when the step row was inserted: an execution that finds the
// function ID already recorded writes nothing and adopts the recorded step. On SQLite the same is a transaction.

import { sql, type Queryable } from './driver.js';

/** The format of the rows' own markers (NULL outputs, the stream close sentinel): plain JSON (dbos-spec §3.3). */
export const PORTABLE_JSON = 'portable_json';

/** The step row an operation records. Parameters $1-$7 of every fenced statement, in this order. */
export interface OperationStep {
  workflowID: string;
  ownerXid: string;
  functionID: number;
  functionName: string;
  startedAtEpochMs: number;
  completedAtEpochMs: number;
  applicationName: string | null;
}

export function stepParams(s: OperationStep): unknown[] {
  return [s.workflowID, s.ownerXid, s.functionID, s.functionName, s.startedAtEpochMs, s.completedAtEpochMs, s.applicationName];
}

/** The owner row, locked for the statement; empty when this run no longer owns the workflow. */
export const OWNER_CTE_PG = `owner AS (
     SELECT 1 FROM dbos.workflow_status WHERE workflow_uuid = $1::text AND owner_xid = $2::text FOR NO KEY UPDATE
   )`;

/** The step row of an operation with no output (send, setEvent, writeStream, closeStream: dbos-spec §3.3). */
export const STEP_CTE_PG = `step AS (
     INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, started_at_epoch_ms,
                                         completed_at_epoch_ms, serialization, application_name)
     SELECT $1::text, $3::int, $4::text, NULL, NULL, $5::bigint, $6::bigint, '${PORTABLE_JSON}', $7::text FROM owner
     ON CONFLICT (workflow_uuid, function_id) DO NOTHING
     RETURNING function_id
   )`;

export const FENCE_RESULT_PG = `(SELECT count(*) FROM owner)::int AS owned, (SELECT count(*) FROM step)::int AS recorded`;

/**
 * How a fenced operation ended: written (with its step row); or nothing written because another execution recorded
 * this function ID first (the caller adopts that step), or because this run no longer owns the workflow.
 */
export type FencedResult = 'recorded' | 'conflict' | 'not-owner';

export function fencedResult(row: { owned?: unknown; recorded?: unknown } | undefined): FencedResult {
  if (!row || Number(row.owned) === 0) return 'not-owner';
  return Number(row.recorded) > 0 ? 'recorded' : 'conflict';
}

const OWNED_SQLITE = sql(
  'transact_owned',
  '',
  'SELECT 1 AS owned FROM workflow_status WHERE workflow_uuid = $1 AND owner_xid = $2',
);

const INSERT_STEP_SQLITE = sql(
  'transact_insert_operation_step',
  '',
  `INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, error, started_at_epoch_ms,
                                 completed_at_epoch_ms, serialization, application_name)
   VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8)
   ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   RETURNING function_id`,
);

/** SQLite, inside a transaction: is the run still the owner? (One writer at a time makes the check atomic.) */
export async function ownsWorkflowSqlite(tx: Queryable, workflowID: string, ownerXid: string): Promise<boolean> {
  return (await tx.query(OWNED_SQLITE, [workflowID, ownerXid])).length > 0;
}

/** SQLite, inside a transaction: the owner check and the step row; the caller writes its data only on 'recorded'. */
export async function recordOperationStepSqlite(
  tx: Queryable,
  s: OperationStep,
  output: { text: string | null; serialization: string | null } = { text: null, serialization: PORTABLE_JSON },
): Promise<FencedResult> {
  if (!(await ownsWorkflowSqlite(tx, s.workflowID, s.ownerXid))) return 'not-owner';
  const rows = await tx.query(INSERT_STEP_SQLITE, [
    s.workflowID,
    s.functionID,
    s.functionName,
    output.text,
    s.startedAtEpochMs,
    s.completedAtEpochMs,
    output.serialization,
    s.applicationName,
  ]);
  return rows.length > 0 ? 'recorded' : 'conflict';
}

/** A foreign-key violation: the workflow a row points at does not exist. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
