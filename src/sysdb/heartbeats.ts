// Executor heartbeats (a table of Transact's own, beside DBOS's): each live executor refreshes its row on the
// database clock; when a row is older than the lease, a live executor of the same application version takes the
// dead one's PENDING workflows back to their queues, and the queue claim decides who runs them. The ownership token
// of each run keeps the old executor, if it was only paused, from recording anything more.

import { hostname } from 'node:os';
import { sql, type SqlDriver } from './driver.js';
import { INTERNAL_QUEUE } from './rows.js';
import { QUEUE_CHANNEL } from './workflows.js';

export const HEARTBEATS_TABLE = 'transact_executor_heartbeats';

export interface ExecutorIdentity {
  executorID: string;
  applicationName: string;
  applicationVersion: string;
}

// started_at_epoch_ms is written on insert only: if it comes back different from the first beat's, the row was
// deleted in between, which only a takeover does, so this executor was presumed dead.
const BEAT = sql(
  'transact_heartbeat',
  `INSERT INTO dbos.${HEARTBEATS_TABLE}
     (executor_id, application_name, application_version, last_heartbeat_epoch_ms, started_at_epoch_ms, hostname, pid)
   VALUES ($1, $2, $3, NOWMS, NOWMS, $4, $5)
   ON CONFLICT (application_name, executor_id) DO UPDATE
     SET last_heartbeat_epoch_ms = EXCLUDED.last_heartbeat_epoch_ms, application_version = EXCLUDED.application_version,
         hostname = EXCLUDED.hostname, pid = EXCLUDED.pid
   RETURNING started_at_epoch_ms`,
  `INSERT INTO ${HEARTBEATS_TABLE}
     (executor_id, application_name, application_version, last_heartbeat_epoch_ms, started_at_epoch_ms, hostname, pid)
   VALUES ($1, $2, $3, NOWMS, NOWMS, $4, $5)
   ON CONFLICT (application_name, executor_id) DO UPDATE
     SET last_heartbeat_epoch_ms = excluded.last_heartbeat_epoch_ms, application_version = excluded.application_version,
         hostname = excluded.hostname, pid = excluded.pid
   RETURNING started_at_epoch_ms`,
);

/** Refreshes this executor's heartbeat; returns the row's start time (it changes if the row was taken over). */
export async function beat(db: SqlDriver, me: ExecutorIdentity): Promise<number> {
  const rows = await db.query<{ started_at_epoch_ms: number }>(BEAT, [
    me.executorID,
    me.applicationName,
    me.applicationVersion,
    hostname(),
    process.pid,
  ]);
  return Number(rows[0]!.started_at_epoch_ms);
}

const REMOVE = sql(
  'transact_remove_heartbeat',
  `DELETE FROM dbos.${HEARTBEATS_TABLE} WHERE application_name = $1 AND executor_id = $2`,
);

export async function removeHeartbeat(db: SqlDriver, me: ExecutorIdentity): Promise<void> {
  await db.query(REMOVE, [me.applicationName, me.executorID]);
}

// One statement: the lapsed rows are deleted (SKIP LOCKED, so of several live executors exactly one takes each dead
// one over; a row refreshed meanwhile is re-checked under its lock and no longer matches), their PENDING workflows go
// back to their queue (or the internal queue, as recovery at launch does, dbos-spec §3.5), and each queue that got
// work is announced so every dispatcher claims at once. The PENDING rows are found through the partial index of
// PENDING rows, whose size is the work in flight, not the history.
const TAKE_OVER_PG = sql(
  'transact_take_over_lapsed',
  `WITH lapsed AS (
     DELETE FROM dbos.${HEARTBEATS_TABLE} h
      WHERE (h.application_name, h.executor_id) IN (
        SELECT application_name, executor_id FROM dbos.${HEARTBEATS_TABLE}
         WHERE application_name = $1 AND application_version = $2 AND executor_id <> $3
           AND last_heartbeat_epoch_ms < NOWMS - $4::bigint
         FOR UPDATE SKIP LOCKED)
      RETURNING h.executor_id
   ), requeued AS (
     UPDATE dbos.workflow_status
        SET status = 'ENQUEUED', started_at_epoch_ms = NULL, owner_xid = NULL, updated_at = NOWMS,
            queue_name = COALESCE(queue_name, '${INTERNAL_QUEUE}')
      WHERE status = 'PENDING' AND executor_id IN (SELECT executor_id FROM lapsed) AND application_version = $2
        AND (application_name = $1 OR application_name IS NULL)
      RETURNING workflow_uuid, queue_name
   ), queues AS (
     SELECT DISTINCT queue_name FROM requeued
   )
   SELECT (SELECT array_agg(executor_id) FROM lapsed) AS executors,
          (SELECT count(*) FROM requeued)::int AS requeued,
          q.queue_name, pg_notify('${QUEUE_CHANNEL}', q.queue_name) AS notified
     FROM (SELECT 1) one LEFT JOIN queues q ON true`,
);

const LAPSED_SQLITE = sql(
  'transact_lapsed_executors',
  '',
  `DELETE FROM ${HEARTBEATS_TABLE}
    WHERE application_name = $1 AND application_version = $2 AND executor_id <> $3
      AND last_heartbeat_epoch_ms < NOWMS - $4
    RETURNING executor_id`,
);

const REQUEUE_SQLITE = sql(
  'transact_requeue_lapsed',
  '',
  `UPDATE workflow_status
      SET status = 'ENQUEUED', started_at_epoch_ms = NULL, owner_xid = NULL, updated_at = NOWMS,
          queue_name = COALESCE(queue_name, '${INTERNAL_QUEUE}')
    WHERE status = 'PENDING' AND executor_id IN (SELECT value FROM json_each($3)) AND application_version = $2
      AND (application_name = $1 OR application_name IS NULL)
    RETURNING queue_name`,
);

export interface TakeOver {
  /** Executors found dead (their heartbeat older than the lease) and taken over by this call. */
  executors: string[];
  /** How many of their workflows went back to a queue. */
  requeued: number;
  /** The queues that got them. */
  queues: string[];
}

/** Takes over every executor of this application version whose heartbeat is older than `leaseMs`. */
export async function takeOverLapsedExecutors(db: SqlDriver, me: ExecutorIdentity, leaseMs: number): Promise<TakeOver> {
  const params = [me.applicationName, me.applicationVersion, me.executorID, leaseMs];
  if (db.dialect === 'postgres') {
    const rows = await db.query<{ executors: string[] | null; requeued: number; queue_name: string | null }>(TAKE_OVER_PG, params);
    const first = rows[0];
    return {
      executors: first?.executors ?? [],
      requeued: Number(first?.requeued ?? 0),
      queues: rows.flatMap((r) => (r.queue_name ? [r.queue_name] : [])),
    };
  }
  return db.transaction(async (tx) => {
    const lapsed = (await tx.query<{ executor_id: string }>(LAPSED_SQLITE, params)).map((r) => r.executor_id);
    if (lapsed.length === 0) return { executors: [], requeued: 0, queues: [] };
    const requeued = await tx.query<{ queue_name: string }>(REQUEUE_SQLITE, [me.applicationName, me.applicationVersion, lapsed]);
    return { executors: lapsed, requeued: requeued.length, queues: [...new Set(requeued.map((r) => r.queue_name))] };
  });
}

// A row of another version of the application, lapsed, whose executor left no PENDING work, tells nobody anything:
// its process is gone and nothing waits for it (a version retired by a deploy). Rows with PENDING work stay, for a
// process of that version to take over. The PENDING rows are probed through the partial index of PENDING rows.
const PRUNE = sql(
  'transact_prune_heartbeats',
  `DELETE FROM dbos.${HEARTBEATS_TABLE} h
    WHERE h.application_name = $1 AND h.application_version <> $2 AND h.last_heartbeat_epoch_ms < NOWMS - $3::bigint
      AND NOT EXISTS (SELECT 1 FROM dbos.workflow_status ws
                       WHERE ws.status = 'PENDING' AND ws.executor_id = h.executor_id
                         AND ws.application_version = h.application_version)
    RETURNING h.executor_id`,
  `DELETE FROM ${HEARTBEATS_TABLE}
    WHERE application_name = $1 AND application_version <> $2 AND last_heartbeat_epoch_ms < NOWMS - $3
      AND NOT EXISTS (SELECT 1 FROM workflow_status ws
                       WHERE ws.status = 'PENDING' AND ws.executor_id = ${HEARTBEATS_TABLE}.executor_id
                         AND ws.application_version = ${HEARTBEATS_TABLE}.application_version)
    RETURNING executor_id`,
);

/** Deletes the lapsed heartbeats of other versions that left no PENDING work; returns their executor IDs. */
export async function pruneRetiredHeartbeats(db: SqlDriver, me: ExecutorIdentity, leaseMs: number): Promise<string[]> {
  const rows = await db.query<{ executor_id: string }>(PRUNE, [me.applicationName, me.applicationVersion, leaseMs]);
  return rows.map((r) => r.executor_id);
}

const STILL_OWNED = sql(
  'transact_still_owned',
  `SELECT workflow_uuid FROM dbos.workflow_status
    WHERE workflow_uuid = ANY($1::text[]) AND status = 'PENDING' AND executor_id = $2`,
  `SELECT workflow_uuid FROM workflow_status
    WHERE workflow_uuid IN (SELECT value FROM json_each($1)) AND status = 'PENDING' AND executor_id = $2`,
);

/** Which of these workflows this executor still holds (after it was presumed dead, some were taken over). */
export async function workflowsStillHeld(db: SqlDriver, workflowIDs: string[], executorID: string): Promise<Set<string>> {
  if (workflowIDs.length === 0) return new Set();
  const rows = await db.query<{ workflow_uuid: string }>(STILL_OWNED, [workflowIDs, executorID]);
  return new Set(rows.map((r) => r.workflow_uuid));
}
