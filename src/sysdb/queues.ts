// Claiming queued workflows: ENQUEUED rows become PENDING with this executor's ownership token, in one round trip
// that also returns what the executor needs to run them (inputs, and any steps already recorded for a replay).

import { sql, type SqlDriver } from './driver.js';
import { toStepRow, toWorkflowRow, type StepRow, type WorkflowRow } from './rows.js';

export interface ClaimRequest {
  queueName: string;
  executorID: string;
  applicationVersion: string;
  /** Rows enqueued without a version (by a client) are taken only by the latest version (dbos-spec §3.5). */
  takeUnversioned: boolean;
  applicationName: string;
  limit: number;
  ownerXid: string;
  rateLimited: boolean;
}

export interface ClaimedWorkflow {
  row: WorkflowRow;
  steps: StepRow[];
}

const CLAIM_PG = sql(
  'transact_claim',
  `WITH picked AS (
     SELECT workflow_uuid FROM dbos.workflow_status
      WHERE status = 'ENQUEUED' AND queue_name = $1::text
        AND (application_version = $2::text OR ($3::boolean AND application_version IS NULL))
        AND (application_name = $4::text OR application_name IS NULL)
      ORDER BY priority, created_at
      LIMIT $5::int
      FOR UPDATE SKIP LOCKED
   ), claimed AS (
     UPDATE dbos.workflow_status ws
        SET status = 'PENDING', owner_xid = $6::text, executor_id = $7::text, application_version = $2::text,
            application_name = COALESCE(ws.application_name, $4::text), started_at_epoch_ms = NOWMS,
            updated_at = NOWMS, recovery_attempts = ws.recovery_attempts + 1, rate_limited = $8::boolean,
            workflow_deadline_epoch_ms = COALESCE(ws.workflow_deadline_epoch_ms, NOWMS + ws.workflow_timeout_ms)
       FROM picked
      WHERE ws.workflow_uuid = picked.workflow_uuid
      RETURNING ws.*
   )
   SELECT c.*, COALESCE(wi.inputs, c.inputs) AS inputs,
          (SELECT json_agg(json_build_object(
                    'function_id', o.function_id, 'function_name', o.function_name, 'output', o.output,
                    'error', o.error, 'child_workflow_id', o.child_workflow_id, 'serialization', o.serialization,
                    'started_at_epoch_ms', o.started_at_epoch_ms, 'completed_at_epoch_ms', o.completed_at_epoch_ms)
                  ORDER BY o.function_id)
             FROM dbos.operation_outputs o WHERE o.workflow_uuid = c.workflow_uuid) AS steps
     FROM claimed c LEFT JOIN dbos.workflow_input wi ON wi.workflow_uuid = c.workflow_uuid
    ORDER BY c.priority, c.created_at`,
);

// SQLite has one writer at a time, so the select and the update need no row locks.
const CLAIM_SQLITE = sql(
  'transact_claim',
  '',
  `UPDATE workflow_status
      SET status = 'PENDING', owner_xid = $6, executor_id = $7, application_version = $2,
          application_name = COALESCE(application_name, $4), started_at_epoch_ms = NOWMS, updated_at = NOWMS,
          recovery_attempts = recovery_attempts + 1, rate_limited = $8,
          workflow_deadline_epoch_ms = COALESCE(workflow_deadline_epoch_ms, NOWMS + workflow_timeout_ms)
    WHERE workflow_uuid IN (
      SELECT workflow_uuid FROM workflow_status
       WHERE status = 'ENQUEUED' AND queue_name = $1
         AND (application_version = $2 OR ($3 AND application_version IS NULL))
         AND (application_name = $4 OR application_name IS NULL)
       ORDER BY priority, created_at
       LIMIT $5)
    RETURNING *`,
);

const CLAIMED_DETAILS_SQLITE = sql(
  'transact_claimed_details',
  '',
  `SELECT ws.workflow_uuid, COALESCE(wi.inputs, ws.inputs) AS inputs,
          (SELECT json_group_array(json_object(
                    'function_id', o.function_id, 'function_name', o.function_name, 'output', o.output,
                    'error', o.error, 'child_workflow_id', o.child_workflow_id, 'serialization', o.serialization,
                    'started_at_epoch_ms', o.started_at_epoch_ms, 'completed_at_epoch_ms', o.completed_at_epoch_ms))
             FROM (SELECT * FROM operation_outputs WHERE workflow_uuid = ws.workflow_uuid ORDER BY function_id) o) AS steps
     FROM workflow_status ws LEFT JOIN workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
    WHERE ws.workflow_uuid IN (SELECT value FROM json_each($1))`,
);

function claimParams(r: ClaimRequest): unknown[] {
  return [r.queueName, r.applicationVersion, r.takeUnversioned, r.applicationName, r.limit, r.ownerXid, r.executorID, r.rateLimited];
}

function toClaimed(raw: Record<string, unknown>): ClaimedWorkflow {
  const stepsRaw = raw.steps;
  const steps = (typeof stepsRaw === 'string' ? JSON.parse(stepsRaw) : (stepsRaw ?? [])) as Record<string, unknown>[];
  return { row: toWorkflowRow(raw), steps: steps.map(toStepRow) };
}

export async function claimQueuedWorkflows(db: SqlDriver, r: ClaimRequest): Promise<ClaimedWorkflow[]> {
  if (r.limit <= 0) return [];
  if (db.dialect === 'postgres') return (await db.query(CLAIM_PG, claimParams(r))).map(toClaimed);
  return db.transaction(async (tx) => {
    const claimed = await tx.query<Record<string, unknown>>(CLAIM_SQLITE, claimParams(r));
    if (claimed.length === 0) return [];
    const details = await tx.query<Record<string, unknown>>(CLAIMED_DETAILS_SQLITE, [claimed.map((c) => c.workflow_uuid)]);
    const byID = new Map(details.map((d) => [d.workflow_uuid as string, d]));
    return claimed
      .map((c) => toClaimed({ ...c, ...byID.get(c.workflow_uuid as string) }))
      .sort((a, b) => a.row.priority - b.row.priority || a.row.createdAt - b.row.createdAt);
  });
}
