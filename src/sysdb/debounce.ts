// Debounced workflows (dbos-spec §3.8): a DELAYED row with `is_debounced` set, holding the deduplication ID its key
// maps to on its queue. A debounce call either extends that row (its start moves to now + period, capped at its
// `debounce_deadline_epoch_ms`, and its inputs become this call's) or, when no row holds the key, inserts a new one.
// The DELAYED -> ENQUEUED promotion (src/sysdb/queues.ts) clears the dedup ID of debounced rows, so from then on the
// key is free and the next call starts a new workflow.
//
// Races between processes are settled by the database, never by reading and then writing:
//   - the extension is one UPDATE whose WHERE names the state it needs (DELAYED, debounced, same workflow, an
//     application it may act for). PostgreSQL re-checks that WHERE on the newest row version after waiting for a
//     concurrent writer's lock, so an extension and a promotion are ordered: a row promoted first is not extended,
//     and a row extended first is promoted only when its new delay has passed;
//   - the insert relies on the unique dedup index and does nothing on a conflict (no error, so it can run inside a
//     transaction); PostgreSQL waits for a concurrent inserter of the same key and then sees its row;
//   - after an insert that found the key taken, the next extension (a new statement, so a new snapshot) finds the
//     row that won, and extends it.
// Times are on the database clock, which is also the promotion's clock.
//
// Inside a workflow the whole call and its step row (`DBOS.debounceDelayedWorkflow`, output the workflow ID) are one
// transaction fenced by the run's ownership token: a replay, or a run that lost its workflow, changes nothing.

import { DBOSError } from '../errors.js';
import { sql, type Queryable, type SqlDriver } from './driver.js';
import {
  FENCE_RESULT_PG,
  fencedResult,
  OWNER_CTE_PG,
  PORTABLE_JSON,
  recordOperationStepSqlite,
  stepParams,
  type FencedResult,
  type OperationStep,
} from './operations.js';

/** What a debounce call would insert, and what it changes when it extends an existing row instead. */
export interface DebouncedWorkflow {
  /** The ID a new row gets (a row that is extended keeps its own). */
  workflowID: string;
  name: string;
  /** NULL for a free function (DBOS stores '' as NULL). */
  className: string | null;
  queueName: string;
  deduplicationID: string;
  /** The start is this long after the call (database clock)... */
  periodMs: number;
  /** ...but never later than this long after the first call of the row, when set. */
  debounceTimeoutMs: number | null;
  inputs: string;
  serialization: string;
  /**
   * The application the call acts for: it may extend rows of that application and unclaimed ones (claiming those),
   * and a new row is owned by it. NULL (a client that names none): any row, and a new row is unclaimed.
   */
  applicationName: string | null;
  executorID: string;
  applicationVersion: string | null;
  applicationID: string | null;
  timeoutMS: number | null;
  priority: number;
  queuePartitionKey: string | null;
  authenticatedUser: string | null;
  /** JSON array text. */
  authenticatedRoles: string | null;
  /** JSON object text. */
  attributes: string | null;
}

/** The active workflow that holds a debounce key and may not be extended by this call. */
export interface DebounceHolder {
  workflowID: string;
  status: string;
  name: string;
  className: string | null;
  applicationName: string | null;
  isDebounced: boolean;
}

export type DebounceOutcome =
  /** A DELAYED debounced row held the key: its start moved and its inputs are this call's. */
  | { kind: 'extended'; workflowID: string }
  /** No row held the key: a new DELAYED debounced row was inserted. */
  | { kind: 'created'; workflowID: string }
  /** The requested workflow ID already names this workflow (no longer DELAYED): the call attaches to it. */
  | { kind: 'exists'; workflowID: string }
  /** The requested workflow ID names a different workflow. */
  | { kind: 'id-conflict'; workflowID: string; name: string; className: string | null }
  /** The key is held by a workflow this call may not extend (not debounced, another workflow or application). */
  | { kind: 'held'; holder: DebounceHolder }
  /** Inside a workflow: nothing was written, because the run lost its workflow or the step was recorded already. */
  | { kind: 'fenced'; result: Exclude<FencedResult, 'recorded'> };

/** The step a debounce inside a workflow records, in the same transaction as the debounce. */
export type DebounceStep = OperationStep;

// ------------------------------------------------------------------------------------------------ extend

// $1 queue, $2 dedup ID, $3 name, $4 class, $5 period, $6 application, $7 inputs, $8 serialization.
const EXTENDABLE_PG = `queue_name = $1::text AND deduplication_id = $2::text AND status = 'DELAYED' AND is_debounced
        AND name = $3::text AND class_name IS NOT DISTINCT FROM $4::text
        AND ($6::text IS NULL OR application_name = $6::text OR application_name IS NULL)`;
const EXTENDABLE_SQLITE = `queue_name = $1 AND deduplication_id = $2 AND status = 'DELAYED' AND is_debounced
      AND name = $3 AND class_name IS $4
      AND ($6 IS NULL OR application_name = $6 OR application_name IS NULL)`;

const HOLDER_COLUMNS = `h.workflow_uuid AS holder_id, h.status AS holder_status, h.name AS holder_name,
       h.class_name AS holder_class, h.application_name AS holder_app, h.is_debounced AS holder_debounced`;

// One statement: the extension, the new inputs, and (when nothing was extended) who holds the key, as of the
// statement's snapshot; a holder that looks extendable there was changed meanwhile, and the caller tries again.
const EXTEND_PG = sql(
  'transact_debounce_extend',
  `WITH bounced AS (
     UPDATE dbos.workflow_status
        SET delay_until_epoch_ms = LEAST(NOWMS + $5::bigint, COALESCE(debounce_deadline_epoch_ms, NOWMS + $5::bigint)),
            application_name = COALESCE(application_name, $6::text), serialization = $8::text, updated_at = NOWMS
      WHERE ${EXTENDABLE_PG}
      RETURNING workflow_uuid
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT workflow_uuid, $7::text FROM bounced
     ON CONFLICT (workflow_uuid) DO UPDATE SET inputs = EXCLUDED.inputs
   )
   SELECT b.workflow_uuid AS bounced_id, ${HOLDER_COLUMNS}
     FROM (SELECT 1) one
     LEFT JOIN bounced b ON true
     LEFT JOIN dbos.workflow_status h
       ON b.workflow_uuid IS NULL AND h.queue_name = $1::text AND h.deduplication_id = $2::text`,
);

const EXTEND_SQLITE = sql(
  'transact_debounce_extend',
  '',
  `UPDATE workflow_status
      SET delay_until_epoch_ms = min(NOWMS + $5, COALESCE(debounce_deadline_epoch_ms, NOWMS + $5)),
          application_name = COALESCE(application_name, $6), serialization = $8, updated_at = NOWMS
    WHERE ${EXTENDABLE_SQLITE}
    RETURNING workflow_uuid AS bounced_id`,
);
const UPSERT_INPUT_SQLITE = sql(
  'transact_debounce_input',
  '',
  `INSERT INTO workflow_input (workflow_uuid, inputs) VALUES ($1, $2)
   ON CONFLICT (workflow_uuid) DO UPDATE SET inputs = excluded.inputs`,
);
const HOLDER_SQLITE = sql(
  'transact_debounce_holder',
  '',
  `SELECT ${HOLDER_COLUMNS} FROM workflow_status h WHERE h.queue_name = $1 AND h.deduplication_id = $2`,
);

function extendParams(w: DebouncedWorkflow): unknown[] {
  return [w.queueName, w.deduplicationID, w.name, w.className, w.periodMs, w.applicationName, w.inputs, w.serialization];
}

type Extension = { bounced: string } | { bounced: null; holder: DebounceHolder | null };

function toHolder(r: Record<string, unknown> | undefined): DebounceHolder | null {
  if (!r || r.holder_id === null || r.holder_id === undefined) return null;
  return {
    workflowID: r.holder_id as string,
    status: r.holder_status as string,
    name: r.holder_name as string,
    className: (r.holder_class as string | null) ?? null,
    applicationName: (r.holder_app as string | null) ?? null,
    isDebounced: Boolean(r.holder_debounced),
  };
}

/** One extension attempt. SQLite: `q` must be inside a transaction (the row and its input are two statements). */
async function extend(q: Queryable, w: DebouncedWorkflow): Promise<Extension> {
  if (q.dialect === 'postgres') {
    const [row] = await q.query<Record<string, unknown>>(EXTEND_PG, extendParams(w));
    if (row?.bounced_id) return { bounced: row.bounced_id as string };
    return { bounced: null, holder: toHolder(row) };
  }
  const [bounced] = await q.query<{ bounced_id: string }>(EXTEND_SQLITE, extendParams(w));
  if (bounced) {
    await q.query(UPSERT_INPUT_SQLITE, [bounced.bounced_id, w.inputs]);
    return { bounced: bounced.bounced_id };
  }
  const [holder] = await q.query<Record<string, unknown>>(HOLDER_SQLITE, [w.queueName, w.deduplicationID]);
  return { bounced: null, holder: toHolder(holder) };
}

/** Whether this call could extend the holder: then it was changed between our statements, and we try again. */
function extendable(h: DebounceHolder, w: DebouncedWorkflow): boolean {
  return (
    h.isDebounced &&
    h.status === 'DELAYED' &&
    h.name === w.name &&
    h.className === w.className &&
    (w.applicationName === null || h.applicationName === null || h.applicationName === w.applicationName)
  );
}

// ------------------------------------------------------------------------------------------------ insert

const INSERT_COLUMNS = `workflow_uuid, status, name, class_name, queue_name, executor_id, application_version,
  application_id, application_name, recovery_attempts, creator_xid, workflow_timeout_ms, deduplication_id, priority,
  queue_partition_key, serialization, delay_until_epoch_ms, debounce_deadline_epoch_ms, is_debounced,
  authenticated_user, authenticated_roles, attributes, created_at, updated_at`;

// ON CONFLICT DO NOTHING without a target covers both the workflow ID and the dedup index: the caller tells which
// from what the next extension finds.
const INSERT_PG = sql(
  'transact_debounce_insert',
  `WITH ins AS (
     INSERT INTO dbos.workflow_status (${INSERT_COLUMNS})
     SELECT $1::text, 'DELAYED', $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, 0, $1::text,
            $9::bigint, $10::text, $11::int, $12::text, $13::text,
            clock.now_ms + LEAST($14::bigint, COALESCE($15::bigint, $14::bigint)), clock.now_ms + $15::bigint, true,
            $16::text, $17::text, $18::jsonb, clock.now_ms, clock.now_ms
       FROM (SELECT NOWMS AS now_ms) clock
     ON CONFLICT DO NOTHING
     RETURNING workflow_uuid
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT workflow_uuid, $19::text FROM ins
     ON CONFLICT (workflow_uuid) DO NOTHING
   )
   SELECT workflow_uuid FROM ins`,
);

// `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint of the FROM clause (its documented upsert
// ambiguity).
const INSERT_SQLITE = sql(
  'transact_debounce_insert',
  '',
  `INSERT INTO workflow_status (${INSERT_COLUMNS})
   SELECT $1, 'DELAYED', $2, $3, $4, $5, $6, $7, $8, 0, $1, $9, $10, $11, $12, $13,
          clock.now_ms + min($14, COALESCE($15, $14)), clock.now_ms + $15, 1, $16, $17, $18, clock.now_ms, clock.now_ms
     FROM (SELECT NOWMS AS now_ms) clock
    WHERE true
   ON CONFLICT DO NOTHING
   RETURNING workflow_uuid`,
);
const INSERT_INPUT_SQLITE = sql(
  'transact_debounce_insert_input',
  '',
  'INSERT INTO workflow_input (workflow_uuid, inputs) VALUES ($1, $2) ON CONFLICT (workflow_uuid) DO NOTHING',
);

function insertParams(w: DebouncedWorkflow): unknown[] {
  return [
    w.workflowID,
    w.name,
    w.className,
    w.queueName,
    w.executorID,
    w.applicationVersion,
    w.applicationID,
    w.applicationName,
    w.timeoutMS,
    w.deduplicationID,
    w.priority,
    w.queuePartitionKey,
    w.serialization,
    w.periodMs,
    w.debounceTimeoutMs,
    w.authenticatedUser,
    w.authenticatedRoles,
    w.attributes,
    w.inputs,
  ];
}

/** One insert attempt: true if the row was inserted. SQLite: `q` must be inside a transaction. */
async function insert(q: Queryable, w: DebouncedWorkflow): Promise<boolean> {
  if (q.dialect === 'postgres') return (await q.query(INSERT_PG, insertParams(w))).length > 0;
  const rows = await q.query(INSERT_SQLITE, insertParams(w));
  if (rows.length === 0) return false;
  await q.query(INSERT_INPUT_SQLITE, [w.workflowID, w.inputs]);
  return true;
}

const WORKFLOW_NAMED = sql(
  'transact_debounce_workflow_named',
  'SELECT name, class_name FROM dbos.workflow_status WHERE workflow_uuid = $1',
);

// ------------------------------------------------------------------------------------------------ the call

/** Extending and inserting race only with other writers of the same key; each lost race means one of them won. */
const MAX_ATTEMPTS = 50;

async function settle(q: Queryable, w: DebouncedWorkflow): Promise<Exclude<DebounceOutcome, { kind: 'fenced' }>> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const extension = await extend(q, w);
    if (extension.bounced !== null) return { kind: 'extended', workflowID: extension.bounced };
    const holder = extension.holder;
    if (holder && !extendable(holder, w)) return { kind: 'held', holder };
    if (!holder && (await insert(q, w))) return { kind: 'created', workflowID: w.workflowID };
    // The key was taken meanwhile (the next extension finds the row that won), or the workflow ID is.
    const [named] = await q.query<{ name: string; class_name: string | null }>(WORKFLOW_NAMED, [w.workflowID]);
    if (named) {
      const className = named.class_name ?? null;
      if (named.name === w.name && className === w.className) return { kind: 'exists', workflowID: w.workflowID };
      return { kind: 'id-conflict', workflowID: w.workflowID, name: named.name, className };
    }
  }
  throw new DBOSError(
    `Could not debounce workflow ${w.name} on key ${w.deduplicationID}: it changed under ${MAX_ATTEMPTS} attempts in a row`,
  );
}

const RECORD_STEP_PG = sql(
  'transact_debounce_step',
  `WITH ${OWNER_CTE_PG}, step AS (
     INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, started_at_epoch_ms,
                                         completed_at_epoch_ms, serialization, application_name)
     SELECT $1::text, $3::int, $4::text, $8::text, NULL, $5::bigint, $6::bigint, '${PORTABLE_JSON}', $7::text FROM owner
     ON CONFLICT (workflow_uuid, function_id) DO NOTHING
     RETURNING function_id
   )
   SELECT ${FENCE_RESULT_PG}`,
);

async function recordStep(tx: Queryable, step: DebounceStep, workflowID: string): Promise<FencedResult> {
  const output = JSON.stringify(workflowID);
  if (tx.dialect === 'postgres') {
    const [row] = await tx.query<{ owned: number; recorded: number }>(RECORD_STEP_PG, [...stepParams(step), output]);
    return fencedResult(row);
  }
  return recordOperationStepSqlite(tx, step, { text: output, serialization: PORTABLE_JSON });
}

class StepNotRecorded extends Error {
  constructor(readonly result: Exclude<FencedResult, 'recorded'>) {
    super('the debounce step was not recorded');
  }
}

/**
 * A debounce call: extends the DELAYED debounced row that holds the key, or inserts one. With `step` (a call from
 * workflow code) the call and its step row, whose output is the workflow ID as portable JSON, commit together or not
 * at all. Without it, on PostgreSQL every statement is atomic on its own and needs no transaction around it.
 */
export async function debounceWorkflowRow(db: SqlDriver, w: DebouncedWorkflow, step?: DebounceStep): Promise<DebounceOutcome> {
  if (!step && db.dialect === 'postgres') return settle(db, w);
  try {
    return await db.transaction(async (tx) => {
      const outcome = await settle(tx, w);
      if (!step || (outcome.kind !== 'extended' && outcome.kind !== 'created' && outcome.kind !== 'exists')) return outcome;
      const fenced = await recordStep(tx, step, outcome.workflowID);
      if (fenced !== 'recorded') throw new StepNotRecorded(fenced); // rolls the debounce back
      return outcome;
    });
  } catch (err) {
    if (err instanceof StepNotRecorded) return { kind: 'fenced', result: err.result };
    throw err;
  }
}
