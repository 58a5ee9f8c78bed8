// The operation_outputs family: step checkpoints and reading them back.

import { sql, type Queryable, type SqlDriver } from './driver.js';
import { committerFor, GroupCommitter } from './group-commit.js';
import { toStepRow, type StepRow } from './rows.js';

export interface StepRecord {
  workflowID: string;
  ownerXid: string;
  functionID: number;
  functionName: string;
  output: string | null;
  error: string | null;
  childWorkflowID: string | null;
  startedAtEpochMs: number;
  completedAtEpochMs: number;
  serialization: string | null;
  applicationName: string | null;
}

// The ownership fence and the checkpoint in one statement. The owner check takes no row lock: a lock is a WAL
// record per step, and what it would close is only the instant between this statement's snapshot and its commit.
// A run that lost ownership before that instant (cancelled, timed out, paused past its lease) writes nothing; one
// that loses it within the instant may still record the step it had just finished, and the new owner, meeting that
// row when it records the same step, adopts it (see recordStep). Outcomes, by contrast, are fenced by an UPDATE,
// which re-checks the owner under the row lock it takes anyway.
const RECORD_STEP = sql(
  'transact_record_step',
  `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, child_workflow_id,
                                      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
   SELECT $1::text, $3::int, $4::text, $5::text, $6::text, $7::text, $8::bigint, $9::bigint, $10::text, $11::text
    WHERE EXISTS (SELECT 1 FROM dbos.workflow_status WHERE workflow_uuid = $1::text AND owner_xid = $2::text)
   ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   RETURNING function_id`,
  `INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, error, child_workflow_id,
                                 started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
   SELECT $1, $3, $4, $5, $6, $7, $8, $9, $10, $11
    WHERE EXISTS (SELECT 1 FROM workflow_status WHERE workflow_uuid = $1 AND owner_xid = $2)
   ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   RETURNING function_id`,
);

const GET_STEP = sql(
  'transact_get_step',
  `SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms,
          serialization
     FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id = $2`,
);

export type RecordStepResult =
  | { kind: 'recorded' }
  /** Another execution recorded this function ID first; its row is returned so the caller can adopt it. */
  | { kind: 'conflict'; existing: StepRow }
  | { kind: 'not-owner' };

// Many concurrent checkpoints in one statement: each row is still fenced by its own run's token; the rows returned
// are the ones written, and the others go through the slow path one by one.
const RECORD_STEPS_BATCH_PG = sql(
  'transact_record_steps_batch',
  `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, child_workflow_id,
                                      started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
   SELECT u.wf, u.fid, u.name, u.output, u.error, u.child, u.started, u.completed, u.ser, u.app
     FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                 $9::bigint[], $10::text[], $11::text[])
          AS u(wf, owner, fid, name, output, error, child, started, completed, ser, app)
    WHERE EXISTS (SELECT 1 FROM dbos.workflow_status ws WHERE ws.workflow_uuid = u.wf AND ws.owner_xid = u.owner)
   ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   RETURNING workflow_uuid, function_id`,
);

function recordParams(r: StepRecord): unknown[] {
  return [
    r.workflowID,
    r.ownerXid,
    r.functionID,
    r.functionName,
    r.output,
    r.error,
    r.childWorkflowID,
    r.startedAtEpochMs,
    r.completedAtEpochMs,
    r.serialization,
    r.applicationName,
  ];
}

/** Writes a batch of checkpoints in one round trip; returns, per record, whether it was written. */
async function writeSteps(db: SqlDriver, records: StepRecord[]): Promise<boolean[]> {
  if (records.length === 1) return [(await db.query(RECORD_STEP, recordParams(records[0]!))).length > 0];
  if (db.dialect === 'sqlite') {
    return db.transaction(async (tx) => {
      const written: boolean[] = [];
      for (const r of records) written.push((await tx.query(RECORD_STEP, recordParams(r))).length > 0);
      return written;
    });
  }
  const columns = records.map(recordParams);
  const rows = await db.query<{ workflow_uuid: string; function_id: number }>(
    RECORD_STEPS_BATCH_PG,
    columns[0]!.map((_, c) => columns.map((row) => row[c])),
  );
  const written = new Set(rows.map((r) => `${r.workflow_uuid}\u0000${r.function_id}`));
  return records.map((r) => written.has(`${r.workflowID}\u0000${r.functionID}`));
}

const stepCommitters = new WeakMap<object, GroupCommitter<StepRecord, boolean>>();

/** Writes a step checkpoint (one round trip, shared with concurrent checkpoints), fenced by the run's token. */
export async function recordStep(db: SqlDriver, r: StepRecord): Promise<RecordStepResult> {
  const committer = committerFor(stepCommitters, db, () => {
    const write = (records: StepRecord[]) => writeSteps(db, records);
    return new GroupCommitter(write, Math.max(1, Math.floor(db.maxConnections / 2)), 500, 'checkpoint');
  });
  if (await committer.submit(r)) return { kind: 'recorded' };
  // The slow path: find out why nothing was written.
  const existing = await getStep(db, r.workflowID, r.functionID);
  if (existing) {
    // A retried statement whose first reply was lost finds its own row: same name and completion time.
    if (existing.name === r.functionName && existing.completedAtEpochMs === r.completedAtEpochMs) return { kind: 'recorded' };
    // Only the owner adopts another execution's row; a run that lost ownership (the row is its successor's) must
    // stop here, not carry on into the steps after it.
    if (!(await ownsWorkflow(db, r.workflowID, r.ownerXid))) return { kind: 'not-owner' };
    return { kind: 'conflict', existing };
  }
  return { kind: 'not-owner' };
}

const OWNS = sql('transact_owns_workflow', 'SELECT 1 AS owned FROM dbos.workflow_status WHERE workflow_uuid = $1 AND owner_xid = $2');

async function ownsWorkflow(db: Queryable, workflowID: string, ownerXid: string): Promise<boolean> {
  return (await db.query(OWNS, [workflowID, ownerXid])).length > 0;
}

export async function getStep(db: Queryable, workflowID: string, functionID: number): Promise<StepRow | undefined> {
  const rows = await db.query(GET_STEP, [workflowID, functionID]);
  return rows[0] ? toStepRow(rows[0]) : undefined;
}

const LIST_STEPS = sql(
  'transact_list_steps',
  `SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms,
          serialization
     FROM dbos.operation_outputs WHERE workflow_uuid = $1 ORDER BY function_id LIMIT $2::bigint OFFSET COALESCE($3::bigint, 0)`,
  `SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms,
          serialization
     FROM operation_outputs WHERE workflow_uuid = $1 ORDER BY function_id LIMIT COALESCE($2, -1) OFFSET COALESCE($3, 0)`,
);

/** A workflow's steps in function-ID order; `limit` and `offset` page through them (no limit: all). */
export async function listSteps(db: Queryable, workflowID: string, page: { limit?: number; offset?: number } = {}): Promise<StepRow[]> {
  return (await db.query(LIST_STEPS, [workflowID, page.limit ?? null, page.offset ?? null])).map(toStepRow);
}
