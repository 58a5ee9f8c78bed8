// The `queues` table: queues registered at run time (DBOS.registerQueue), shared by every process of an application.
// Each process reads the rows of its own application (and unclaimed ones) to know which queues to dispatch.

import { sql, type Queryable, type SqlDriver } from './driver.js';
import { QUEUE_CHANNEL } from './workflows.js';

/** One row of `queues`, in the engine's terms. */
export interface QueueRecord {
  name: string;
  concurrency: number | null;
  workerConcurrency: number | null;
  rateLimitMax: number | null;
  rateLimitPeriodSec: number | null;
  /** Derived: any partition limit is set. */
  partitionQueue: boolean;
  partitionConcurrency: number | null;
  partitionWorkerConcurrency: number | null;
  partitionRateLimitMax: number | null;
  partitionRateLimitPeriodSec: number | null;
  pollingIntervalSec: number;
  /** The owning application; null for an unclaimed queue (registered by a client without one). */
  applicationName: string | null;
}

const COLUMNS = `name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec, partition_queue,
  partition_concurrency, partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
  polling_interval_sec, application_name`;

function toRecord(r: Record<string, unknown>): QueueRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    name: r.name as string,
    concurrency: num(r.concurrency),
    workerConcurrency: num(r.worker_concurrency),
    rateLimitMax: num(r.rate_limit_max),
    rateLimitPeriodSec: num(r.rate_limit_period_sec),
    partitionQueue: Boolean(r.partition_queue),
    partitionConcurrency: num(r.partition_concurrency),
    partitionWorkerConcurrency: num(r.partition_worker_concurrency),
    partitionRateLimitMax: num(r.partition_rate_limit_max),
    partitionRateLimitPeriodSec: num(r.partition_rate_limit_period_sec),
    pollingIntervalSec: Number(r.polling_interval_sec ?? 1),
    applicationName: (r.application_name as string | null) ?? null,
  };
}

function recordParams(q: QueueRecord): unknown[] {
  return [
    q.name,
    q.concurrency,
    q.workerConcurrency,
    q.rateLimitMax,
    q.rateLimitPeriodSec,
    q.partitionQueue,
    q.partitionConcurrency,
    q.partitionWorkerConcurrency,
    q.partitionRateLimitMax,
    q.partitionRateLimitPeriodSec,
    q.pollingIntervalSec,
    q.applicationName,
  ];
}

const GET_QUEUE = sql('transact_get_queue', `SELECT ${COLUMNS} FROM dbos.queues WHERE name = $1`);

const GET_QUEUE_FOR_UPDATE = sql(
  'transact_get_queue_for_update',
  `SELECT ${COLUMNS} FROM dbos.queues WHERE name = $1 FOR UPDATE`,
  `SELECT ${COLUMNS} FROM queues WHERE name = $1`,
);

const LIST_QUEUES = sql(
  'transact_list_queues',
  `SELECT ${COLUMNS} FROM dbos.queues
    WHERE ($1::text[] IS NULL OR application_name = ANY($1::text[]) OR application_name IS NULL) ORDER BY name`,
  `SELECT ${COLUMNS} FROM queues
    WHERE ($1 IS NULL OR application_name IN (SELECT value FROM json_each($1)) OR application_name IS NULL) ORDER BY name`,
);

// priority_enabled is vestigial: DBOS 5.x always writes TRUE (every queue honours priorities).
const INSERT_QUEUE = sql(
  'transact_insert_queue',
  `INSERT INTO dbos.queues (queue_id, ${COLUMNS}, priority_enabled)
   VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, true)
   ON CONFLICT (name) DO NOTHING
   RETURNING name, pg_notify('${QUEUE_CHANNEL}', name) AS notified`,
  `INSERT INTO queues (${COLUMNS}, priority_enabled)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)
   ON CONFLICT (name) DO NOTHING
   RETURNING name`,
);

const UPDATE_QUEUE = sql(
  'transact_update_queue',
  `UPDATE dbos.queues
      SET concurrency = $2, worker_concurrency = $3, rate_limit_max = $4, rate_limit_period_sec = $5,
          partition_queue = $6, partition_concurrency = $7, partition_worker_concurrency = $8,
          partition_rate_limit_max = $9, partition_rate_limit_period_sec = $10, polling_interval_sec = $11,
          application_name = $12, updated_at = NOWMS
    WHERE name = $1
    RETURNING name, pg_notify('${QUEUE_CHANNEL}', name) AS notified`,
  `UPDATE queues
      SET concurrency = $2, worker_concurrency = $3, rate_limit_max = $4, rate_limit_period_sec = $5,
          partition_queue = $6, partition_concurrency = $7, partition_worker_concurrency = $8,
          partition_rate_limit_max = $9, partition_rate_limit_period_sec = $10, polling_interval_sec = $11,
          application_name = $12, updated_at = NOWMS
    WHERE name = $1
    RETURNING name`,
);

const DELETE_QUEUE = sql(
  'transact_delete_queue',
  `DELETE FROM dbos.queues WHERE name = $1 RETURNING name, pg_notify('${QUEUE_CHANNEL}', name) AS notified`,
  'DELETE FROM queues WHERE name = $1 RETURNING name',
);

export async function getQueueRecord(db: Queryable, name: string): Promise<QueueRecord | undefined> {
  const rows = await db.query(GET_QUEUE, [name]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** The queues of these applications and the unclaimed ones; every queue when `applicationNames` is null. */
export async function listQueueRecords(db: Queryable, applicationNames: string[] | null): Promise<QueueRecord[]> {
  return (await db.query(LIST_QUEUES, [applicationNames])).map(toRecord);
}

export type QueueConflictResolution = 'update_if_latest_version' | 'always_update' | 'never_update';

export type RegisterQueueOutcome =
  | { kind: 'stored'; record: QueueRecord; created: boolean }
  /** A queue of this name belongs to another application: the name is its address, not ours to take. */
  | { kind: 'owned-elsewhere'; owner: string };

/**
 * Stores a queue's configuration (one transaction). An existing row of this application (or an unclaimed one) is
 * overwritten according to `onConflict`; `isLatestVersion` decides `update_if_latest_version`, so an old version
 * in a rolling deploy does not undo a newer one's settings.
 */
export async function registerQueueRecord(
  db: SqlDriver,
  record: QueueRecord,
  onConflict: QueueConflictResolution,
  isLatestVersion: boolean,
): Promise<RegisterQueueOutcome> {
  return db.transaction(async (tx) => {
    const inserted = await tx.query(INSERT_QUEUE, recordParams(record));
    if (inserted.length > 0) return { kind: 'stored', record, created: true };
    const [row] = await tx.query(GET_QUEUE_FOR_UPDATE, [record.name]);
    if (!row) return { kind: 'stored', record, created: false }; // deleted meanwhile; the next registration recreates it
    const existing = toRecord(row);
    if (existing.applicationName !== null && record.applicationName !== null && existing.applicationName !== record.applicationName) {
      return { kind: 'owned-elsewhere', owner: existing.applicationName };
    }
    const update = onConflict === 'always_update' || (onConflict === 'update_if_latest_version' && isLatestVersion);
    if (!update) return { kind: 'stored', record: existing, created: false };
    const next = { ...record, applicationName: existing.applicationName ?? record.applicationName };
    await tx.query(UPDATE_QUEUE, recordParams(next));
    return { kind: 'stored', record: next, created: false };
  });
}

/** Changes some settings of a stored queue (read, merge and write in one transaction); undefined if it is gone. */
export async function updateQueueRecord(
  db: SqlDriver,
  name: string,
  change: (current: QueueRecord) => QueueRecord,
): Promise<QueueRecord | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query(GET_QUEUE_FOR_UPDATE, [name]);
    if (!row) return undefined;
    const next = change(toRecord(row));
    await tx.query(UPDATE_QUEUE, recordParams(next));
    return next;
  });
}

export async function deleteQueueRecord(db: SqlDriver, name: string): Promise<boolean> {
  return (await db.query(DELETE_QUEUE, [name])).length > 0;
}
