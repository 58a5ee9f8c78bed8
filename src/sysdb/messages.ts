// The notifications family: messages sent to a workflow (send) and taken by it, oldest first per topic (recv).
// Messages are never deleted; a received one is marked consumed by the function ID of the recv that took it.

import { DBOSNonExistentWorkflowError } from '../errors.js';
import { sql, type SqlDriver } from './driver.js';
import {
  FENCE_RESULT_PG,
  fencedResult,
  isForeignKeyViolation,
  ownsWorkflowSqlite,
  OWNER_CTE_PG,
  recordOperationStepSqlite,
  STEP_CTE_PG,
  stepParams,
  type FencedResult,
  type OperationStep,
} from './operations.js';

/** The notifications trigger NOTIFYs this channel with `<destination>::<topic>` for every message inserted. */
export const NOTIFICATIONS_CHANNEL = 'dbos_notifications_channel';
/** How a message sent without a topic is stored (and looked up): DBOS's readers expect this exact text. */
export const NULL_TOPIC = '__null__topic__';

export interface OutgoingMessage {
  /** `<idempotencyKey>::<destinationID>`, or a random UUID: a second insert with the same ID does nothing. */
  messageUUID: string;
  destinationID: string;
  /** Already mapped: NULL_TOPIC for no topic. */
  topic: string;
  message: string;
  serialization: string;
}

function messageParams(m: OutgoingMessage): unknown[] {
  return [m.messageUUID, m.destinationID, m.topic, m.message, m.serialization];
}

function nonExistent(destinationID: string): DBOSNonExistentWorkflowError {
  return new DBOSNonExistentWorkflowError(`Sent to non-existent destination workflow ID: ${destinationID}`);
}

async function mapMissingDestination<T>(destinationID: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw nonExistent(destinationID);
    throw err;
  }
}

const INSERT_MESSAGE = sql(
  'transact_send',
  `INSERT INTO dbos.notifications (message_uuid, destination_uuid, topic, message, serialization)
   VALUES ($1, $2, $3, $4, $5)
   ON CONFLICT (message_uuid) DO NOTHING`,
);

/** A send from outside any workflow (or from a client): one insert; a missing destination is a typed error. */
export async function insertMessage(db: SqlDriver, m: OutgoingMessage): Promise<void> {
  await mapMissingDestination(m.destinationID, () => db.query(INSERT_MESSAGE, messageParams(m)));
}

// The message goes in only if the step row did: a replay, or an execution that finds the send already recorded,
// sends nothing.
const SEND_FROM_WORKFLOW_PG = sql(
  'transact_send_from_workflow',
  `WITH ${OWNER_CTE_PG}, ${STEP_CTE_PG}, msg AS (
     INSERT INTO dbos.notifications (message_uuid, destination_uuid, topic, message, serialization)
     SELECT $8::text, $9::text, $10::text, $11::text, $12::text FROM step
     ON CONFLICT (message_uuid) DO NOTHING
   )
   SELECT ${FENCE_RESULT_PG}`,
);

/** A send checkpointed as the step `DBOS.send`: the message and the step row in one statement (or transaction). */
export async function sendFromWorkflow(db: SqlDriver, step: OperationStep, m: OutgoingMessage): Promise<FencedResult> {
  return mapMissingDestination(m.destinationID, async () => {
    if (db.dialect === 'postgres') {
      const rows = await db.query(SEND_FROM_WORKFLOW_PG, [...stepParams(step), ...messageParams(m)]);
      return fencedResult(rows[0]);
    }
    return db.transaction(async (tx) => {
      const result = await recordOperationStepSqlite(tx, step);
      if (result === 'recorded') await tx.query(INSERT_MESSAGE, messageParams(m));
      return result;
    });
  });
}

const SEND_FROM_STEP_PG = sql(
  'transact_send_from_step',
  `WITH ${OWNER_CTE_PG}, msg AS (
     INSERT INTO dbos.notifications (message_uuid, destination_uuid, topic, message, serialization)
     SELECT $3::text, $4::text, $5::text, $6::text, $7::text FROM owner
     ON CONFLICT (message_uuid) DO NOTHING
   )
   SELECT (SELECT count(*) FROM owner)::int AS owned`,
);

/** A send from inside a step: not recorded (the step is), but only while the run still owns its workflow. */
export async function sendFromStep(db: SqlDriver, workflowID: string, ownerXid: string, m: OutgoingMessage): Promise<boolean> {
  return mapMissingDestination(m.destinationID, async () => {
    if (db.dialect === 'postgres') {
      const rows = await db.query<{ owned: number }>(SEND_FROM_STEP_PG, [workflowID, ownerXid, ...messageParams(m)]);
      return Number(rows[0]?.owned) > 0;
    }
    return db.transaction(async (tx) => {
      if (!(await ownsWorkflowSqlite(tx, workflowID, ownerXid))) return false;
      await tx.query(INSERT_MESSAGE, messageParams(m));
      return true;
    });
  });
}

export interface ReceiveAttempt {
  step: OperationStep;
  topic: string;
  /** At the deadline: record the outcome even when no message is there (recv returns null). */
  final: boolean;
}

export type ReceiveResult =
  /** The step row was written: the message taken (consumed by this function ID), or null at the deadline. */
  | { kind: 'received'; message: string | null; serialization: string | null }
  /** Nothing there yet and not final: nothing was written; wait and try again. */
  | { kind: 'empty' }
  | { kind: 'conflict' }
  | { kind: 'not-owner' };

// Take the oldest unconsumed message on the topic and record it as the step `DBOS.recv`, in one statement.
//  - The message row is locked (FOR UPDATE) before anything else: a concurrent recv of the same workflow that took
//    it first makes this one find nothing (it re-checks the row after the lock), so it waits again instead of taking
//    the same message twice.
//  - The owner is locked only when there is something to record, so an idle poll writes nothing.
//  - The message is marked consumed only if the step row was inserted.
//  - `done` says the step was recorded before this statement began: an earlier attempt whose reply was lost took the
//    message, so this one adopts that step instead of waiting for a message that will not come.
// Messages are ordered by creation time, then by the inserting transaction's ID, which orders sends made within the
// same millisecond one after the other (a later transaction gets a later ID).
const RECEIVE_PG = sql(
  'transact_recv',
  `WITH msg AS (
     SELECT message_uuid, message, serialization FROM dbos.notifications
      WHERE destination_uuid = $1::text AND topic = $8::text AND consumed = false
      ORDER BY created_at_epoch_ms, xmin::text::bigint
      LIMIT 1
      FOR UPDATE
   ), owner AS (
     SELECT 1 FROM dbos.workflow_status
      WHERE workflow_uuid = $1::text AND owner_xid = $2::text AND (EXISTS (SELECT 1 FROM msg) OR $9::boolean)
      FOR NO KEY UPDATE
   ), step AS (
     INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, error, started_at_epoch_ms,
                                         completed_at_epoch_ms, serialization, application_name)
     SELECT $1::text, $3::int, $4::text, msg.message, NULL, $5::bigint, $6::bigint, msg.serialization, $7::text
       FROM owner LEFT JOIN msg ON true
     ON CONFLICT (workflow_uuid, function_id) DO NOTHING
     RETURNING function_id
   ), consume AS (
     UPDATE dbos.notifications SET consumed = true, consumed_by_function_id = $3::int
      WHERE message_uuid = (SELECT message_uuid FROM msg) AND EXISTS (SELECT 1 FROM step)
   )
   SELECT (SELECT count(*) FROM msg)::int AS found, ${FENCE_RESULT_PG},
          (SELECT message FROM msg) AS message, (SELECT serialization FROM msg) AS serialization,
          EXISTS (SELECT 1 FROM dbos.operation_outputs WHERE workflow_uuid = $1::text AND function_id = $3::int) AS done`,
);

const HAS_MESSAGE_SQLITE = sql(
  'transact_has_message',
  '',
  'SELECT 1 AS found FROM notifications WHERE destination_uuid = $1 AND topic = $2 AND consumed = false LIMIT 1',
);
const OLDEST_MESSAGE_SQLITE = sql(
  'transact_oldest_message',
  '',
  `SELECT message_uuid, message, serialization FROM notifications
    WHERE destination_uuid = $1 AND topic = $2 AND consumed = false
    ORDER BY created_at_epoch_ms, rowid LIMIT 1`,
);
const CONSUME_SQLITE = sql(
  'transact_consume_message',
  '',
  'UPDATE notifications SET consumed = true, consumed_by_function_id = $2 WHERE message_uuid = $1',
);

interface MessageRow {
  message_uuid: string;
  message: string;
  serialization: string | null;
}

/** One attempt of recv: take the oldest message on the topic (or, if final, record that there was none). */
export async function receiveMessage(db: SqlDriver, a: ReceiveAttempt): Promise<ReceiveResult> {
  const { step } = a;
  if (db.dialect === 'postgres') {
    const rows = await db.query<{
      found: number;
      owned: number;
      recorded: number;
      message: string | null;
      serialization: string | null;
      done: boolean;
    }>(
      RECEIVE_PG,
      [...stepParams(step), a.topic, a.final],
    );
    const row = rows[0]!;
    if (row.done) return { kind: 'conflict' };
    if (Number(row.found) === 0 && !a.final) return { kind: 'empty' };
    const result = fencedResult(row);
    if (result !== 'recorded') return { kind: result };
    return { kind: 'received', message: row.message ?? null, serialization: row.message === null ? null : (row.serialization ?? null) };
  }
  // A read first, outside any write transaction: a poll that finds nothing takes no write lock.
  if (!a.final && (await db.query(HAS_MESSAGE_SQLITE, [step.workflowID, a.topic])).length === 0) return { kind: 'empty' };
  return db.transaction(async (tx): Promise<ReceiveResult> => {
    const found = (await tx.query<MessageRow>(OLDEST_MESSAGE_SQLITE, [step.workflowID, a.topic]))[0];
    if (!found && !a.final) return { kind: 'empty' };
    const output = { text: found?.message ?? null, serialization: found ? (found.serialization ?? null) : null };
    const result = await recordOperationStepSqlite(tx, step, output);
    if (result !== 'recorded') return { kind: result };
    if (found) await tx.query(CONSUME_SQLITE, [found.message_uuid, step.functionID]);
    return { kind: 'received', message: output.text, serialization: output.serialization };
  });
}
