// Many queued workflows in one statement (PostgreSQL) or one transaction (SQLite), for event receivers: a source's
// batch of messages becomes a batch of ENQUEUED rows at once. A row whose workflow ID exists already is skipped, not
// updated, so inserting the same batch again (a redelivery) changes nothing; the IDs inserted by this call come back.
// Unique violations other than the ID (a taken deduplication ID) are skipped likewise.

import type { SqlDriver } from './driver.js';
import { sql } from './driver.js';
import type { ClaimedWorkflow } from './queues.js';
import { toWorkflowRow } from './rows.js';

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

// Started rows come back as inserted now, or as stored by an earlier attempt under the same token: an attempt whose
// reply was lost (a driver retry, or the caller's) committed rows that nobody runs, and a plain ON CONFLICT would hide
// them from the retry. The second SELECT reads the snapshot from before this statement, so it sees only those.
const STARTED_RESULT_PG = `SELECT ins.*, batch.inputs AS batch_inputs FROM ins JOIN batch ON batch.workflow_uuid = ins.workflow_uuid
   UNION ALL
   SELECT w.*, batch.inputs AS batch_inputs FROM dbos.workflow_status w JOIN batch ON batch.workflow_uuid = w.workflow_uuid
    WHERE w.owner_xid = $14::text AND w.status = 'PENDING'`;

/**
 * The batch insert. `started`: the rows are stored already claimed by this executor (PENDING, owned by $14, started
 * now, one attempt), as a claim would leave them, and come back whole with their inputs, ready to run.
 */
const batchInsertPg = (started: boolean) => `WITH batch AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::bigint[], $10::text[])
       AS b(workflow_uuid, name, class_name, queue_name, queue_partition_key, application_version, serialization, inputs,
            created_at, creator_xid)
   ), ins AS (
     INSERT INTO dbos.workflow_status
       (workflow_uuid, status, name, class_name, queue_name, executor_id, application_version, application_id,
        application_name, recovery_attempts, creator_xid, priority, queue_partition_key, serialization, created_at, updated_at,
        owner_xid, started_at_epoch_ms)
     SELECT workflow_uuid, ${started ? "'PENDING'" : "'ENQUEUED'"}, name, class_name, queue_name, $11::text, application_version, $12::text,
            $13::text, ${started ? 1 : 0}, creator_xid, 0, queue_partition_key, serialization, COALESCE(created_at, NOWMS), NOWMS,
            ${started ? '$14::text, NOWMS' : 'NULL, NULL'}
       FROM batch
     ON CONFLICT DO NOTHING
     RETURNING ${started ? '*' : 'workflow_uuid'}
   ), input AS (
     INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
     SELECT batch.workflow_uuid, batch.inputs FROM batch JOIN ins ON ins.workflow_uuid = batch.workflow_uuid
     ON CONFLICT (workflow_uuid) DO NOTHING
   )
   ${started ? STARTED_RESULT_PG : 'SELECT workflow_uuid FROM ins'}`;

const INSERT_BATCH_PG = sql('transact_insert_workflow_batch', batchInsertPg(false));
const INSERT_STARTED_BATCH_PG = sql('transact_insert_started_batch', batchInsertPg(true));

const insertOneSqlite = (started: boolean) => `INSERT INTO workflow_status
     (workflow_uuid, status, name, class_name, queue_name, executor_id, application_version, application_id,
      application_name, recovery_attempts, creator_xid, priority, queue_partition_key, serialization, created_at, updated_at,
      owner_xid, started_at_epoch_ms)
   VALUES ($1, ${started ? "'PENDING'" : "'ENQUEUED'"}, $2, $3, $4, $10, $6, $11, $12, ${started ? 1 : 0}, $9, 0, $5, $7, COALESCE($8, NOWMS), NOWMS,
           ${started ? '$13, NOWMS' : 'NULL, NULL'})
   ON CONFLICT DO NOTHING
   RETURNING ${started ? '*' : 'workflow_uuid'}`;

const INSERT_ONE_SQLITE = sql('transact_insert_workflow_batch_row', '', insertOneSqlite(false));
const INSERT_STARTED_ONE_SQLITE = sql('transact_insert_started_batch_row', '', insertOneSqlite(true));
const STORED_EARLIER_SQLITE = sql(
  'transact_started_batch_row_earlier',
  '',
  `SELECT * FROM workflow_status WHERE workflow_uuid = $1 AND owner_xid = $2 AND status = 'PENDING'`,
);
const INSERT_INPUT_SQLITE = sql(
  'transact_insert_workflow_batch_input',
  '',
  'INSERT INTO workflow_input (workflow_uuid, inputs) VALUES ($1, $2) ON CONFLICT (workflow_uuid) DO NOTHING',
);
/** Inserts the rows that do not exist yet; returns the IDs this call inserted. */
export async function insertQueuedBatch(db: SqlDriver, rows: readonly QueuedRow[], who: BatchIdentity): Promise<Set<string>> {
  const inserted = await insertBatch(db, rows, who, null);
  return new Set(inserted.map((r) => String(r.workflow_uuid)));
}

/**
 * Inserts the rows that do not exist yet as claimed by this executor under `ownerXid` (PENDING, started now), for the
 * caller to run at once; returns the rows this call inserted, as a claim returns them (a row that existed already is
 * left as it is, and not returned: whoever stored it runs it), and those an earlier attempt under the same `ownerXid`
 * stored (retry a failed call with the same token, so rows a lost reply hid are run, once).
 */
export async function insertStartedBatch(db: SqlDriver, rows: readonly QueuedRow[], who: BatchIdentity, ownerXid: string): Promise<ClaimedWorkflow[]> {
  const inserted = await insertBatch(db, rows, who, ownerXid);
  return inserted.map((r) => ({ row: toWorkflowRow({ ...r, inputs: r.batch_inputs }), steps: [] }));
}

async function insertBatch(db: SqlDriver, rows: readonly QueuedRow[], who: BatchIdentity, ownerXid: string | null): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  if (db.dialect === 'postgres') {
    const column = <K extends keyof QueuedRow>(key: K) => rows.map((r) => r[key]);
    const params: unknown[] = [
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
    ];
    if (ownerXid === null) return db.query<Record<string, unknown>>(INSERT_BATCH_PG, params);
    return db.query<Record<string, unknown>>(INSERT_STARTED_BATCH_PG, [...params, ownerXid]);
  }
  return db.transaction(async (tx) => {
    const inserted: Record<string, unknown>[] = [];
    for (const r of rows) {
      const params: unknown[] = [
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
      ];
      const found = await tx.query<Record<string, unknown>>(ownerXid === null ? INSERT_ONE_SQLITE : INSERT_STARTED_ONE_SQLITE, ownerXid === null ? params : [...params, ownerXid]);
      if (found.length === 0) {
        // Stored by an earlier attempt under this token (see STARTED_RESULT_PG): still this call's to run.
        if (ownerXid !== null) {
          const earlier = await tx.query<Record<string, unknown>>(STORED_EARLIER_SQLITE, [r.workflowID, ownerXid]);
          if (earlier.length > 0) inserted.push({ ...earlier[0]!, batch_inputs: r.inputs });
        }
        continue;
      }
      inserted.push({ ...found[0]!, batch_inputs: r.inputs });
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
