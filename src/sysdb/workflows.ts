// The workflow_status family: starting a workflow, recording its outcome, reading its status, recovery,
// cancellation and deadlines. Each function is one statement or one transaction.

import { DBOSQueueDuplicatedError } from '../errors.js';
import { sql, type Queryable, type SqlDriver } from './driver.js';
import { committerFor, GroupCommitter } from './group-commit.js';
import { INTERNAL_QUEUE, toWorkflowRow, type WorkflowRow, type WorkflowStatusString } from './rows.js';

/** Carries a workflow ID when its outcome is recorded, so waiters in other processes wake at once. */
export const OUTCOME_CHANNEL = 'transact_workflow_outcome';
/** Carries a workflow ID when it is cancelled, so the process running it stops it at once. */
export const CANCEL_CHANNEL = 'transact_workflow_cancelled';

export interface NewWorkflow {
  workflowID: string;
  status: 'PENDING' | 'ENQUEUED' | 'DELAYED';
  name: string;
  className: string | null;
  configName: string | null;
  queueName: string | null;
  executorID: string;
  applicationVersion: string | null;
  applicationID: string | null;
  applicationName: string | null;
  /** The run's ownership token when the row is created PENDING (a direct start); NULL for queued rows. */
  ownerXid: string | null;
  /** A fresh token: the caller created the row exactly when the returned creator_xid equals it. */
  creatorXid: string;
  timeoutMS: number | null;
  deadlineEpochMS: number | null;
  deduplicationID: string | null;
  priority: number;
  queuePartitionKey: string | null;
  parentWorkflowID: string | null;
  serialization: string;
  delayUntilEpochMS: number | null;
  authenticatedUser: string | null;
  authenticatedRoles: string | null;
  assumedRole: string | null;
  attributes: string | null;
  /** The schedule that started it (`sched-<name>-…` workflows). */
  scheduleName?: string | null;
  inputs: string;
  /**
   * Overrides the creation time (default: the database clock). Queues run rows in creation order, so a receiver that
   * must keep its events in order gives each a strictly later time than the one before.
   */
  createdAtEpochMs?: number | null;
}

/** The step row a parent records for a child it starts, written in the same statement as the child's row. */
export interface ParentStep {
  workflowID: string;
  ownerXid: string;
  functionID: number;
  functionName: string;
  startedAtEpochMs: number;
  /**
   * The start is refused when the child's ID is taken (workflowIDReusePolicy 'reject'): the parent's step then
   * records the child only if this statement created it, and the caller records the refusal instead.
   */
  rejectExisting?: boolean;
}

export interface InsertResult {
  /** This call created the row; otherwise an existing workflow with this ID was found and nothing was written. */
  created: boolean;
  existing: WorkflowRow;
  /** Child starts only: false when the parent no longer owned its run, so nothing was written. */
  parentOwned: boolean;
}

/**
 * Carries a queue name when work is enqueued, so idle dispatchers in every process claim it at once. Sent after the
 * insert has committed, coalesced per queue (src/queues/announcer.ts), not by the insert itself: PostgreSQL serializes
 * the commits of transactions that NOTIFY (a global lock held through the commit's flush), which capped concurrent
 * enqueues at one commit at a time (measured: 10,000 queued workflows took 1.8x the plain-pg floor, 1.25x without).
 */
export const QUEUE_CHANNEL = 'transact_queue';
/** Carries a queue name when a queued workflow ends, so claimers waiting on a full global limit try at once. */
export const QUEUE_SLOT_CHANNEL = 'transact_queue_slot';
/** A DELAYED workflow was created or its delay changed: each process's promoter re-plans its next wake-up. */
export const DELAY_CHANGED_CHANNEL = 'transact_delay_changed';

const STATUS_COLUMNS = `workflow_uuid, status, name, class_name, config_name, queue_name, executor_id,
  application_version, application_id, application_name, recovery_attempts, owner_xid, creator_xid,
  workflow_timeout_ms, workflow_deadline_epoch_ms, deduplication_id, priority, queue_partition_key,
  parent_workflow_id, serialization, delay_until_epoch_ms, authenticated_user, authenticated_roles, assumed_role,
  attributes, schedule_name, created_at, updated_at`;

// Only what the caller needs to tell whether it created the row, and whether an existing row is the same workflow.
const RETURNED = `workflow_uuid, status, name, class_name, config_name, queue_name, creator_xid`;

// The ON CONFLICT branch changes nothing (creator_xid is set to itself); it exists so the existing row is
// returned, and the caller can tell from creator_xid whether it created the row (dbos-spec §3.2).
const PG_VALUES = `$1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text,
  $10::text, $11::bigint, $12::text, $13::text, $14::bigint, $15::bigint, $16::text, $17::int, $18::text,
  $19::text, $20::text, $21::bigint, $22::text, $23::text, $24::text, $25::jsonb, $26::text, COALESCE($28::bigint, NOWMS), NOWMS`;

const INSERT_WORKFLOW_PG = sql(
  'transact_insert_workflow',
  `WITH ins AS (
     INSERT INTO dbos.workflow_status AS ws (${STATUS_COLUMNS}) VALUES (${PG_VALUES})
     ON CONFLICT (workflow_uuid) DO UPDATE SET creator_xid = ws.creator_xid
     RETURNING ${RETURNED}
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT workflow_uuid, $27::text FROM ins WHERE creator_xid = $13::text
     ON CONFLICT (workflow_uuid) DO NOTHING
   )
   SELECT ins.* FROM ins`,
);

// A child's row, its input and the parent's step row in one statement, all conditional on the parent still owning
// its run (checked as for step checkpoints, see src/sysdb/steps.ts). The parent's step is recorded only if the row
// found is this child (same function), so a conflicting ID records nothing and the caller raises the error.
const INSERT_CHILD_WORKFLOW_PG = sql(
  'transact_insert_child_workflow',
  `WITH parent AS (
     SELECT 1 FROM dbos.workflow_status WHERE workflow_uuid = $29::text AND owner_xid = $30::text
   ), ins AS (
     INSERT INTO dbos.workflow_status AS ws (${STATUS_COLUMNS}) SELECT ${PG_VALUES} FROM parent
     ON CONFLICT (workflow_uuid) DO UPDATE SET creator_xid = ws.creator_xid
     RETURNING ${RETURNED}
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT workflow_uuid, $27::text FROM ins WHERE creator_xid = $13::text
     ON CONFLICT (workflow_uuid) DO NOTHING
   ), step AS (
     INSERT INTO dbos.operation_outputs
       (workflow_uuid, function_id, function_name, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, application_name)
     SELECT $29::text, $31::int, $32::text, ins.workflow_uuid, $33::bigint, NOWMS, $10::text FROM ins
     WHERE ins.name = $3::text AND ins.class_name IS NOT DISTINCT FROM $4::text AND ins.config_name IS NOT DISTINCT FROM $5::text
       AND (ins.creator_xid = $13::text OR NOT $34::boolean)
     ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   )
   SELECT ins.* FROM ins`,
);

const SQLITE_VALUES = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
  $21, $22, $23, $24, $25, $26, COALESCE($27, NOWMS), NOWMS`;

const INSERT_WORKFLOW_SQLITE = sql(
  'transact_insert_workflow',
  '',
  `INSERT INTO workflow_status (${STATUS_COLUMNS}) VALUES (${SQLITE_VALUES})
   ON CONFLICT (workflow_uuid) DO UPDATE SET creator_xid = creator_xid
   RETURNING ${RETURNED}`,
);
const INSERT_INPUT_SQLITE = sql(
  'transact_insert_input',
  '',
  'INSERT INTO workflow_input (workflow_uuid, inputs) VALUES ($1, $2) ON CONFLICT (workflow_uuid) DO NOTHING',
);
const PARENT_OWNED_SQLITE = sql(
  'transact_parent_owned',
  '',
  'SELECT 1 AS owned FROM workflow_status WHERE workflow_uuid = $1 AND owner_xid = $2',
);
const INSERT_CHILD_STEP_SQLITE = sql(
  'transact_insert_child_step',
  '',
  `INSERT INTO operation_outputs
     (workflow_uuid, function_id, function_name, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, application_name)
   VALUES ($1, $2, $3, $4, $5, NOWMS, $6) ON CONFLICT (workflow_uuid, function_id) DO NOTHING`,
);

function insertParams(w: NewWorkflow): unknown[] {
  return [
    w.workflowID,
    w.status,
    w.name,
    w.className,
    w.configName,
    w.queueName,
    w.executorID,
    w.applicationVersion,
    w.applicationID,
    w.applicationName,
    w.status === 'PENDING' ? 1 : 0,
    w.ownerXid,
    w.creatorXid,
    w.timeoutMS,
    w.deadlineEpochMS,
    w.deduplicationID,
    w.priority,
    w.queuePartitionKey,
    w.parentWorkflowID,
    w.serialization,
    w.delayUntilEpochMS,
    w.authenticatedUser,
    w.authenticatedRoles,
    w.assumedRole,
    w.attributes,
    w.scheduleName ?? null,
    w.inputs,
    w.createdAtEpochMs ?? null,
  ];
}

/** What the database decided for one start: the row (created or met), or a taken deduplication ID. */
type InsertOutcome = InsertResult | typeof DUPLICATE;
const DUPLICATE = 'duplicate' as const;

interface PendingStart {
  w: NewWorkflow;
  parent: ParentStep | undefined;
}

const NOT_OWNED: InsertResult = { created: false, existing: undefined as never, parentOwned: false };

/** One start on its own: one statement on PostgreSQL, one transaction on SQLite. */
async function insertOne(db: SqlDriver, w: NewWorkflow, parent?: ParentStep): Promise<InsertOutcome> {
  try {
    if (db.dialect === 'postgres') {
      const params = insertParams(w);
      const rows = parent
        ? await db.query(INSERT_CHILD_WORKFLOW_PG, [
            ...params,
            parent.workflowID,
            parent.ownerXid,
            parent.functionID,
            parent.functionName,
            parent.startedAtEpochMs,
            parent.rejectExisting === true,
          ])
        : await db.query(INSERT_WORKFLOW_PG, params);
      if (rows.length === 0) return NOT_OWNED;
      const existing = toWorkflowRow(rows[0]!);
      return { created: existing.creatorXid === w.creatorXid, existing, parentOwned: true };
    }
    return await db.transaction(async (tx) => {
      if (parent) {
        const owned = await tx.query(PARENT_OWNED_SQLITE, [parent.workflowID, parent.ownerXid]);
        if (owned.length === 0) return NOT_OWNED;
      }
      const rows = await tx.query(INSERT_WORKFLOW_SQLITE, sqliteParams(w));
      const existing = toWorkflowRow(rows[0]!);
      const created = existing.creatorXid === w.creatorXid;
      if (created) await tx.query(INSERT_INPUT_SQLITE, [w.workflowID, w.inputs]);
      await recordChildStepSqlite(tx, w, parent, existing, created);
      return { created, existing, parentOwned: true };
    });
  } catch (err) {
    if (isDedupViolation(err) && w.queueName && w.deduplicationID) return DUPLICATE;
    throw err;
  }
}

function sqliteParams(w: NewWorkflow): unknown[] {
  return [...insertParams(w).slice(0, 26), w.createdAtEpochMs ?? null];
}

/** The parent's step for a child start (SQLite), written when the row is this child and the start was not refused. */
async function recordChildStepSqlite(
  tx: Queryable,
  w: NewWorkflow,
  parent: ParentStep | undefined,
  existing: WorkflowRow,
  created: boolean,
): Promise<void> {
  const sameChild = existing.name === w.name && existing.className === w.className && existing.configName === w.configName;
  if (!parent || !sameChild || (!created && parent.rejectExisting)) return;
  await tx.query(INSERT_CHILD_STEP_SQLITE, [
    parent.workflowID,
    parent.functionID,
    parent.functionName,
    w.workflowID,
    parent.startedAtEpochMs,
    w.applicationName,
  ]);
}

// Concurrent starts and enqueues in one statement (dbos-spec §3.2 for each row, as INSERT_WORKFLOW_PG and
// INSERT_CHILD_WORKFLOW_PG). ON CONFLICT without a target skips a row that violates any unique index: its workflow ID
// is taken, or its queue's deduplication ID is. Only the rows created come back; each of the others is asked again
// on its own (insertOne), which tells the caller what it met, as a lone start would. A child's row is written only
// while its parent still owns its run, and the parent's step with it.
const INSERT_WORKFLOWS_BATCH_PG = sql(
  'transact_insert_workflows_batch',
  `WITH b AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::bigint[], $15::bigint[],
                          $16::text[], $17::int[], $18::text[], $19::text[], $20::text[], $21::bigint[], $22::text[],
                          $23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::bigint[],
                          $29::text[], $30::text[], $31::int[], $32::text[], $33::bigint[])
       AS b(wf, status, name, class_name, config_name, queue_name, executor_id, application_version, application_id,
            application_name, recovery_attempts, owner_xid, creator_xid, timeout_ms, deadline, dedup, priority,
            partition_key, parent_wf, serialization, delay_until, auth_user, auth_roles, assumed_role, attributes,
            schedule_name, inputs, created_at, p_wf, p_owner, p_fid, p_name, p_started)
   ), ok AS (
     SELECT * FROM b
      WHERE b.p_wf IS NULL
         OR EXISTS (SELECT 1 FROM dbos.workflow_status p WHERE p.workflow_uuid = b.p_wf AND p.owner_xid = b.p_owner)
   ), ins AS (
     INSERT INTO dbos.workflow_status (${STATUS_COLUMNS})
     SELECT wf, status, name, class_name, config_name, queue_name, executor_id, application_version, application_id,
            application_name, recovery_attempts, owner_xid, creator_xid, timeout_ms, deadline, dedup, priority,
            partition_key, parent_wf, serialization, delay_until, auth_user, auth_roles, assumed_role, attributes::jsonb,
            schedule_name, COALESCE(created_at, NOWMS), NOWMS
       FROM ok
     ON CONFLICT DO NOTHING
     RETURNING ${RETURNED}
   ), mine AS (
     SELECT ok.* FROM ok JOIN ins ON ins.workflow_uuid = ok.wf AND ins.creator_xid = ok.creator_xid
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT wf, inputs FROM mine
     ON CONFLICT (workflow_uuid) DO NOTHING
   ), step AS (
     INSERT INTO dbos.operation_outputs
       (workflow_uuid, function_id, function_name, child_workflow_id, started_at_epoch_ms, completed_at_epoch_ms, application_name)
     SELECT p_wf, p_fid, p_name, wf, p_started, NOWMS, application_name FROM mine WHERE p_wf IS NOT NULL
     ON CONFLICT (workflow_uuid, function_id) DO NOTHING
   )
   SELECT * FROM ins`,
);

// SQLite's batch is one transaction (one commit). Its insert skips a row that violates any unique index, so one
// start's taken ID or deduplication ID does not roll back its neighbours; the transaction then looks the row up.
const INSERT_WORKFLOW_OR_SKIP_SQLITE = sql(
  'transact_insert_workflow_or_skip',
  '',
  `INSERT INTO workflow_status (${STATUS_COLUMNS}) VALUES (${SQLITE_VALUES})
   ON CONFLICT DO NOTHING
   RETURNING ${RETURNED}`,
);
const FIND_WORKFLOW_SQLITE = sql('transact_find_workflow', '', `SELECT ${RETURNED} FROM workflow_status WHERE workflow_uuid = $1`);

async function insertBatchSqlite(tx: Queryable, { w, parent }: PendingStart): Promise<InsertOutcome> {
  if (parent && (await tx.query(PARENT_OWNED_SQLITE, [parent.workflowID, parent.ownerXid])).length === 0) return NOT_OWNED;
  const inserted = await tx.query(INSERT_WORKFLOW_OR_SKIP_SQLITE, sqliteParams(w));
  const found = inserted.length > 0 ? inserted : await tx.query(FIND_WORKFLOW_SQLITE, [w.workflowID]);
  if (found.length === 0) {
    if (w.queueName && w.deduplicationID) return DUPLICATE;
    throw new Error(`workflow ${w.workflowID} was neither inserted nor found`); // the batch is retried item by item
  }
  const existing = toWorkflowRow(found[0]!);
  const created = existing.creatorXid === w.creatorXid;
  if (created) await tx.query(INSERT_INPUT_SQLITE, [w.workflowID, w.inputs]);
  await recordChildStepSqlite(tx, w, parent, existing, created);
  return { created, existing, parentOwned: true };
}

/** Writes a batch of starts (one statement on PostgreSQL, one transaction on SQLite); one outcome per start. */
async function writeStarts(db: SqlDriver, items: PendingStart[]): Promise<InsertOutcome[]> {
  if (items.length === 1) return [await insertOne(db, items[0]!.w, items[0]!.parent)];
  if (db.dialect === 'sqlite') {
    return db.transaction(async (tx) => {
      const outcomes: InsertOutcome[] = [];
      for (const item of items) outcomes.push(await insertBatchSqlite(tx, item));
      return outcomes;
    });
  }
  const columns: unknown[][] = Array.from({ length: 33 }, () => new Array<unknown>(items.length));
  items.forEach(({ w, parent }, i) => {
    const params = insertParams(w);
    for (let c = 0; c < 28; c++) columns[c]![i] = params[c];
    columns[28]![i] = parent?.workflowID ?? null;
    columns[29]![i] = parent?.ownerXid ?? null;
    columns[30]![i] = parent?.functionID ?? null;
    columns[31]![i] = parent?.functionName ?? null;
    columns[32]![i] = parent?.startedAtEpochMs ?? null;
  });
  const rows = await db.query(INSERT_WORKFLOWS_BATCH_PG, columns);
  const created = new Map<string, WorkflowRow>();
  for (const row of rows) {
    const existing = toWorkflowRow(row);
    created.set(existing.creatorXid ?? '', existing);
  }
  // The rows not created met an existing row, a taken deduplication ID or a parent that lost its run: each is asked
  // again on its own, which also covers a row that vanished meanwhile (it is created then).
  return Promise.all(
    items.map(({ w, parent }) => {
      const existing = created.get(w.creatorXid);
      return existing ? { created: true, existing, parentOwned: true } : insertOne(db, w, parent);
    }),
  );
}

const startCommitters = new WeakMap<object, GroupCommitter<PendingStart, InsertOutcome>>();

/**
 * Inserts a workflow and its input, or finds the existing one with that ID (one round trip on PostgreSQL, shared
 * with concurrent starts and enqueues). Throws DBOSQueueDuplicatedError when its queue's deduplication ID is taken.
 */
export async function insertWorkflow(db: SqlDriver, w: NewWorkflow, parent?: ParentStep): Promise<InsertResult> {
  const committer = committerFor(startCommitters, db, () => {
    const write = (items: PendingStart[]) => writeStarts(db, items);
    return new GroupCommitter(write, Math.max(1, Math.floor(db.maxConnections / 2)), 500, 'start');
  });
  const outcome = await committer.submit({ w, parent });
  if (outcome === DUPLICATE) throw new DBOSQueueDuplicatedError(w.workflowID, w.queueName!, w.deduplicationID!);
  return outcome;
}

const DEDUP_HOLDER = sql(
  'transact_dedup_holder',
  `SELECT workflow_uuid FROM dbos.workflow_status WHERE queue_name = $1 AND deduplication_id = $2`,
);

/**
 * insertWorkflow; with `return-existing`, a taken deduplication ID gives the workflow holding it instead of
 * DBOSQueueDuplicatedError. A holder that finished between the two statements freed the ID: the insert is tried again.
 */
export async function insertOrFindDuplicate(
  db: SqlDriver,
  w: NewWorkflow,
  parent: ParentStep | undefined,
  policy: 'reject' | 'return-existing' | undefined,
): Promise<InsertResult | { holder: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertWorkflow(db, w, parent);
    } catch (err) {
      if (policy !== 'return-existing' || !(err instanceof DBOSQueueDuplicatedError) || attempt >= 5) throw err;
      const [row] = await db.query<{ workflow_uuid: string }>(DEDUP_HOLDER, [w.queueName, w.deduplicationID]);
      if (row) return { holder: row.workflow_uuid };
    }
  }
}

function isDedupViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code === '23505') return e.constraint === 'uq_workflow_status_dedup_id';
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' && /deduplication_id/.test(e.message ?? '');
}

// Every listening process is signalled by a NOTIFY, which costs each commit more than the rest of the statement;
// so the outcome is announced only for work another process is likely to wait for: queued workflows (run wherever
// they were claimed) and children (whose parent may run elsewhere). Anyone else waiting polls.
// A queued workflow's end also frees a slot of its queue: announced once per queue and transaction (PostgreSQL folds
// identical notifications of one transaction into one), so a group commit of many completions sends one.
const NOTIFY_OUTCOME = `CASE WHEN queue_name IS NOT NULL OR parent_workflow_id IS NOT NULL
  THEN pg_notify('${OUTCOME_CHANNEL}', workflow_uuid) END AS notified,
  CASE WHEN queue_name IS NOT NULL THEN pg_notify('${QUEUE_SLOT_CHANNEL}', queue_name) END AS slot_notified`;

const COMPLETE_PG = sql(
  'transact_complete_workflow',
  `WITH upd AS (
     UPDATE dbos.workflow_status
        SET status = $2::text, updated_at = NOWMS, completed_at = NOWMS, deduplication_id = NULL, owner_xid = NULL
      WHERE workflow_uuid = $1::text AND status = 'PENDING' AND owner_xid = $3::text
      RETURNING workflow_uuid, queue_name, parent_workflow_id
   ), out AS (
     INSERT INTO dbos.workflow_output (workflow_uuid, output, error)
     SELECT workflow_uuid, $4::text, $5::text FROM upd
     ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error
   )
   SELECT workflow_uuid, ${NOTIFY_OUTCOME} FROM upd`,
);
const COMPLETE_SQLITE = sql(
  'transact_complete_workflow',
  '',
  `UPDATE workflow_status
      SET status = $2, updated_at = NOWMS, completed_at = NOWMS, deduplication_id = NULL, owner_xid = NULL
    WHERE workflow_uuid = $1 AND status = 'PENDING' AND owner_xid = $3
    RETURNING workflow_uuid`,
);
const UPSERT_OUTPUT_SQLITE = sql(
  'transact_upsert_output',
  '',
  `INSERT INTO workflow_output (workflow_uuid, output, error) VALUES ($1, $2, $3)
   ON CONFLICT (workflow_uuid) DO UPDATE SET output = excluded.output, error = excluded.error`,
);

// Concurrent completions in one statement, each fenced by its own run's token.
const COMPLETE_BATCH_PG = sql(
  'transact_complete_workflows_batch',
  `WITH u AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(wf, status, owner, output, error)
   ), upd AS (
     UPDATE dbos.workflow_status ws
        SET status = u.status, updated_at = NOWMS, completed_at = NOWMS, deduplication_id = NULL, owner_xid = NULL
       FROM u
      WHERE ws.workflow_uuid = u.wf AND ws.status = 'PENDING' AND ws.owner_xid = u.owner
      RETURNING ws.workflow_uuid, ws.queue_name, ws.parent_workflow_id, u.output, u.error
   ), out AS (
     INSERT INTO dbos.workflow_output (workflow_uuid, output, error)
     SELECT workflow_uuid, output, error FROM upd
     ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error
   )
   SELECT workflow_uuid, ${NOTIFY_OUTCOME} FROM upd`,
);

interface Completion {
  workflowID: string;
  ownerXid: string;
  status: 'SUCCESS' | 'ERROR';
  output: string | null;
  error: string | null;
}

async function writeCompletions(db: SqlDriver, items: Completion[]): Promise<boolean[]> {
  if (db.dialect === 'postgres') {
    if (items.length === 1) {
      const c = items[0]!;
      return [(await db.query(COMPLETE_PG, [c.workflowID, c.status, c.ownerXid, c.output, c.error])).length > 0];
    }
    const rows = await db.query<{ workflow_uuid: string }>(COMPLETE_BATCH_PG, [
      items.map((c) => c.workflowID),
      items.map((c) => c.status),
      items.map((c) => c.ownerXid),
      items.map((c) => c.output),
      items.map((c) => c.error),
    ]);
    const done = new Set(rows.map((r) => r.workflow_uuid));
    return items.map((c) => done.has(c.workflowID));
  }
  return db.transaction(async (tx) => {
    const done: boolean[] = [];
    for (const c of items) {
      const rows = await tx.query(COMPLETE_SQLITE, [c.workflowID, c.status, c.ownerXid]);
      if (rows.length > 0) await tx.query(UPSERT_OUTPUT_SQLITE, [c.workflowID, c.output, c.error]);
      done.push(rows.length > 0);
    }
    return done;
  });
}

const completionCommitters = new WeakMap<object, GroupCommitter<Completion, boolean>>();

/**
 * Records the outcome, fenced by the run's ownership token (dbos-spec §3.4); concurrent completions share a round
 * trip. Returns false when this run no longer owns the workflow (cancelled, timed out, taken over): nothing was
 * written and the caller adopts whatever the database holds.
 */
export async function completeWorkflow(
  db: SqlDriver,
  workflowID: string,
  ownerXid: string,
  status: 'SUCCESS' | 'ERROR',
  output: string | null,
  error: string | null,
): Promise<boolean> {
  const committer = committerFor(completionCommitters, db, () => {
    const write = (items: Completion[]) => writeCompletions(db, items);
    return new GroupCommitter(write, Math.max(1, Math.floor(db.maxConnections / 2)), 500, 'outcome');
  });
  return committer.submit({ workflowID, ownerXid, status, output, error });
}

// A run that found its row's serialization unreadable records its failure in the native format; the column says so,
// or the outcome could not be read either. Fenced like every write of a run.
const SET_SERIALIZATION = sql(
  'transact_set_serialization',
  `UPDATE dbos.workflow_status SET serialization = $3
    WHERE workflow_uuid = $1 AND status = 'PENDING' AND owner_xid = $2`,
);

/** Sets the row's serialization name (see above); nothing happens when this run no longer owns the workflow. */
export async function setWorkflowSerialization(db: Queryable, workflowID: string, ownerXid: string, serialization: string): Promise<void> {
  await db.query(SET_SERIALIZATION, [workflowID, ownerXid, serialization]);
}

const GET_WORKFLOW = sql(
  'transact_get_workflow',
  `SELECT ws.*, COALESCE(wi.inputs, ws.inputs) AS inputs, COALESCE(wo.output, ws.output) AS output,
          COALESCE(wo.error, ws.error) AS error
     FROM dbos.workflow_status ws
     LEFT JOIN dbos.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
     LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
    WHERE ws.workflow_uuid = $1`,
);

export async function getWorkflow(db: Queryable, workflowID: string): Promise<WorkflowRow | undefined> {
  const rows = await db.query(GET_WORKFLOW, [workflowID]);
  return rows[0] ? toWorkflowRow(rows[0]) : undefined;
}

export interface WorkflowOutcome {
  status: WorkflowStatusString;
  output: string | null;
  error: string | null;
  serialization: string | null;
}

const GET_OUTCOME = sql(
  'transact_get_outcome',
  `SELECT ws.status, COALESCE(wo.output, ws.output) AS output, COALESCE(wo.error, ws.error) AS error, ws.serialization
     FROM dbos.workflow_status ws LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
    WHERE ws.workflow_uuid = $1`,
);

export async function getWorkflowOutcome(db: Queryable, workflowID: string): Promise<WorkflowOutcome | undefined> {
  const rows = await db.query<Omit<WorkflowOutcome, 'status'> & { status: string }>(GET_OUTCOME, [workflowID]);
  const row = rows[0];
  if (!row) return undefined;
  const status = (row.status === 'RETRIES_EXCEEDED' ? 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' : row.status) as WorkflowStatusString;
  return { status, output: row.output ?? null, error: row.error ?? null, serialization: row.serialization ?? null };
}

const STATUSES_OF = sql(
  'transact_statuses_of',
  `SELECT workflow_uuid, status FROM dbos.workflow_status WHERE workflow_uuid = ANY($1::text[])`,
  `SELECT workflow_uuid, status FROM workflow_status WHERE workflow_uuid IN (SELECT value FROM json_each($1))`,
);

/** The status of each of these workflows that exists (one statement: waitFirst and waitAll look at all at once). */
export async function workflowStatusesOf(db: Queryable, workflowIDs: string[]): Promise<Map<string, string>> {
  const rows = await db.query<{ workflow_uuid: string; status: string }>(STATUSES_OF, [workflowIDs]);
  return new Map(rows.map((r) => [r.workflow_uuid, r.status]));
}

const RECOVER_PENDING = sql(
  'transact_recover_pending',
  `UPDATE dbos.workflow_status
      SET status = 'ENQUEUED', started_at_epoch_ms = NULL, owner_xid = NULL, updated_at = NOWMS,
          queue_name = COALESCE(queue_name, '${INTERNAL_QUEUE}')
    WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2
      AND (application_name = $3 OR application_name IS NULL)
    RETURNING workflow_uuid`,
);

/**
 * Recovery at launch (dbos-spec §3.5): this executor's PENDING workflows go back to the queue they came from (or
 * the internal queue), and the claim decides who runs them, so no workflow is ever run by two executors at once.
 */
export async function requeuePendingWorkflows(
  db: SqlDriver,
  executorID: string,
  applicationVersion: string,
  applicationName: string,
): Promise<string[]> {
  const rows = await db.query<{ workflow_uuid: string }>(RECOVER_PENDING, [executorID, applicationVersion, applicationName]);
  return rows.map((r) => r.workflow_uuid);
}

// Runs this process stopped (a shutdown, an interrupted run) give their workflows back, each fenced by its run's
// token: a workflow another execution owns by now is not touched. Back to the queue it came from (or the internal
// queue, as recovery does), ENQUEUED at once or DELAYED for a while; each queue that got work at once is announced.
const HAND_BACK_PG = sql(
  'transact_hand_back',
  `WITH r AS (
     SELECT * FROM unnest($1::text[], $2::text[]) AS r(wf, owner)
   ), upd AS (
     UPDATE dbos.workflow_status ws
        SET status = CASE WHEN $3::bigint IS NULL THEN 'ENQUEUED' ELSE 'DELAYED' END,
            delay_until_epoch_ms = CASE WHEN $3::bigint IS NULL THEN ws.delay_until_epoch_ms ELSE NOWMS + $3::bigint END,
            owner_xid = NULL, started_at_epoch_ms = NULL, updated_at = NOWMS,
            queue_name = COALESCE(ws.queue_name, '${INTERNAL_QUEUE}')
       FROM r
      WHERE ws.workflow_uuid = r.wf AND ws.owner_xid = r.owner AND ws.status = 'PENDING'
      RETURNING ws.queue_name
   ), queues AS (
     SELECT DISTINCT queue_name FROM upd
   )
   SELECT queue_name, CASE WHEN $3::bigint IS NULL THEN pg_notify('${QUEUE_CHANNEL}', queue_name) END AS notified FROM queues`,
);

const HAND_BACK_SQLITE = sql(
  'transact_hand_back',
  '',
  `UPDATE workflow_status
      SET status = CASE WHEN $3 IS NULL THEN 'ENQUEUED' ELSE 'DELAYED' END,
          delay_until_epoch_ms = CASE WHEN $3 IS NULL THEN delay_until_epoch_ms ELSE NOWMS + $3 END,
          owner_xid = NULL, started_at_epoch_ms = NULL, updated_at = NOWMS,
          queue_name = COALESCE(queue_name, '${INTERNAL_QUEUE}')
    WHERE workflow_uuid = $1 AND owner_xid = $2 AND status = 'PENDING'
    RETURNING queue_name`,
);

/**
 * Gives these runs' workflows back to their queues (those the runs still own), at once or after `delayMs`; returns
 * the queues that got work.
 */
export async function handBackWorkflows(
  db: SqlDriver,
  runs: readonly { workflowID: string; ownerXid: string }[],
  delayMs: number | null,
): Promise<string[]> {
  if (runs.length === 0) return [];
  if (db.dialect === 'postgres') {
    const rows = await db.query<{ queue_name: string }>(HAND_BACK_PG, [runs.map((r) => r.workflowID), runs.map((r) => r.ownerXid), delayMs]);
    return rows.map((r) => r.queue_name);
  }
  return db.transaction(async (tx) => {
    const queues = new Set<string>();
    for (const r of runs) {
      for (const row of await tx.query<{ queue_name: string }>(HAND_BACK_SQLITE, [r.workflowID, r.ownerXid, delayMs])) queues.add(row.queue_name);
    }
    return [...queues];
  });
}

const DEAD_LETTER = sql(
  'transact_dead_letter',
  `UPDATE dbos.workflow_status
      SET status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', queue_name = NULL, deduplication_id = NULL, owner_xid = NULL,
          updated_at = NOWMS, completed_at = NOWMS
    WHERE workflow_uuid = $1 AND owner_xid = $2 AND status = 'PENDING'`,
);

export async function deadLetterWorkflow(db: SqlDriver, workflowID: string, ownerXid: string): Promise<void> {
  await db.query(DEAD_LETTER, [workflowID, ownerXid]);
}

const CANCEL = sql(
  'transact_cancel_workflow',
  `WITH upd AS (
     UPDATE dbos.workflow_status
        SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
            started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
      WHERE workflow_uuid = $1 AND status NOT IN ('SUCCESS', 'ERROR')
      RETURNING workflow_uuid
   )
   SELECT workflow_uuid, pg_notify('${CANCEL_CHANNEL}', workflow_uuid), pg_notify('${OUTCOME_CHANNEL}', workflow_uuid) FROM upd`,
  `UPDATE workflow_status
      SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
          started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
    WHERE workflow_uuid = $1 AND status NOT IN ('SUCCESS', 'ERROR')
    RETURNING workflow_uuid`,
);

/** Returns whether the workflow was active (and is now CANCELLED). */
export async function cancelWorkflow(db: SqlDriver, workflowID: string): Promise<boolean> {
  return (await db.query(CANCEL, [workflowID])).length > 0;
}

const CANCEL_EXPIRED_PG = sql(
  'transact_cancel_expired',
  `UPDATE dbos.workflow_status
      SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
          started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
    WHERE workflow_uuid IN (
      SELECT workflow_uuid FROM dbos.workflow_status
       WHERE status IN ('ENQUEUED', 'PENDING', 'DELAYED') AND workflow_deadline_epoch_ms IS NOT NULL
         AND workflow_deadline_epoch_ms <= NOWMS AND (application_name = $1 OR application_name IS NULL)
       LIMIT 1000 FOR UPDATE SKIP LOCKED)
    RETURNING workflow_uuid`,
  `UPDATE workflow_status
      SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
          started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
    WHERE workflow_uuid IN (
      SELECT workflow_uuid FROM workflow_status
       WHERE status IN ('ENQUEUED', 'PENDING', 'DELAYED') AND workflow_deadline_epoch_ms IS NOT NULL
         AND workflow_deadline_epoch_ms <= NOWMS AND (application_name = $1 OR application_name IS NULL)
       LIMIT 1000)
    RETURNING workflow_uuid`,
);

/** The deadline sweep (dbos-spec §3.11): cancels active workflows whose deadline has passed. */
export async function cancelExpiredWorkflows(db: SqlDriver, applicationName: string): Promise<string[]> {
  const rows = await db.query<{ workflow_uuid: string }>(CANCEL_EXPIRED_PG, [applicationName]);
  return rows.map((r) => r.workflow_uuid);
}

const CANCELLED_AMONG = sql(
  'transact_cancelled_among',
  "SELECT workflow_uuid FROM dbos.workflow_status WHERE workflow_uuid = ANY($1::text[]) AND status = 'CANCELLED'",
  "SELECT workflow_uuid FROM workflow_status WHERE workflow_uuid IN (SELECT value FROM json_each($1)) AND status = 'CANCELLED'",
);

/** Which of these (running) workflows were cancelled meanwhile, by another process. */
export async function cancelledAmong(db: Queryable, workflowIDs: string[]): Promise<string[]> {
  return (await db.query<{ workflow_uuid: string }>(CANCELLED_AMONG, [workflowIDs])).map((r) => r.workflow_uuid);
}
