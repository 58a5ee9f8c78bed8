// Retention and the global timeout: the statements that delete finished workflows past a limit, with everything they
// own, and cancel active workflows older than a limit. src/management/retention.ts drives them in passes.
//
// What a collection batch may take: a finished workflow (SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED,
// or the legacy RETRIES_EXCEEDED) created and last updated before the cutoff, whose parent, if it has one, is not
// running (PENDING, ENQUEUED or DELAYED: a running parent may still read its child's outcome). Never an active row.
//
// Why batches hold no long lock: a batch is one statement on PostgreSQL (one short transaction on SQLite) over at
// most `limit` rows, walked oldest first on the created_at index; rows a claim or a cancel holds are skipped (SKIP
// LOCKED) and taken by a later pass, and the row locks the batch takes are on rows nothing active touches. The
// payload tables (workflow_input, workflow_output, operation_outputs) have no foreign key to workflow_status and are
// deleted by key in the same statement; notifications, events, their history and streams follow the status row
// through their ON DELETE CASCADE foreign keys.
//
// The lease (transact_leases) is how one collector at a time is chosen, on the database clock: see takeLease.

import { sql, type SqlDriver } from './driver.js';
import { CANCEL_CHANNEL, OUTCOME_CHANNEL } from './workflows.js';

const FINISHED = `('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'RETRIES_EXCEEDED')`;
const RUNNING = `('PENDING', 'ENQUEUED', 'DELAYED')`;

/**
 * The rows a batch may take: $1 cutoff (epoch ms), $2 application (NULL: every application). The parent's status is
 * a scalar subquery on purpose: it is looked up by primary key for each candidate the index walk yields, where a NOT
 * EXISTS would let the planner build a hash of every running row from a scan of the whole table for each batch.
 */
const COLLECTABLE = (ws: string) => `${ws}.created_at < $1 AND ${ws}.updated_at < $1 AND ${ws}.status IN ${FINISHED}
     AND ($2::text IS NULL OR ${ws}.application_name = $2::text OR ${ws}.application_name IS NULL)
     AND (${ws}.parent_workflow_id IS NULL
          OR COALESCE((SELECT p.status FROM dbos.workflow_status p WHERE p.workflow_uuid = ${ws}.parent_workflow_id), '')
             NOT IN ${RUNNING})`;

const COLLECT_BATCH = sql(
  'transact_retention_collect',
  `WITH victims AS (
     SELECT ws.workflow_uuid FROM dbos.workflow_status ws
      WHERE ${COLLECTABLE('ws')}
      ORDER BY ws.created_at
      LIMIT $3
      FOR UPDATE OF ws SKIP LOCKED
   ), inputs AS (
     DELETE FROM dbos.workflow_input t USING victims v WHERE t.workflow_uuid = v.workflow_uuid
   ), outputs AS (
     DELETE FROM dbos.workflow_output t USING victims v WHERE t.workflow_uuid = v.workflow_uuid
   ), steps AS (
     DELETE FROM dbos.operation_outputs t USING victims v WHERE t.workflow_uuid = v.workflow_uuid
   )
   DELETE FROM dbos.workflow_status ws USING victims v WHERE ws.workflow_uuid = v.workflow_uuid
   RETURNING ws.workflow_uuid`,
  '',
);

// SQLite: the same in a transaction (BEGIN IMMEDIATE: one writer at a time, so no row can change in between).
const PICK_SQLITE = sql(
  'transact_retention_pick',
  '',
  `SELECT ws.workflow_uuid FROM workflow_status ws
    WHERE ${COLLECTABLE('ws').replace(/::text/g, '')}
    ORDER BY ws.created_at
    LIMIT $3`,
);
const deleteSqlite = (table: string, name: string) =>
  sql(`transact_retention_delete_${name}`, '', `DELETE FROM ${table} WHERE workflow_uuid IN (SELECT value FROM json_each($1))`);
const DELETE_PAYLOADS_SQLITE = [
  deleteSqlite('workflow_input', 'inputs'),
  deleteSqlite('workflow_output', 'outputs'),
  deleteSqlite('operation_outputs', 'steps'),
];
const DELETE_STATUS_SQLITE = sql(
  'transact_retention_delete_status',
  '',
  'DELETE FROM workflow_status WHERE workflow_uuid IN (SELECT value FROM json_each($1)) RETURNING workflow_uuid',
);

/**
 * Deletes at most `limit` collectable workflows created before `cutoffEpochMs` (of `applicationName` and unclaimed
 * rows; of every application when null), with everything they own. Returns the IDs deleted, oldest first.
 */
export async function collectBatch(db: SqlDriver, cutoffEpochMs: number, applicationName: string | null, limit: number): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const rows = await db.query<{ workflow_uuid: string }>(COLLECT_BATCH, [cutoffEpochMs, applicationName, limit]);
    return rows.map((r) => r.workflow_uuid);
  }
  return db.transaction(async (tx) => {
    const ids = (await tx.query<{ workflow_uuid: string }>(PICK_SQLITE, [cutoffEpochMs, applicationName, limit])).map((r) => r.workflow_uuid);
    if (ids.length === 0) return [];
    for (const statement of DELETE_PAYLOADS_SQLITE) await tx.query(statement, [ids]);
    return (await tx.query<{ workflow_uuid: string }>(DELETE_STATUS_SQLITE, [ids])).map((r) => r.workflow_uuid);
  });
}

const COUNT_COLLECTABLE = sql(
  'transact_retention_count',
  `SELECT count(*)::bigint AS n FROM dbos.workflow_status ws WHERE ${COLLECTABLE('ws')}`,
  `SELECT count(*) AS n FROM workflow_status ws WHERE ${COLLECTABLE('ws').replace(/::text/g, '')}`,
);

/** How many workflows a collection with this cutoff would delete now (a dry run). */
export async function countCollectable(db: SqlDriver, cutoffEpochMs: number, applicationName: string | null): Promise<number> {
  const [row] = await db.query<{ n: unknown }>(COUNT_COLLECTABLE, [cutoffEpochMs, applicationName]);
  return Number(row?.n ?? 0);
}

const NOW = sql('transact_retention_now', 'SELECT NOWMS AS now');

/** The database clock (epoch ms): cutoffs are measured on it, as every stored time is. */
export async function databaseNow(db: SqlDriver): Promise<number> {
  const [row] = await db.query<{ now: unknown }>(NOW);
  return Number(row!.now);
}

// The created_at of the newest row past the first `keep` (newest first, of the application and unclaimed rows),
// walked on the created_at index. Rows created before it are beyond a `maxWorkflows` limit.
const KEEP_BOUNDARY = sql(
  'transact_retention_boundary',
  `SELECT created_at FROM dbos.workflow_status
    WHERE ($1::text IS NULL OR application_name = $1::text OR application_name IS NULL)
    ORDER BY created_at DESC OFFSET $2 LIMIT 1`,
  `SELECT created_at FROM workflow_status
    WHERE ($1 IS NULL OR application_name = $1 OR application_name IS NULL)
    ORDER BY created_at DESC LIMIT 1 OFFSET $2`,
);

/**
 * The cutoff that keeps the newest `keep` workflows: rows created before the returned time are beyond the limit.
 * Null when there are no more than `keep`.
 */
export async function keepBoundary(db: SqlDriver, applicationName: string | null, keep: number): Promise<number | null> {
  const [row] = await db.query<{ created_at: unknown }>(KEEP_BOUNDARY, [applicationName, keep]);
  // The boundary row itself is the first one beyond the limit: the cutoff is just after it.
  return row ? Number(row.created_at) + 1 : null;
}

// ------------------------------------------------------------------------------------------------ the global timeout

// Active rows are found on the partial indexes that cover only live rows (in flight, delayed), never by walking the
// history; each is cancelled as a single cancel is (and, on PostgreSQL, its executors are told at once).
const OLD_ACTIVE = `SELECT workflow_uuid FROM dbos.workflow_status
     WHERE status IN ('ENQUEUED', 'PENDING') AND created_at < $1
       AND ($2::text IS NULL OR application_name = $2::text OR application_name IS NULL)
   UNION ALL
   SELECT workflow_uuid FROM dbos.workflow_status
     WHERE status = 'DELAYED' AND created_at < $1
       AND ($2::text IS NULL OR application_name = $2::text OR application_name IS NULL)`;

const CANCEL_OLDER = sql(
  'transact_cancel_older_than',
  `WITH upd AS (
     UPDATE dbos.workflow_status
        SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
            started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
      WHERE workflow_uuid IN (SELECT workflow_uuid FROM (${OLD_ACTIVE}) old LIMIT $3)
        AND status IN ${RUNNING} AND created_at < $1
      RETURNING workflow_uuid
   )
   SELECT workflow_uuid, pg_notify('${CANCEL_CHANNEL}', workflow_uuid), pg_notify('${OUTCOME_CHANNEL}', workflow_uuid) FROM upd`,
  `UPDATE workflow_status
      SET status = 'CANCELLED', owner_xid = NULL, queue_name = NULL, deduplication_id = NULL,
          started_at_epoch_ms = NULL, updated_at = NOWMS, completed_at = NOWMS
    WHERE workflow_uuid IN (SELECT workflow_uuid FROM (${OLD_ACTIVE.replace(/dbos\./g, '').replace(/::text/g, '')}) LIMIT $3)
      AND status IN ${RUNNING} AND created_at < $1
    RETURNING workflow_uuid`,
);

/** Cancels at most `limit` PENDING, ENQUEUED or DELAYED workflows created before the cutoff; returns their IDs. */
export async function cancelBatchOlderThan(db: SqlDriver, cutoffEpochMs: number, applicationName: string | null, limit: number): Promise<string[]> {
  const rows = await db.query<{ workflow_uuid: string }>(CANCEL_OLDER, [cutoffEpochMs, applicationName, limit]);
  return rows.map((r) => r.workflow_uuid);
}

const COUNT_OLD_ACTIVE = sql(
  'transact_count_older_than',
  `SELECT count(*)::bigint AS n FROM (${OLD_ACTIVE}) old`,
  `SELECT count(*) AS n FROM (${OLD_ACTIVE.replace(/dbos\./g, '').replace(/::text/g, '')})`,
);

/** How many active workflows a global timeout with this cutoff would cancel now (a dry run). */
export async function countOlderActive(db: SqlDriver, cutoffEpochMs: number, applicationName: string | null): Promise<number> {
  const [row] = await db.query<{ n: unknown }>(COUNT_OLD_ACTIVE, [cutoffEpochMs, applicationName]);
  return Number(row?.n ?? 0);
}

// ------------------------------------------------------------------------------------------------ leases

// Taken when free, lapsed, or already ours (a renewal); the expiry is on the database clock.
const TAKE_LEASE = sql(
  'transact_take_lease',
  `INSERT INTO dbos.transact_leases AS l (name, holder, expires_at_epoch_ms) VALUES ($1, $2, NOWMS + $3)
   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_epoch_ms = excluded.expires_at_epoch_ms
    WHERE l.expires_at_epoch_ms <= NOWMS OR l.holder = excluded.holder
   RETURNING holder`,
);
const RELEASE_LEASE = sql(
  'transact_release_lease',
  'UPDATE dbos.transact_leases SET expires_at_epoch_ms = 0 WHERE name = $1 AND holder = $2',
);
const LEASE_HOLDER = sql(
  'transact_lease_holder',
  'SELECT holder, expires_at_epoch_ms - NOWMS AS left_ms FROM dbos.transact_leases WHERE name = $1 AND expires_at_epoch_ms > NOWMS',
);

/** Takes (or renews) lease `name` for `holder` for `ms`; false when another holder has it. */
export async function takeLease(db: SqlDriver, name: string, holder: string, ms: number): Promise<boolean> {
  return (await db.query(TAKE_LEASE, [name, holder, Math.ceil(ms)])).length > 0;
}

export async function releaseLease(db: SqlDriver, name: string, holder: string): Promise<void> {
  await db.query(RELEASE_LEASE, [name, holder]);
}

/** Who holds lease `name` now, and for how much longer; undefined when it is free. */
export async function leaseHolder(db: SqlDriver, name: string): Promise<{ holder: string; leftMs: number } | undefined> {
  const [row] = await db.query<{ holder: string; left_ms: unknown }>(LEASE_HOLDER, [name]);
  return row ? { holder: row.holder, leftMs: Number(row.left_ms) } : undefined;
}
