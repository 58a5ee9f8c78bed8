// The write side of workflow management (dbos-spec §3.10): resume and fork. Cancel lives with the other
// workflow_status transitions in workflows.ts. Each function is one transaction.

import { randomUUID } from 'node:crypto';
import { DBOSNonExistentWorkflowError } from '../errors.js';
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
