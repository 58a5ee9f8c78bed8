// Executor heartbeats (a table of Transact's own, beside DBOS's): each live executor refreshes its row on the
// database clock; when a row is older than the lease, a live executor of the same application version takes the
// dead one's PENDING workflows back to their queues, and the queue claim decides who runs them. The ownership token
// of each run keeps the old executor, if it was only paused, from recording anything more.

import { sql, type SqlDriver } from './driver.js';
import { INTERNAL_QUEUE } from './rows.js';
import { QUEUE_CHANNEL } from './workflows.js';

export const HEARTBEATS_TABLE = 'transact_executor_heartbeats';

export interface ExecutorIdentity {
  executorID: string;
  applicationName: string;
  applicationVersion: string;
}

/** One launch of an executor: a fresh token, and where the process runs (for telling whether it is still alive). */
export interface Incarnation extends ExecutorIdentity {
  incarnation: string;
  /** Host, boot and PID namespace: two processes with the same host_id see each other's PIDs. */
  hostID: string;
  pid: number;
  hostname: string;
}

const PREVIOUS_HOLDER = sql(
  'transact_executor_previous',
  `SELECT incarnation, host_id, hostname, pid, NOWMS - last_heartbeat_epoch_ms AS silent_ms
     FROM dbos.${HEARTBEATS_TABLE} WHERE application_name = $1 AND executor_id = $2 FOR UPDATE`,
  `SELECT incarnation, host_id, hostname, pid, NOWMS - last_heartbeat_epoch_ms AS silent_ms
     FROM ${HEARTBEATS_TABLE} WHERE application_name = $1 AND executor_id = $2`,
);

// Inserts this incarnation's row, or takes the row of an earlier incarnation of the same executor ID over.
const CLAIM_EXECUTOR = sql(
  'transact_executor_claim',
  `INSERT INTO dbos.${HEARTBEATS_TABLE} AS h
     (executor_id, application_name, application_version, last_heartbeat_epoch_ms, started_at_epoch_ms, hostname, pid,
      incarnation, host_id)
   VALUES ($1, $2, $3, NOWMS, NOWMS, $4, $5, $6, $7)
   ON CONFLICT (application_name, executor_id) DO UPDATE
     SET application_version = EXCLUDED.application_version, last_heartbeat_epoch_ms = EXCLUDED.last_heartbeat_epoch_ms,
         started_at_epoch_ms = EXCLUDED.started_at_epoch_ms, hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
         incarnation = EXCLUDED.incarnation, host_id = EXCLUDED.host_id`,
);

/** What an earlier incarnation of this executor ID left in the heartbeat table. */
export interface PreviousHolder {
  incarnation: string | null;
  hostID: string | null;
  hostname: string | null;
  pid: number | null;
  /** How long ago (on the database clock) it last beat. */
  silentMs: number;
}

function claimParams(me: Incarnation): unknown[] {
  return [me.executorID, me.applicationName, me.applicationVersion, me.hostname, me.pid, me.incarnation, me.hostID];
}

/**
 * At launch: this incarnation becomes the holder of its executor ID (from now on only its beats count), unless an
 * earlier holder is still there and `mayTake` says it may still be alive. Returns whether the ID was taken, and the
 * earlier holder if there was one. In one transaction, so the earlier holder cannot beat in between.
 */
export async function claimExecutorID(
  db: SqlDriver,
  me: Incarnation,
  mayTake: (previous: PreviousHolder) => boolean,
): Promise<{ taken: boolean; previous?: PreviousHolder }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<Record<string, unknown>>(PREVIOUS_HOLDER, [me.applicationName, me.executorID]);
    const previous: PreviousHolder | undefined = row && {
      incarnation: (row.incarnation as string | null) ?? null,
      hostID: (row.host_id as string | null) ?? null,
      hostname: (row.hostname as string | null) ?? null,
      pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
      silentMs: Number(row.silent_ms),
    };
    if (previous && !mayTake(previous)) return { taken: false, previous };
    await tx.query(CLAIM_EXECUTOR, claimParams(me));
    return { taken: true, previous };
  });
}

// A beat counts only for the incarnation that holds the row: a process whose executor ID was taken by a newer launch,
// or whose row was deleted by a takeover, learns it here (no row returned) instead of refreshing someone else's row.
const BEAT = sql(
  'transact_heartbeat',
  `UPDATE dbos.${HEARTBEATS_TABLE} SET last_heartbeat_epoch_ms = NOWMS, application_version = $3
    WHERE application_name = $2 AND executor_id = $1 AND incarnation = $4
   RETURNING started_at_epoch_ms`,
);

const HOLDER = sql(
  'transact_executor_holder',
  `SELECT incarnation FROM dbos.${HEARTBEATS_TABLE} WHERE application_name = $1 AND executor_id = $2`,
);

const REVIVE = sql(
  'transact_executor_revive',
  `INSERT INTO dbos.${HEARTBEATS_TABLE}
     (executor_id, application_name, application_version, last_heartbeat_epoch_ms, started_at_epoch_ms, hostname, pid,
      incarnation, host_id)
   VALUES ($1, $2, $3, NOWMS, NOWMS, $4, $5, $6, $7)
   ON CONFLICT (application_name, executor_id) DO NOTHING
   RETURNING started_at_epoch_ms`,
);

export type BeatResult =
  /** The row is this incarnation's, refreshed. */
  | 'alive'
  /** The row had been deleted: this executor was presumed dead and its work taken over; the row is written again. */
  | 'revived'
  /** A newer launch with the same executor ID holds the row now. */
  | 'superseded';

/** Refreshes this incarnation's heartbeat. */
export async function beat(db: SqlDriver, me: Incarnation): Promise<BeatResult> {
  const rows = await db.query(BEAT, [me.executorID, me.applicationName, me.applicationVersion, me.incarnation]);
  if (rows.length > 0) return 'alive';
  const [holder] = await db.query<{ incarnation: string | null }>(HOLDER, [me.applicationName, me.executorID]);
  if (holder) return holder.incarnation === me.incarnation ? 'alive' : 'superseded';
  const revived = await db.query(REVIVE, claimParams(me));
  return revived.length > 0 ? 'revived' : 'superseded';
}

const REMOVE = sql(
  'transact_remove_heartbeat',
  `DELETE FROM dbos.${HEARTBEATS_TABLE} WHERE application_name = $1 AND executor_id = $2 AND incarnation = $3`,
);

/** Deletes this incarnation's row (a clean shutdown that handed all its work back). */
export async function removeHeartbeat(db: SqlDriver, me: Incarnation): Promise<void> {
  await db.query(REMOVE, [me.applicationName, me.executorID, me.incarnation]);
}

const PEERS = sql(
  'transact_executor_peers',
  `SELECT executor_id, incarnation, host_id, pid, NOWMS - last_heartbeat_epoch_ms AS silent_ms
     FROM dbos.${HEARTBEATS_TABLE}
    WHERE application_name = $1 AND application_version = $2 AND executor_id <> $3`,
);

/** Another executor of this application version, as its heartbeat row shows it. */
export interface Peer {
  executorID: string;
  incarnation: string | null;
  hostID: string | null;
  pid: number | null;
  silentMs: number;
}

/** The other executors of this application version (a small table: one row per live or recently dead executor). */
export async function peers(db: SqlDriver, me: ExecutorIdentity): Promise<Peer[]> {
  const rows = await db.query<Record<string, unknown>>(PEERS, [me.applicationName, me.applicationVersion, me.executorID]);
  return rows.map((r) => ({
    executorID: r.executor_id as string,
    incarnation: (r.incarnation as string | null) ?? null,
    hostID: (r.host_id as string | null) ?? null,
    pid: r.pid === null || r.pid === undefined ? null : Number(r.pid),
    silentMs: Number(r.silent_ms),
  }));
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
           AND (last_heartbeat_epoch_ms < NOWMS - $4::bigint
                OR (executor_id, COALESCE(incarnation, '')) IN (SELECT * FROM unnest($5::text[], $6::text[])))
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
      AND (last_heartbeat_epoch_ms < NOWMS - $4
           OR EXISTS (SELECT 1 FROM json_each($5) d
                       WHERE json_extract(d.value, '$[0]') = executor_id
                         AND json_extract(d.value, '$[1]') = COALESCE(incarnation, '')))
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

/**
 * Takes over every executor of this application version whose heartbeat is older than `leaseMs`, and the given
 * incarnations (found dead by other means: their process is gone), unless they beat again meanwhile... as a newer
 * incarnation, which does not match.
 */
export async function takeOverLapsedExecutors(
  db: SqlDriver,
  me: ExecutorIdentity,
  /** null: no executor is taken over for a lapsed lease, only the `dead` incarnations. */
  leaseMs: number | null,
  dead: readonly Pick<Peer, 'executorID' | 'incarnation'>[] = [],
): Promise<TakeOver> {
  if (leaseMs === null) leaseMs = Number.MAX_SAFE_INTEGER;
  if (db.dialect === 'postgres') {
    const params = [
      me.applicationName,
      me.applicationVersion,
      me.executorID,
      leaseMs,
      dead.map((d) => d.executorID),
      dead.map((d) => d.incarnation ?? ''),
    ];
    const rows = await db.query<{ executors: string[] | null; requeued: number; queue_name: string | null }>(TAKE_OVER_PG, params);
    const first = rows[0];
    return {
      executors: first?.executors ?? [],
      requeued: Number(first?.requeued ?? 0),
      queues: rows.flatMap((r) => (r.queue_name ? [r.queue_name] : [])),
    };
  }
  const params = [
    me.applicationName,
    me.applicationVersion,
    me.executorID,
    leaseMs,
    dead.map((d) => [d.executorID, d.incarnation ?? '']),
  ];
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
  `SELECT ws.workflow_uuid FROM dbos.workflow_status ws
     JOIN unnest($1::text[], $2::text[]) AS r(wf, owner) ON ws.workflow_uuid = r.wf AND ws.owner_xid = r.owner
    WHERE ws.status = 'PENDING'`,
  `SELECT ws.workflow_uuid FROM workflow_status ws
     JOIN json_each($1) r ON ws.workflow_uuid = json_extract(r.value, '$[0]') AND ws.owner_xid = json_extract(r.value, '$[1]')
    WHERE ws.status = 'PENDING'`,
);

/** Which of these runs still own their workflows (after this executor was presumed dead, some were taken over). */
export async function runsStillOwning(db: SqlDriver, runs: readonly { workflowID: string; ownerXid: string }[]): Promise<Set<string>> {
  if (runs.length === 0) return new Set();
  const params =
    db.dialect === 'postgres'
      ? [runs.map((r) => r.workflowID), runs.map((r) => r.ownerXid)]
      : [runs.map((r) => [r.workflowID, r.ownerXid])];
  const rows = await db.query<{ workflow_uuid: string }>(STILL_OWNED, params);
  return new Set(rows.map((r) => r.workflow_uuid));
}
