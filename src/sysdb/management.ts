// The write side of workflow management (dbos-spec §3.10): resume, fork, rewind, delete, and changing a queued
// workflow's priority or delay. Cancel lives with the other workflow_status transitions in workflows.ts. Each function
// is one transaction.

import { randomUUID } from 'node:crypto';
import { DBOSInvalidWorkflowTransitionError, DBOSNonExistentWorkflowError } from '../errors.js';
import { sql, type Queryable, type SqlDriver } from './driver.js';
import { INTERNAL_QUEUE } from './rows.js';
import { QUEUE_CHANNEL } from './workflows.js';

const EXISTING = sql('transact_existing_workflow', 'SELECT workflow_uuid FROM dbos.workflow_status WHERE workflow_uuid = $1');

// Back to the queue with a clean slate of attempts; the claim decides who runs it, and the replay skips what was
// recorded. Finished workflows are left as they are.
const RESUME = sql(
  'transact_resume_workflow',
  `UPDATE dbos.workflow_status
      SET status = 'ENQUEUED', owner_xid = NULL, queue_name = $2, recovery_attempts = 0,
          workflow_deadline_epoch_ms = NULL, deduplication_id = NULL, started_at_epoch_ms = NULL, completed_at = NULL,
          updated_at = NOWMS
    WHERE workflow_uuid = $1 AND status NOT IN ('SUCCESS', 'ERROR')
    RETURNING workflow_uuid`,
);

const NOTIFY_QUEUE = sql('transact_notify_queue', `SELECT pg_notify('${QUEUE_CHANNEL}', $1)`);

async function requireExisting(tx: Queryable, ids: string[]): Promise<void> {
  for (const id of ids) {
    if ((await tx.query(EXISTING, [id])).length === 0) throw new DBOSNonExistentWorkflowError(`Workflow ${id} does not exist`);
  }
}

/** Resumes every workflow in `ids` that is not finished; if any does not exist, resumes none. */
export async function resumeWorkflows(db: SqlDriver, ids: string[], queueName = INTERNAL_QUEUE): Promise<string[]> {
  const resumed = await db.transaction(async (tx) => {
    await requireExisting(tx, ids);
    const done: string[] = [];
    for (const id of ids) if ((await tx.query(RESUME, [id, queueName])).length > 0) done.push(id);
    return done;
  });
  if (resumed.length > 0 && db.dialect === 'postgres') await db.query(NOTIFY_QUEUE, [queueName]);
  return resumed;
}

export interface ForkOptions {
  newWorkflowID?: string;
  applicationVersion?: string;
  timeoutMS?: number;
  queueName?: string;
  queuePartitionKey?: string;
  /** Child workflow IDs to record in place of the original's, for steps copied from before the fork point. */
  replacementChildren?: Record<string, string>;
}

const FORK_ROW = sql(
  'transact_fork_row',
  `INSERT INTO dbos.workflow_status (workflow_uuid, status, name, class_name, config_name, authenticated_user,
       assumed_role, authenticated_roles, executor_id, application_version, application_id, application_name,
       queue_name, queue_partition_key, workflow_timeout_ms, forked_from, serialization, attributes, recovery_attempts,
       priority, created_at, updated_at, creator_xid)
   SELECT $2, 'ENQUEUED', name, class_name, config_name, authenticated_user, assumed_role, authenticated_roles,
          executor_id, COALESCE($3, application_version), application_id, application_name, $4, $5,
          COALESCE($6, workflow_timeout_ms), workflow_uuid, serialization, attributes, 0, 0, NOWMS, NOWMS, $7
     FROM dbos.workflow_status WHERE workflow_uuid = $1`,
);
const FORK_INPUT = sql(
  'transact_fork_input',
  `INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
   SELECT $2, COALESCE(wi.inputs, ws.inputs)
     FROM dbos.workflow_status ws LEFT JOIN dbos.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
    WHERE ws.workflow_uuid = $1`,
);
const MARK_FORKED = sql('transact_mark_forked', 'UPDATE dbos.workflow_status SET was_forked_from = TRUE WHERE workflow_uuid = $1');
const FORK_STEPS = sql(
  'transact_fork_steps',
  `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, child_workflow_id,
       started_at_epoch_ms, completed_at_epoch_ms, serialization, application_name)
   SELECT $2, function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
          completed_at_epoch_ms, serialization, application_name
     FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id < $3`,
);
const REPLACE_CHILD = sql(
  'transact_fork_replace_child',
  'UPDATE dbos.operation_outputs SET child_workflow_id = $3 WHERE workflow_uuid = $1 AND child_workflow_id = $2',
);
const FORK_STREAMS = sql(
  'transact_fork_streams',
  `INSERT INTO dbos.streams (workflow_uuid, key, value, "offset", function_id, serialization)
   SELECT $2, key, value, "offset", function_id, serialization FROM dbos.streams WHERE workflow_uuid = $1 AND function_id < $3`,
);
const FORK_EVENT_HISTORY = sql(
  'transact_fork_event_history',
  `INSERT INTO dbos.workflow_events_history (workflow_uuid, function_id, key, value, serialization)
   SELECT $2, function_id, key, value, serialization FROM dbos.workflow_events_history
    WHERE workflow_uuid = $1 AND function_id < $3`,
);
// Each key's latest value before the fork point becomes the fork's current value.
const FORK_EVENTS = sql(
  'transact_fork_events',
  `INSERT INTO dbos.workflow_events (workflow_uuid, key, value, serialization)
   SELECT h.workflow_uuid, h.key, h.value, h.serialization FROM dbos.workflow_events_history h
    WHERE h.workflow_uuid = $1
      AND h.function_id = (SELECT max(function_id) FROM dbos.workflow_events_history h2
                            WHERE h2.workflow_uuid = $1 AND h2.key = h.key)`,
);

/** Starts a new workflow that replays `originalID`'s first `startStep` steps and runs the rest anew. */
export async function forkWorkflow(db: SqlDriver, originalID: string, startStep: number, options: ForkOptions = {}): Promise<string> {
  const forkID = options.newWorkflowID ?? randomUUID();
  const queueName = options.queueName ?? INTERNAL_QUEUE;
  await db.transaction(async (tx) => {
    await requireExisting(tx, [originalID]);
    await tx.query(FORK_ROW, [
      originalID,
      forkID,
      options.applicationVersion ?? null,
      queueName,
      options.queuePartitionKey ?? null,
      options.timeoutMS ?? null,
      randomUUID(),
    ]);
    await tx.query(FORK_INPUT, [originalID, forkID]);
    await tx.query(MARK_FORKED, [originalID]);
    await tx.query(FORK_STEPS, [originalID, forkID, startStep]);
    for (const [from, to] of Object.entries(options.replacementChildren ?? {})) await tx.query(REPLACE_CHILD, [forkID, from, to]);
    await tx.query(FORK_STREAMS, [originalID, forkID, startStep]);
    await tx.query(FORK_EVENT_HISTORY, [originalID, forkID, startStep]);
    await tx.query(FORK_EVENTS, [forkID]);
  });
  if (db.dialect === 'postgres') await db.query(NOTIFY_QUEUE, [queueName]);
  return forkID;
}

const CHILDREN = sql('transact_child_workflows', 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1');

export async function childWorkflowIDs(db: Queryable, parentID: string): Promise<string[]> {
  return (await db.query<{ workflow_uuid: string }>(CHILDREN, [parentID])).map((r) => r.workflow_uuid);
}

// ------------------------------------------------------------------------------------------------ delete

// The IDs given and, through parent_workflow_id, all their descendants; UNION (not UNION ALL) ends the walk.
const WITH_DESCENDANTS = sql(
  'transact_workflow_descendants',
  `WITH RECURSIVE tree(id) AS (
     SELECT unnest($1::text[])
     UNION
     SELECT ws.workflow_uuid FROM dbos.workflow_status ws JOIN tree ON ws.parent_workflow_id = tree.id
   ) SELECT id FROM tree`,
  `WITH RECURSIVE tree(id) AS (
     SELECT value FROM json_each($1)
     UNION
     SELECT ws.workflow_uuid FROM workflow_status ws JOIN tree ON ws.parent_workflow_id = tree.id
   ) SELECT id FROM tree`,
);
// workflow_input, workflow_output and operation_outputs have no foreign key to workflow_status, so they go first and
// explicitly; notifications, workflow_events(_history) and streams follow the status row through ON DELETE CASCADE.
const deleteFrom = (table: string, name: string) =>
  sql(
    `transact_delete_${name}`,
    `DELETE FROM dbos.${table} WHERE workflow_uuid = ANY($1::text[])`,
    `DELETE FROM ${table} WHERE workflow_uuid IN (SELECT value FROM json_each($1))`,
  );
const DELETE_PAYLOADS = [
  deleteFrom('workflow_input', 'inputs'),
  deleteFrom('workflow_output', 'outputs'),
  deleteFrom('operation_outputs', 'steps'),
];
const DELETE_STATUS = sql(
  'transact_delete_status',
  'DELETE FROM dbos.workflow_status WHERE workflow_uuid = ANY($1::text[]) RETURNING workflow_uuid',
  'DELETE FROM workflow_status WHERE workflow_uuid IN (SELECT value FROM json_each($1)) RETURNING workflow_uuid',
);

/**
 * Deletes the workflows (with `deleteChildren`, their descendants too) and everything recorded for them. IDs that do
 * not exist are skipped, so a repeated delete is harmless. Returns the IDs whose status row was deleted.
 */
export async function deleteWorkflows(db: SqlDriver, ids: string[], deleteChildren = false): Promise<string[]> {
  if (ids.length === 0) return [];
  return db.transaction(async (tx) => {
    const targets = deleteChildren ? (await tx.query<{ id: string }>(WITH_DESCENDANTS, [ids])).map((r) => r.id) : [...new Set(ids)];
    for (const statement of DELETE_PAYLOADS) await tx.query(statement, [targets]);
    return (await tx.query<{ workflow_uuid: string }>(DELETE_STATUS, [targets])).map((r) => r.workflow_uuid);
  });
}

// ------------------------------------------------------------------------------------------------ rewind

export interface RewindOptions {
  /** The first step to run again; steps before it keep their recorded outcomes. Default 0. */
  startStep?: number;
  applicationVersion?: string;
  /** The queue to run on again; default the internal queue. */
  queueName?: string;
  queuePartitionKey?: string;
}

const STATUS_OF = sql('transact_status_of', 'SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1');

/** Throws the error that explains why a guarded UPDATE matched no row: no such workflow, or the wrong status. */
async function refuseTransition(tx: Queryable, id: string, action: string, allowed: string): Promise<never> {
  const [row] = await tx.query<{ status: string }>(STATUS_OF, [id]);
  if (!row) throw new DBOSNonExistentWorkflowError(`Workflow ${id} does not exist`);
  throw new DBOSInvalidWorkflowTransitionError(
    `Cannot ${action} workflow ${id}: its status is ${row.status}, and this is allowed only for ${allowed} workflows`,
  );
}

// The guard is the status: only a finished workflow is rewound (RETRIES_EXCEEDED is the old name of dead-lettered).
// Legacy output/error columns are cleared too, since 5.x readers COALESCE them with workflow_output.
const REWIND_ROW = sql(
  'transact_rewind_row',
  `UPDATE dbos.workflow_status
      SET status = 'ENQUEUED', queue_name = $2, queue_partition_key = $3, application_version = COALESCE($4, application_version),
          owner_xid = NULL, recovery_attempts = 0, workflow_deadline_epoch_ms = NULL, deduplication_id = NULL,
          started_at_epoch_ms = NULL, completed_at = NULL, delay_until_epoch_ms = NULL, output = NULL, error = NULL,
          updated_at = NOWMS
    WHERE workflow_uuid = $1 AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'RETRIES_EXCEEDED')
    RETURNING workflow_uuid`,
);
const REWIND_STEPS = sql('transact_rewind_steps', 'DELETE FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id >= $2');
const REWIND_EVENT_HISTORY = sql(
  'transact_rewind_event_history',
  'DELETE FROM dbos.workflow_events_history WHERE workflow_uuid = $1 AND function_id >= $2',
);
const CLEAR_EVENTS = sql('transact_rewind_clear_events', 'DELETE FROM dbos.workflow_events WHERE workflow_uuid = $1');
// Values written past the cut stay (readers may have seen their offsets); only the end-of-stream marker goes, so
// the stream is open again for the re-run. Legacy rows hold the marker unquoted.
const REWIND_STREAM_ENDS = sql(
  'transact_rewind_stream_ends',
  `DELETE FROM dbos.streams WHERE workflow_uuid = $1 AND function_id >= $2
      AND value IN ('"__DBOS_STREAM_CLOSED__"', '__DBOS_STREAM_CLOSED__')`,
);
const REWIND_MESSAGES = sql(
  'transact_rewind_messages',
  'DELETE FROM dbos.notifications WHERE destination_uuid = $1 AND (NOT consumed OR consumed_by_function_id >= $2)',
);
const DELETE_OUTPUT = sql('transact_rewind_output', 'DELETE FROM dbos.workflow_output WHERE workflow_uuid = $1');

/**
 * Puts a finished workflow back on a queue under the same ID: what it recorded from `startStep` on is forgotten (steps,
 * events, the stream end, messages it consumed from there and unconsumed ones, its outcome), so the run resumes at
 * that step with the earlier steps replayed from their records.
 */
export async function rewindWorkflow(db: SqlDriver, workflowID: string, options: RewindOptions = {}): Promise<void> {
  const startStep = options.startStep ?? 0;
  const queueName = options.queueName ?? INTERNAL_QUEUE;
  await db.transaction(async (tx) => {
    const row = [workflowID, queueName, options.queuePartitionKey ?? null, options.applicationVersion ?? null];
    if ((await tx.query(REWIND_ROW, row)).length === 0) {
      await refuseTransition(tx, workflowID, 'rewind', 'finished (SUCCESS, ERROR, CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED)');
    }
    await tx.query(REWIND_STEPS, [workflowID, startStep]);
    await tx.query(REWIND_EVENT_HISTORY, [workflowID, startStep]);
    await tx.query(CLEAR_EVENTS, [workflowID]);
    await tx.query(FORK_EVENTS, [workflowID]); // each key's latest value before the cut
    await tx.query(REWIND_STREAM_ENDS, [workflowID, startStep]);
    await tx.query(REWIND_MESSAGES, [workflowID, startStep]);
    await tx.query(DELETE_OUTPUT, [workflowID]);
  });
  if (db.dialect === 'postgres') await db.query(NOTIFY_QUEUE, [queueName]);
}

// ------------------------------------------------------------------------------------------------ priority and delay

const SET_PRIORITY = sql(
  'transact_set_priority',
  `UPDATE dbos.workflow_status SET priority = $2, updated_at = NOWMS
    WHERE workflow_uuid = $1 AND status IN ('ENQUEUED', 'DELAYED') RETURNING workflow_uuid`,
);

/** Changes the priority of a workflow still waiting on its queue (ENQUEUED or DELAYED). */
export async function setWorkflowPriority(db: SqlDriver, workflowID: string, priority: number): Promise<void> {
  await db.transaction(async (tx) => {
    if ((await tx.query(SET_PRIORITY, [workflowID, priority])).length === 0) {
      await refuseTransition(tx, workflowID, 'change the priority of', 'ENQUEUED or DELAYED');
    }
  });
}

// A relative delay counts from the database clock, the one the DELAYED -> ENQUEUED transition compares with.
const SET_DELAY = sql(
  'transact_set_delay',
  `UPDATE dbos.workflow_status SET delay_until_epoch_ms = COALESCE($2, NOWMS + $3), updated_at = NOWMS
    WHERE workflow_uuid = $1 AND status = 'DELAYED' RETURNING delay_until_epoch_ms`,
);

/** When a DELAYED workflow becomes ENQUEUED: at `untilEpochMS`, or `inMs` from now. Returns the new time. */
export async function setWorkflowDelay(
  db: SqlDriver,
  workflowID: string,
  delay: { untilEpochMS: number } | { inMs: number },
): Promise<number> {
  const params = [workflowID, 'untilEpochMS' in delay ? delay.untilEpochMS : null, 'inMs' in delay ? delay.inMs : null];
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ delay_until_epoch_ms: unknown }>(SET_DELAY, params);
    if (!row) return refuseTransition(tx, workflowID, 'change the delay of', 'DELAYED');
    return Number(row.delay_until_epoch_ms);
  });
}
