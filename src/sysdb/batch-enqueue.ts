// Many queued workflows in one statement (PostgreSQL) or one transaction (SQLite), for event receivers: a source's
// batch of messages becomes a batch of ENQUEUED rows at once. A row whose workflow ID exists already is skipped, not
// updated, so inserting the same batch again (a redelivery) changes nothing; the IDs inserted by this call come back.
// Unique violations other than the ID (a taken deduplication ID) are skipped likewise.

import type { SqlDriver } from './driver.js';
import { sql } from './driver.js';

/** One ENQUEUED row; what is not here is the same for every row of a batch (see BatchIdentity) or left empty. */
export interface QueuedRow {
  workflowID: string;
  name: string;
  className: string | null;
  queueName: string;
  queuePartitionKey: string | null;
  applicationVersion: string | null;
  serialization: string;
  inputs: string;
  /** The creation time, which orders a queue (epoch ms); null: the database clock. */
  createdAtEpochMs: number | null;
  /** A fresh token per row, as insertWorkflow's creator_xid. */
  creatorXid: string;
}

export interface BatchIdentity {
  executorID: string;
  applicationID: string | null;
  applicationName: string;
}

const INSERT_BATCH_PG = sql(
  'transact_insert_workflow_batch',
  `WITH batch AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::bigint[], $10::text[])
       AS b(workflow_uuid, name, class_name, queue_name, queue_partition_key, application_version, serialization, inputs,
            created_at, creator_xid)
   ), ins AS (
     INSERT INTO dbos.workflow_status
       (workflow_uuid, status, name, class_name, queue_name, executor_id, application_version, application_id,
        application_name, recovery_attempts, creator_xid, priority, queue_partition_key, serialization, created_at, updated_at)
     SELECT workflow_uuid, 'ENQUEUED', name, class_name, queue_name, $11::text, application_version, $12::text,
            $13::text, 0, creator_xid, 0, queue_partition_key, serialization, COALESCE(created_at, NOWMS), NOWMS
       FROM batch
     ON CONFLICT DO NOTHING
     RETURNING workflow_uuid
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT batch.workflow_uuid, batch.inputs FROM batch JOIN ins ON ins.workflow_uuid = batch.workflow_uuid
     ON CONFLICT (workflow_uuid) DO NOTHING
   )
   SELECT workflow_uuid FROM ins`,
);

const INSERT_ONE_SQLITE = sql(
  'transact_insert_workflow_batch_row',
  '',
  `INSERT INTO workflow_status
     (workflow_uuid, status, name, class_name, queue_name, executor_id, application_version, application_id,
      application_name, recovery_attempts, creator_xid, priority, queue_partition_key, serialization, created_at, updated_at)
   VALUES ($1, 'ENQUEUED', $2, $3, $4, $10, $6, $11, $12, 0, $9, 0, $5, $7, COALESCE($8, NOWMS), NOWMS)
   ON CONFLICT DO NOTHING
   RETURNING workflow_uuid`,
);
const INSERT_INPUT_SQLITE = sql(
  'transact_insert_workflow_batch_input',
  '',
  'INSERT INTO workflow_input (workflow_uuid, inputs) VALUES ($1, $2) ON CONFLICT (workflow_uuid) DO NOTHING',
);

/** Inserts the rows that do not exist yet; returns the IDs this call inserted. */
export async function insertQueuedBatch(db: SqlDriver, rows: readonly QueuedRow[], who: BatchIdentity): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  if (db.dialect === 'postgres') {
    const column = <K extends keyof QueuedRow>(key: K) => rows.map((r) => r[key]);
    const inserted = await db.query<{ workflow_uuid: string }>(INSERT_BATCH_PG, [
      column('workflowID'),
      column('name'),
      column('className'),
      column('queueName'),
      column('queuePartitionKey'),
      column('applicationVersion'),
      column('serialization'),
      column('inputs'),
      column('createdAtEpochMs'),
      column('creatorXid'),
      who.executorID,
      who.applicationID,
      who.applicationName,
    ]);
    return new Set(inserted.map((r) => r.workflow_uuid));
  }
  return db.transaction(async (tx) => {
    const inserted = new Set<string>();
    for (const r of rows) {
      const found = await tx.query<{ workflow_uuid: string }>(INSERT_ONE_SQLITE, [
        r.workflowID,
        r.name,
        r.className,
        r.queueName,
        r.queuePartitionKey,
        r.applicationVersion,
        r.serialization,
        r.createdAtEpochMs,
        r.creatorXid,
        who.executorID,
        who.applicationID,
        who.applicationName,
      ]);
      if (found.length === 0) continue;
      inserted.add(r.workflowID);
      await tx.query(INSERT_INPUT_SQLITE, [r.workflowID, r.inputs]);
    }
    return inserted;
  });
}

const UNFINISHED_ON_QUEUES_PG = sql(
  'transact_unfinished_on_queues',
  `SELECT count(*)::bigint AS n FROM dbos.workflow_status
    WHERE queue_name = ANY($1::text[]) AND status IN ('ENQUEUED', 'PENDING', 'DELAYED')`,
);
const UNFINISHED_ON_QUEUE_SQLITE = sql(
  'transact_unfinished_on_queue',
  '',
  `SELECT count(*) AS n FROM workflow_status WHERE queue_name = $1 AND status IN ('ENQUEUED', 'PENDING', 'DELAYED')`,
);

/** How many workflows of these queues are stored but not finished (the backlog a receiver's flow control watches). */
export async function countUnfinishedOnQueues(db: SqlDriver, queueNames: readonly string[]): Promise<number> {
  if (db.dialect === 'postgres') {
    const [row] = await db.query<{ n: string | number }>(UNFINISHED_ON_QUEUES_PG, [queueNames]);
    return Number(row?.n ?? 0);
  }
  let total = 0;
  for (const name of queueNames) {
    const [row] = await db.query<{ n: string | number }>(UNFINISHED_ON_QUEUE_SQLITE, [name]);
    total += Number(row?.n ?? 0);
  }
  return total;
}
