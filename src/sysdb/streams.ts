// The streams family: ordered values a workflow (or one of its steps) appends under a key, read by offset. A value
// goes at the first free offset of its stream; `function_id` says which operation or step wrote it.

import { sql, type SqlDriver } from './driver.js';
import {
  FENCE_RESULT_PG,
  fencedResult,
  ownsWorkflowSqlite,
  OWNER_CTE_PG,
  recordOperationStepSqlite,
  STEP_CTE_PG,
  stepParams,
  type FencedResult,
  type OperationStep,
} from './operations.js';

/** Carries `<workflowID>::<key>` when a stream value is written, so readers in every process look again. */
export const STREAMS_CHANNEL = 'dbos_streams_channel';

export interface StreamValue {
  value: string;
  serialization: string | null;
}

/** The first free offset of the stream (its primary key makes the max an index lookup). */
function nextOffsetPg(keyParam: string): string {
  return `COALESCE((SELECT max(s."offset") FROM dbos.streams s WHERE s.workflow_uuid = $1::text AND s.key = ${keyParam}::text), -1) + 1`;
}

// The value and the step row (`DBOS.writeStream` or `DBOS.closeStream`) in one statement, notified at commit.
const WRITE_FROM_WORKFLOW_PG = sql(
  'transact_write_stream',
  `WITH ${OWNER_CTE_PG}, ${STEP_CTE_PG}, ins AS (
     INSERT INTO dbos.streams (workflow_uuid, key, value, "offset", function_id, serialization)
     SELECT $1::text, $8::text, $9::text, ${nextOffsetPg('$8')}, $3::int, $10::text FROM step
     RETURNING "offset"
   )
   SELECT ${FENCE_RESULT_PG},
          CASE WHEN EXISTS (SELECT 1 FROM ins) THEN pg_notify('${STREAMS_CHANNEL}', $1::text || '::' || $8::text) END AS notified`,
);

// From a step: no step row of its own (the step records its outcome), only the owner fence.
const WRITE_FROM_STEP_PG = sql(
  'transact_write_stream_from_step',
  `WITH ${OWNER_CTE_PG}, ins AS (
     INSERT INTO dbos.streams (workflow_uuid, key, value, "offset", function_id, serialization)
     SELECT $1::text, $4::text, $5::text, ${nextOffsetPg('$4')}, $3::int, $6::text FROM owner
     RETURNING "offset"
   )
   SELECT (SELECT count(*) FROM owner)::int AS owned,
          CASE WHEN EXISTS (SELECT 1 FROM ins) THEN pg_notify('${STREAMS_CHANNEL}', $1::text || '::' || $4::text) END AS notified`,
);

const INSERT_STREAM_VALUE_SQLITE = sql(
  'transact_insert_stream_value',
  '',
  `INSERT INTO streams (workflow_uuid, key, value, "offset", function_id, serialization)
   SELECT $1, $2, $3, COALESCE(max("offset"), -1) + 1, $4, $5 FROM streams WHERE workflow_uuid = $1 AND key = $2`,
);

// Two writers of one workflow's stream at once (a step and its workflow, or concurrent writes) may compute the same
// offset from their snapshots; the loser's whole statement rolls back and is simply run again.
async function retryOffsetConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if ((code !== '23505' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}

/** Appends a value as the step `DBOS.writeStream` (or `DBOS.closeStream`) of the writing workflow. */
export async function writeStreamFromWorkflow(db: SqlDriver, step: OperationStep, key: string, v: StreamValue): Promise<FencedResult> {
  return retryOffsetConflicts(async () => {
    if (db.dialect === 'postgres') {
      const rows = await db.query(WRITE_FROM_WORKFLOW_PG, [...stepParams(step), key, v.value, v.serialization]);
      return fencedResult(rows[0]);
    }
    return db.transaction(async (tx) => {
      const result = await recordOperationStepSqlite(tx, step);
      if (result === 'recorded') {
        await tx.query(INSERT_STREAM_VALUE_SQLITE, [step.workflowID, key, v.value, step.functionID, v.serialization]);
      }
      return result;
    });
  });
}

/**
 * Appends a value from inside a step (function ID `stepID`), fenced by ownership. Returns false when the run no
 * longer owns the workflow (nothing was written).
 */
export async function writeStreamFromStep(
  db: SqlDriver,
  workflowID: string,
  ownerXid: string,
  stepID: number,
  key: string,
  v: StreamValue,
): Promise<boolean> {
  return retryOffsetConflicts(async () => {
    if (db.dialect === 'postgres') {
      const rows = await db.query<{ owned: number }>(WRITE_FROM_STEP_PG, [workflowID, ownerXid, stepID, key, v.value, v.serialization]);
      return Number(rows[0]?.owned) > 0;
    }
    return db.transaction(async (tx) => {
      if (!(await ownsWorkflowSqlite(tx, workflowID, ownerXid))) return false;
      await tx.query(INSERT_STREAM_VALUE_SQLITE, [workflowID, key, v.value, stepID, v.serialization]);
      return true;
    });
  });
}

const COUNT_STEP_WRITES = sql(
  'transact_count_step_stream_writes',
  'SELECT count(*) AS n FROM dbos.streams WHERE workflow_uuid = $1 AND key = $2 AND function_id = $3',
);

/** How many values the step at `stepID` has written to the stream already (by earlier attempts or executions). */
export async function countStepStreamWrites(db: SqlDriver, workflowID: string, key: string, stepID: number): Promise<number> {
  const rows = await db.query<{ n: number | string }>(COUNT_STEP_WRITES, [workflowID, key, stepID]);
  return Number(rows[0]?.n ?? 0);
}

export interface StreamRead {
  /** The writer's status; null when no such workflow exists. */
  status: string | null;
  /** The value at the offset; undefined when nothing is there (yet). */
  value?: StreamValue;
}

// The value and the writer's status in one round trip (and one snapshot): an empty offset with the writer no longer
// active is the end of the stream.
const READ_STREAM_VALUE = sql(
  'transact_read_stream',
  `SELECT ws.status, s.value, s.serialization, s."offset" AS found_offset
     FROM dbos.workflow_status ws
     LEFT JOIN dbos.streams s ON s.workflow_uuid = ws.workflow_uuid AND s.key = $2 AND s."offset" = $3
    WHERE ws.workflow_uuid = $1`,
);

export async function readStreamValue(db: SqlDriver, workflowID: string, key: string, offset: number): Promise<StreamRead> {
  const rows = await db.query<{ status: string; value: string | null; serialization: string | null; found_offset: number | null }>(
    READ_STREAM_VALUE,
    [workflowID, key, offset],
  );
  const row = rows[0];
  if (!row) return { status: null };
  if (row.found_offset === null || row.found_offset === undefined) return { status: row.status };
  return { status: row.status, value: { value: row.value!, serialization: row.serialization ?? null } };
}
