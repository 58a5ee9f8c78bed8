// Claiming queued workflows: ENQUEUED rows become PENDING with this executor's ownership token, within every limit of
// the queue, in one transaction that also returns what the executor needs to run them (inputs, and any steps already
// recorded for a replay). Also the DELAYED -> ENQUEUED transition.
//
// Limits (dbos-spec §3.8):
//   - worker concurrency is this process's own business: the caller passes what is left of it as `limit`;
//   - global concurrency counts the queue's PENDING rows over all processes;
//   - a rate limit is a sliding window on the database clock: rows claimed under it (`rate_limited`) whose
//     `started_at_epoch_ms` falls within the last period, whatever became of them since;
//   - a partitioned queue applies its partition limits to each partition key separately, and its queue-wide limits
//     to the sum.
// Where no limit is shared between processes the claim is one statement with FOR UPDATE SKIP LOCKED: each process
// takes rows no one else is taking, and nothing it counts can be changed by another. Where a limit is shared (global
// or partition concurrency, a rate limit), two claimers counting at once could both see the same free slot; there the
// claim runs in a transaction that first takes an advisory lock on the queue, so claimers of that queue take turns.
// Under READ COMMITTED the counting statement, which starts after the lock is granted, sees every claim committed by
// earlier lock holders, and no other Transact process adds PENDING rows or rate-window rows to a queue. The lock is
// held for one statement's time, never fails with a serialization error, and rows that leave PENDING meanwhile
// (completions) only make the count conservative. DBOS's own processes, which may share the database, do not take
// the advisory lock: see LOCK_HEADS_PG for how a claim waits for theirs. On SQLite a single writer (BEGIN IMMEDIATE)
// makes every claim exclusive.

import { sql, type Queryable, type SqlDriver, type Statement } from './driver.js';
import { committerFor, GroupCommitter } from './group-commit.js';
import { toStepRow, toWorkflowRow, type StepRow, type WorkflowRow } from './rows.js';
import { QUEUE_CHANNEL, QUEUE_SLOT_CHANNEL } from './workflows.js';

/** Carries a queue name when a slot of a queue frees up (a queued workflow finished, announced by the completion
 * statement in src/sysdb/workflows.ts), so claimers blocked on a shared concurrency limit try again at once. */
export { QUEUE_SLOT_CHANNEL };

export interface RateLimitWindow {
  max: number;
  periodMs: number;
}

/** The limits a claim enforces beyond this process's own worker budget. */
export interface ClaimLimits {
  globalConcurrency: number | null;
  rateLimit: RateLimitWindow | null;
  /** Rows of a partitioned queue run only with a partition key; the partition limits apply per key. */
  partitioned: boolean;
  partitionConcurrency: number | null;
  partitionWorkerConcurrency: number | null;
  partitionRateLimit: RateLimitWindow | null;
}

export const NO_LIMITS: ClaimLimits = {
  globalConcurrency: null,
  rateLimit: null,
  partitioned: false,
  partitionConcurrency: null,
  partitionWorkerConcurrency: null,
  partitionRateLimit: null,
};

export interface ClaimRequest {
  queueName: string;
  executorID: string;
  applicationVersion: string;
  /** Rows enqueued without a version (by a client) are taken only by the latest version (dbos-spec §3.5). */
  takeUnversioned: boolean;
  applicationName: string;
  /** The most this process may take now (what is left of its worker concurrency, capped per batch). */
  limit: number;
  ownerXid: string;
  limits?: ClaimLimits;
  /** Partitioned queues: how many workflows of each partition this process runs now. */
  runningByPartition?: ReadonlyMap<string, number>;
}

export interface ClaimedWorkflow {
  row: WorkflowRow;
  steps: StepRow[];
}

export interface ClaimResult {
  claimed: ClaimedWorkflow[];
  /**
   * How many the queue-wide shared limits (global concurrency, rate limit) allowed, at most `limit`. Fewer claimed
   * than allowed means the queue had no more eligible rows (for a partitioned queue: or its partitions were full).
   */
  allowed: number;
  /** When a rate limit (queue-wide or of a partition) held work back: milliseconds until its window frees a slot. */
  rateRetryInMs: number | null;
}

export function hasSharedLimit(l: ClaimLimits): boolean {
  return l.globalConcurrency !== null || l.rateLimit !== null || l.partitionConcurrency !== null || l.partitionRateLimit !== null;
}

// ------------------------------------------------------------------------------------------------ PostgreSQL

// The queue-wide budget: this process's limit, less what global concurrency and the rate window leave. The counts
// read the dispatch index (queue_name, status, ...) and the rate-limit index (queue_name, started_at_epoch_ms), and
// are skipped (one-time filter) when their limit is not set. The clock is read once, when the statement runs (under
// the lock, not at BEGIN), so window boundaries agree between claimers that took turns.
const PG_BUDGET = `
  clock AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000.0)::bigint AS now_ms),
  in_flight AS (
    SELECT count(*)::int AS n FROM dbos.workflow_status
     WHERE $9::int IS NOT NULL AND queue_name = $1::text AND status = 'PENDING'
  ),
  started AS (
    SELECT count(*)::int AS n, min(started_at_epoch_ms) AS oldest FROM dbos.workflow_status
     WHERE $10::int IS NOT NULL AND queue_name = $1::text AND rate_limited = true
       AND status NOT IN ('ENQUEUED', 'DELAYED') AND started_at_epoch_ms > (SELECT now_ms FROM clock) - $11::bigint
  ),
  budget AS MATERIALIZED (
    SELECT GREATEST(0, LEAST($5::int,
             CASE WHEN $9::int IS NULL THEN $5::int ELSE $9::int - in_flight.n END,
             CASE WHEN $10::int IS NULL THEN $5::int ELSE $10::int - started.n END))::int AS n,
           started.n AS started_n, started.oldest
      FROM in_flight, started
  )`;

const PG_ELIGIBLE = `w.status = 'ENQUEUED' AND w.queue_name = $1::text
       AND (w.application_version = $2::text OR ($3::boolean AND w.application_version IS NULL))
       AND (w.application_name = $4::text OR w.application_name IS NULL)`;

// The picked rows become PENDING with this claim's token; the deadline of a queued workflow starts now (§3.11).
// The picked IDs travel as an array, and inputs and steps are read per claimed row, so every access is a primary-key
// lookup whatever the planner guesses the batch size to be (it cannot know the budget when it plans).
const PG_DETAILS = `
  details AS (
    SELECT c.*,
           COALESCE((SELECT wi.inputs FROM dbos.workflow_input wi WHERE wi.workflow_uuid = c.workflow_uuid), c.inputs)
             AS claimed_inputs,
           (SELECT json_agg(json_build_object(
                     'function_id', o.function_id, 'function_name', o.function_name, 'output', o.output,
                     'error', o.error, 'child_workflow_id', o.child_workflow_id, 'serialization', o.serialization,
                     'started_at_epoch_ms', o.started_at_epoch_ms, 'completed_at_epoch_ms', o.completed_at_epoch_ms)
                   ORDER BY o.function_id)
              FROM dbos.operation_outputs o WHERE o.workflow_uuid = c.workflow_uuid) AS claimed_steps
      FROM claimed c
  )`;

const PG_MARK_CLAIMED = `
  claimed AS (
    UPDATE dbos.workflow_status ws
       SET status = 'PENDING', owner_xid = $6::text, executor_id = $7::text, application_version = $2::text,
           application_name = COALESCE(ws.application_name, $4::text), started_at_epoch_ms = clock.now_ms,
           updated_at = clock.now_ms, recovery_attempts = ws.recovery_attempts + 1, rate_limited = $8::boolean,
           workflow_deadline_epoch_ms = COALESCE(ws.workflow_deadline_epoch_ms, clock.now_ms + ws.workflow_timeout_ms)
      FROM clock
     WHERE ws.workflow_uuid = ANY (ARRAY(SELECT workflow_uuid FROM picked))
     RETURNING ws.*
  ),${PG_DETAILS}`;

// One row per claimed workflow, each carrying the budget figures; a single row of figures alone when none was claimed.
const pgResult = (partitioned: boolean) => `
  SELECT b.n AS q_allowed, b.started_n AS q_started, b.oldest AS q_oldest, k.now_ms AS q_now,
         ${partitioned ? '(SELECT at FROM part_retry)' : 'NULL::bigint'} AS q_partition_retry_at, d.*
    FROM budget b CROSS JOIN clock k LEFT JOIN details d ON true
   ORDER BY d.priority, d.created_at`;

// A claim is never retried by the driver: after a lost reply it may have committed, and a second attempt under the
// same token would claim a second batch while the first sat PENDING under a live executor. The caller reconciles
// instead (adoptClaimed, below).
const CLAIM_PG = noRetry(sql(
  'transact_claim',
  `WITH ${PG_BUDGET},
   picked AS (
     SELECT w.workflow_uuid FROM dbos.workflow_status w
      WHERE ${PG_ELIGIBLE}
      ORDER BY w.priority, w.created_at
      LIMIT (SELECT n FROM budget)
      FOR UPDATE SKIP LOCKED
   ), ${PG_MARK_CLAIMED}
   ${pgResult(false)}`,
));

// Partitioned queues: the partition keys that have ENQUEUED rows are found by a loose index scan of the partition
// index (one probe per key, not a scan of the backlog); each key gets its own budget from the partition limits and
// contributes its head rows; the queue-wide budget then takes the best of those in priority order.
const CLAIM_PARTITIONED_PG = noRetry(sql(
  'transact_claim_partitioned',
  `WITH RECURSIVE ${PG_BUDGET},
   keys AS (
     (SELECT w.queue_partition_key AS k FROM dbos.workflow_status w
       WHERE w.queue_name = $1::text AND w.status = 'ENQUEUED' AND w.queue_partition_key IS NOT NULL
       ORDER BY w.queue_partition_key LIMIT 1)
     UNION ALL
     SELECT (SELECT w.queue_partition_key FROM dbos.workflow_status w
              WHERE w.queue_name = $1::text AND w.status = 'ENQUEUED' AND w.queue_partition_key > keys.k
              ORDER BY w.queue_partition_key LIMIT 1)
       FROM keys WHERE keys.k IS NOT NULL
   ),
   part AS MATERIALIZED (
     SELECT keys.k, pr.n AS started_n, pr.oldest,
            GREATEST(0, LEAST(
              CASE WHEN $12::int IS NULL THEN 2147483647
                   ELSE $12::int - (SELECT count(*)::int FROM dbos.workflow_status w
                                     WHERE w.queue_name = $1::text AND w.status = 'PENDING' AND w.queue_partition_key = keys.k) END,
              CASE WHEN $15::int IS NULL THEN 2147483647
                   ELSE $15::int - COALESCE((SELECT r.n FROM unnest($16::text[], $17::int[]) AS r(k, n) WHERE r.k = keys.k), 0) END,
              CASE WHEN $13::int IS NULL THEN 2147483647 ELSE $13::int - pr.n END,
              (SELECT n FROM budget)))::int AS n
       FROM keys
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS n, min(w.started_at_epoch_ms) AS oldest FROM dbos.workflow_status w
          WHERE $13::int IS NOT NULL AND w.queue_name = $1::text AND w.rate_limited = true AND w.queue_partition_key = keys.k
            AND w.status NOT IN ('ENQUEUED', 'DELAYED') AND w.started_at_epoch_ms > (SELECT now_ms FROM clock) - $14::bigint
       ) pr
      WHERE keys.k IS NOT NULL
   ),
   picked AS (
     SELECT x.workflow_uuid FROM part CROSS JOIN LATERAL (
       SELECT w.workflow_uuid, w.priority, w.created_at FROM dbos.workflow_status w
        WHERE ${PG_ELIGIBLE} AND w.queue_partition_key = part.k
        ORDER BY w.priority, w.created_at
        LIMIT part.n
        FOR UPDATE SKIP LOCKED
     ) x
     ORDER BY x.priority, x.created_at
     LIMIT (SELECT n FROM budget)
   ), ${PG_MARK_CLAIMED},
   part_retry AS (
     SELECT min(LEAST(COALESCE(p.oldest, k.now_ms), k.now_ms) + $14::bigint) AS at
       FROM part p CROSS JOIN clock k
      WHERE $13::int IS NOT NULL
        AND p.started_n + (SELECT count(*) FROM claimed c WHERE c.queue_partition_key = p.k) >= $13::int
   )
   ${pgResult(true)}`,
));

// Takes turns with the other claimers of a queue with a shared limit (see the top of this file). The key is the
// queue name's hash under a namespace of our own ('TrQu'); a hash collision only makes two queues take turns. Once
// the turn is ours, row locks are waited for at most LOCK_WAIT_MS (see LOCK_HEADS_PG).
const LOCK_WAIT_MS = 2000;
const LOCK_QUEUE_PG = sql(
  'transact_lock_queue',
  `SELECT pg_advisory_xact_lock(1416778101, hashtext($1::text)) AS locked, set_config('lock_timeout', '${LOCK_WAIT_MS}', true) AS lock_wait`,
);

// Claimers that do not take the advisory lock: DBOS's own processes (dbos-spec §3.8, and README "Running beside
// DBOS"). A DBOS claim counts in a snapshot, then locks the queue's head rows (FOR UPDATE NOWAIT) and marks them
// PENDING, all in one REPEATABLE READ transaction. While it holds those locks its claim is invisible to our counts,
// and SKIP LOCKED would step past its rows and spend the same budget a second time. So before counting, a limited
// claim locks the head rows it may take, waiting for any claim in progress on them: once one commits, the rows it
// took are no longer ENQUEUED (READ COMMITTED re-checks a row after the wait, and steps past it), and the counting
// statement, which starts after this one, sees them PENDING. A DBOS claim that starts while we hold the heads fails
// on them (NOWAIT), and one that counted before our commit fails on the rows we took (a serialization failure).
// Between Transact processes this changes nothing: they take turns under the advisory lock. A holder that never lets
// go (a DBOS process stopped inside its claim) makes the claim fail after LOCK_WAIT_MS; the lane tries again later.
// test/compat/mixed-fleet.test.ts holds a real DBOS claim open and checks both limits.
const LOCK_HEADS_PG = sql(
  'transact_lock_heads',
  `SELECT w.workflow_uuid FROM dbos.workflow_status w
    WHERE ${PG_ELIGIBLE}
    ORDER BY w.priority, w.created_at
    LIMIT $5::int
      FOR UPDATE`,
);

// The same for a partitioned queue, whose limits are counted per partition: the head row of every partition with work.
// One row per partition is enough: a claim in progress on a partition holds that partition's head.
const LOCK_PARTITION_HEADS_PG = sql(
  'transact_lock_partition_heads',
  `WITH RECURSIVE keys AS (
     (SELECT w.queue_partition_key AS k FROM dbos.workflow_status w
       WHERE w.queue_name = $1::text AND w.status = 'ENQUEUED' AND w.queue_partition_key IS NOT NULL
       ORDER BY w.queue_partition_key LIMIT 1)
     UNION ALL
     SELECT (SELECT w.queue_partition_key FROM dbos.workflow_status w
              WHERE w.queue_name = $1::text AND w.status = 'ENQUEUED' AND w.queue_partition_key > keys.k
              ORDER BY w.queue_partition_key LIMIT 1)
       FROM keys WHERE keys.k IS NOT NULL
   )
   SELECT w.workflow_uuid FROM dbos.workflow_status w
    WHERE w.workflow_uuid = ANY (ARRAY(
            SELECT (SELECT h.workflow_uuid FROM dbos.workflow_status h
                     WHERE h.queue_name = $1::text AND h.status = 'ENQUEUED' AND h.queue_partition_key = keys.k
                       AND (h.application_version = $2::text OR ($3::boolean AND h.application_version IS NULL))
                       AND (h.application_name = $4::text OR h.application_name IS NULL)
                     ORDER BY h.priority, h.created_at LIMIT 1)
              FROM keys WHERE keys.k IS NOT NULL))
      AND w.status = 'ENQUEUED'
      FOR UPDATE`,
);

function pgParams(r: ClaimRequest, l: ClaimLimits): unknown[] {
  const params: unknown[] = [
    r.queueName,
    r.applicationVersion,
    r.takeUnversioned,
    r.applicationName,
    r.limit,
    r.ownerXid,
    r.executorID,
    l.rateLimit !== null || l.partitionRateLimit !== null,
    l.globalConcurrency,
    l.rateLimit?.max ?? null,
    l.rateLimit?.periodMs ?? null,
  ];
  if (l.partitioned) {
    const running = [...(r.runningByPartition ?? new Map<string, number>())];
    params.push(
      l.partitionConcurrency,
      l.partitionRateLimit?.max ?? null,
      l.partitionRateLimit?.periodMs ?? null,
      l.partitionWorkerConcurrency,
      running.map(([k]) => k),
      running.map(([, n]) => n),
    );
  }
  return params;
}

async function claimPostgres(db: SqlDriver, r: ClaimRequest, l: ClaimLimits): Promise<ClaimResult> {
  const statement = l.partitioned ? CLAIM_PARTITIONED_PG : CLAIM_PG;
  const params = pgParams(r, l);
  const rows = hasSharedLimit(l)
    ? await db.transaction(
        async (tx) => {
          await tx.query(LOCK_QUEUE_PG, [r.queueName]);
          if (l.partitioned) await tx.query(LOCK_PARTITION_HEADS_PG, params.slice(0, 4));
          else await tx.query(LOCK_HEADS_PG, params.slice(0, 5));
          return tx.query<Record<string, unknown>>(statement, params);
        },
        undefined,
        { retry: false },
      )
    : await db.query<Record<string, unknown>>(statement, params);
  const first = rows[0]!;
  const claimed = rows.filter((row) => row.workflow_uuid !== null && row.workflow_uuid !== undefined).map(toClaimed);
  const now = Number(first.q_now);
  const allowed = Number(first.q_allowed);
  const retryAt = [
    queueRateRetryAt(l, numberOrNull(first.q_started), numberOrNull(first.q_oldest), claimed.length, now),
    numberOrNull(first.q_partition_retry_at),
  ].filter((v): v is number => v !== null);
  return { claimed, allowed, rateRetryInMs: retryAt.length > 0 ? Math.max(0, Math.min(...retryAt) - now) : null };
}

/** When the queue-wide rate window is full after this claim: the moment its oldest start leaves the window. */
function queueRateRetryAt(l: ClaimLimits, started: number | null, oldest: number | null, claimed: number, now: number): number | null {
  if (l.rateLimit === null || (started ?? 0) + claimed < l.rateLimit.max) return null;
  const first = oldest === null ? now : Math.min(oldest, now);
  return first + l.rateLimit.periodMs;
}

function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function toClaimed(raw: Record<string, unknown>): ClaimedWorkflow {
  const stepsRaw = raw.claimed_steps;
  const steps = (typeof stepsRaw === 'string' ? JSON.parse(stepsRaw) : (stepsRaw ?? [])) as Record<string, unknown>[];
  return { row: toWorkflowRow({ ...raw, inputs: raw.claimed_inputs }), steps: steps.map(toStepRow) };
}

// ------------------------------------------------------------------------------------------------ SQLite
// One writer at a time: the claim is a few statements inside BEGIN IMMEDIATE, and the budget arithmetic is done here.
// The repeated `status IN ('ENQUEUED', 'PENDING')` is the predicate of the partial dispatch indexes: SQLite uses a
// partial index only when the query states its WHERE term itself (it does not infer it from `status = 'ENQUEUED'`).

const SQLITE_IN_FLIGHT = `status IN ('ENQUEUED', 'PENDING')`;

const QUEUE_FIGURES_SQLITE = sql(
  'transact_claim_figures',
  '',
  `SELECT NOWMS AS now_ms,
          CASE WHEN $2 IS NULL THEN 0 ELSE (SELECT count(*) FROM workflow_status
             WHERE ${SQLITE_IN_FLIGHT} AND status = 'PENDING' AND queue_name = $1) END AS in_flight,
          CASE WHEN $3 IS NULL THEN 0 ELSE (SELECT count(*) FROM workflow_status
             WHERE rate_limited = 1 AND queue_name = $1 AND status NOT IN ('ENQUEUED', 'DELAYED')
               AND started_at_epoch_ms > NOWMS - $3) END AS started_n,
          CASE WHEN $3 IS NULL THEN NULL ELSE (SELECT min(started_at_epoch_ms) FROM workflow_status
             WHERE rate_limited = 1 AND queue_name = $1 AND status NOT IN ('ENQUEUED', 'DELAYED')
               AND started_at_epoch_ms > NOWMS - $3) END AS oldest`,
);

const SQLITE_ELIGIBLE = `${SQLITE_IN_FLIGHT} AND status = 'ENQUEUED' AND queue_name = $1
       AND (application_version = $2 OR ($3 AND application_version IS NULL))
       AND (application_name = $4 OR application_name IS NULL)`;

const PICK_SQLITE = sql(
  'transact_claim_pick',
  '',
  `SELECT workflow_uuid, priority, created_at FROM workflow_status
    WHERE ${SQLITE_ELIGIBLE}
    ORDER BY priority, created_at
    LIMIT $5`,
);

const PARTITIONS_SQLITE = sql(
  'transact_claim_partitions',
  '',
  `WITH RECURSIVE keys(k) AS (
     SELECT (SELECT queue_partition_key FROM workflow_status
              WHERE ${SQLITE_IN_FLIGHT} AND queue_partition_key IS NOT NULL AND status = 'ENQUEUED' AND queue_name = $1
              ORDER BY queue_partition_key LIMIT 1)
     UNION ALL
     SELECT (SELECT queue_partition_key FROM workflow_status
              WHERE ${SQLITE_IN_FLIGHT} AND queue_partition_key IS NOT NULL AND status = 'ENQUEUED' AND queue_name = $1
                AND queue_partition_key > keys.k
              ORDER BY queue_partition_key LIMIT 1)
       FROM keys WHERE keys.k IS NOT NULL
   )
   SELECT k,
          CASE WHEN $2 IS NULL THEN 0 ELSE (SELECT count(*) FROM workflow_status
             WHERE ${SQLITE_IN_FLIGHT} AND queue_partition_key IS NOT NULL AND status = 'PENDING' AND queue_name = $1
               AND queue_partition_key = keys.k) END AS in_flight,
          CASE WHEN $3 IS NULL THEN 0 ELSE (SELECT count(*) FROM workflow_status
             WHERE rate_limited = 1 AND queue_name = $1 AND queue_partition_key = keys.k
               AND status NOT IN ('ENQUEUED', 'DELAYED') AND started_at_epoch_ms > $4 - $3) END AS started_n,
          CASE WHEN $3 IS NULL THEN NULL ELSE (SELECT min(started_at_epoch_ms) FROM workflow_status
             WHERE rate_limited = 1 AND queue_name = $1 AND queue_partition_key = keys.k
               AND status NOT IN ('ENQUEUED', 'DELAYED') AND started_at_epoch_ms > $4 - $3) END AS oldest
     FROM keys WHERE k IS NOT NULL`,
);

const PICK_PARTITION_SQLITE = sql(
  'transact_claim_pick_partition',
  '',
  `SELECT workflow_uuid, priority, created_at FROM workflow_status
    WHERE ${SQLITE_IN_FLIGHT} AND queue_partition_key IS NOT NULL AND status = 'ENQUEUED' AND queue_name = $1
      AND (application_version = $2 OR ($3 AND application_version IS NULL))
      AND (application_name = $4 OR application_name IS NULL)
      AND queue_partition_key = $6
    ORDER BY priority, created_at
    LIMIT $5`,
);

const MARK_CLAIMED_SQLITE = sql(
  'transact_claim_mark',
  '',
  `UPDATE workflow_status
      SET status = 'PENDING', owner_xid = $2, executor_id = $3, application_version = $4,
          application_name = COALESCE(application_name, $5), started_at_epoch_ms = $6, updated_at = $6,
          recovery_attempts = recovery_attempts + 1, rate_limited = $7,
          workflow_deadline_epoch_ms = COALESCE(workflow_deadline_epoch_ms, $6 + workflow_timeout_ms)
    WHERE workflow_uuid IN (SELECT value FROM json_each($1)) AND status = 'ENQUEUED'
    RETURNING *`,
);

// A claimed row's input and recorded steps (the same shape the PostgreSQL claim returns).
const SQLITE_DETAILS = `COALESCE(wi.inputs, ws.inputs) AS claimed_inputs,
          (SELECT json_group_array(json_object(
                    'function_id', o.function_id, 'function_name', o.function_name, 'output', o.output,
                    'error', o.error, 'child_workflow_id', o.child_workflow_id, 'serialization', o.serialization,
                    'started_at_epoch_ms', o.started_at_epoch_ms, 'completed_at_epoch_ms', o.completed_at_epoch_ms))
             FROM (SELECT * FROM operation_outputs WHERE workflow_uuid = ws.workflow_uuid ORDER BY function_id) o) AS claimed_steps
     FROM workflow_status ws LEFT JOIN workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid`;

const CLAIMED_DETAILS_SQLITE = sql(
  'transact_claimed_details',
  '',
  `SELECT ws.workflow_uuid, ${SQLITE_DETAILS}
    WHERE ws.workflow_uuid IN (SELECT value FROM json_each($1))`,
);

interface Candidate {
  workflow_uuid: string;
  priority: number;
  created_at: number;
}

const byPriority = (a: Candidate, b: Candidate) => a.priority - b.priority || a.created_at - b.created_at;

async function claimSqlite(db: SqlDriver, r: ClaimRequest, l: ClaimLimits): Promise<ClaimResult> {
  return db.transaction(async (tx) => {
    const [figures] = await tx.query<{ now_ms: number; in_flight: number; started_n: number; oldest: number | null }>(
      QUEUE_FIGURES_SQLITE,
      [r.queueName, l.globalConcurrency, l.rateLimit?.periodMs ?? null],
    );
    const { now_ms: now, in_flight: inFlight, started_n: started, oldest } = figures!;
    const allowed = Math.max(
      0,
      Math.min(
        r.limit,
        l.globalConcurrency === null ? r.limit : l.globalConcurrency - inFlight,
        l.rateLimit === null ? r.limit : l.rateLimit.max - started,
      ),
    );
    const eligible = [r.queueName, r.applicationVersion, r.takeUnversioned, r.applicationName];
    let picked: Candidate[] = [];
    let partitionRetryAt: number | null = null;
    const partitionStarts = new Map<string, { started: number; oldest: number | null }>();
    if (allowed > 0 && !l.partitioned) {
      picked = await tx.query<Candidate>(PICK_SQLITE, [...eligible, allowed]);
    } else if (allowed > 0) {
      const partitions = await tx.query<{ k: string; in_flight: number; started_n: number; oldest: number | null }>(
        PARTITIONS_SQLITE,
        [r.queueName, l.partitionConcurrency, l.partitionRateLimit?.periodMs ?? null, now],
      );
      for (const p of partitions) {
        partitionStarts.set(p.k, { started: p.started_n, oldest: p.oldest });
        const budget = Math.min(
          allowed,
          l.partitionConcurrency === null ? allowed : l.partitionConcurrency - p.in_flight,
          l.partitionWorkerConcurrency === null ? allowed : l.partitionWorkerConcurrency - (r.runningByPartition?.get(p.k) ?? 0),
          l.partitionRateLimit === null ? allowed : l.partitionRateLimit.max - p.started_n,
        );
        if (budget > 0) picked.push(...(await tx.query<Candidate>(PICK_PARTITION_SQLITE, [...eligible, budget, p.k])));
      }
      picked = picked.sort(byPriority).slice(0, allowed);
    }
    let claimed: ClaimedWorkflow[] = [];
    if (picked.length > 0) {
      const ids = picked.map((p) => p.workflow_uuid);
      const rows = await tx.query<Record<string, unknown>>(MARK_CLAIMED_SQLITE, [
        ids,
        r.ownerXid,
        r.executorID,
        r.applicationVersion,
        r.applicationName,
        now,
        l.rateLimit !== null || l.partitionRateLimit !== null,
      ]);
      const details = await tx.query<Record<string, unknown>>(CLAIMED_DETAILS_SQLITE, [ids]);
      const byID = new Map(details.map((d) => [d.workflow_uuid as string, d]));
      claimed = rows
        .map((row) => toClaimed({ ...row, ...byID.get(row.workflow_uuid as string) }))
        .sort((a, b) => a.row.priority - b.row.priority || a.row.createdAt - b.row.createdAt);
    }
    if (l.partitionRateLimit !== null) {
      const window = l.partitionRateLimit;
      for (const [key, p] of partitionStarts) {
        const taken = claimed.filter((c) => c.row.queuePartitionKey === key).length;
        if (p.started + taken < window.max) continue;
        const at = Math.min(p.oldest ?? now, now) + window.periodMs;
        partitionRetryAt = partitionRetryAt === null ? at : Math.min(partitionRetryAt, at);
      }
    }
    const retryAt = [queueRateRetryAt(l, started, oldest, claimed.length, now), partitionRetryAt].filter(
      (v): v is number => v !== null,
    );
    return { claimed, allowed, rateRetryInMs: retryAt.length > 0 ? Math.max(0, Math.min(...retryAt) - now) : null };
  });
}

/** The claim statements, for tests that check their plans on a large backlog. */
export const CLAIM_STATEMENTS = {
  postgres: { plain: CLAIM_PG, partitioned: CLAIM_PARTITIONED_PG },
  sqlite: { figures: QUEUE_FIGURES_SQLITE, pick: PICK_SQLITE, partitions: PARTITIONS_SQLITE, pickPartition: PICK_PARTITION_SQLITE },
};

/** Claims what this process may run now from one queue, within every limit, in one transaction. */
export async function claimQueuedWorkflows(db: SqlDriver, r: ClaimRequest): Promise<ClaimResult> {
  const limits = r.limits ?? NO_LIMITS;
  if (r.limit <= 0) return { claimed: [], allowed: 0, rateRetryInMs: null };
  return db.dialect === 'postgres' ? claimPostgres(db, r, limits) : claimSqlite(db, r, limits);
}

function noRetry(statement: Statement): Statement {
  return { ...statement, retry: false };
}

const ADOPT_CLAIMED_PG = sql(
  'transact_adopt_claimed',
  `WITH claimed AS (
     SELECT * FROM dbos.workflow_status
      WHERE queue_name = $1 AND status IN ('ENQUEUED', 'PENDING') AND status = 'PENDING' AND owner_xid = $2
   ),${PG_DETAILS}
   SELECT * FROM details ORDER BY priority, created_at`,
);

const ADOPT_CLAIMED_SQLITE = sql(
  'transact_adopt_claimed',
  '',
  `SELECT ws.*, ${SQLITE_DETAILS}
    WHERE ws.queue_name = $1 AND ws.status IN ('ENQUEUED', 'PENDING') AND ws.status = 'PENDING' AND ws.owner_xid = $2
    ORDER BY ws.priority, ws.created_at`,
);

/**
 * After a claim failed without an answer (its reply lost, so it may have committed): the workflows that claim took
 * under its token, which no one else will run while this executor is alive. Run them as if the claim had answered.
 */
export async function adoptClaimed(db: SqlDriver, queueName: string, ownerXid: string): Promise<ClaimedWorkflow[]> {
  const rows = await db.query<Record<string, unknown>>(db.dialect === 'postgres' ? ADOPT_CLAIMED_PG : ADOPT_CLAIMED_SQLITE, [queueName, ownerXid]);
  return rows.map(toClaimed);
}

// ------------------------------------------------------------------------------------------------ announcing work

const ANNOUNCE_PG = sql('transact_announce_queues', `SELECT pg_notify('${QUEUE_CHANNEL}', q) FROM unnest($1::text[]) AS q`);

const announceCommitters = new WeakMap<object, GroupCommitter<string[], void>>();

/**
 * Tells every listening process that these queues have new work (PostgreSQL; the embedded database has no peers
 * to tell, and its in-process dispatcher is woken directly). Announcements made while one is in flight leave together,
 * each queue named once: PostgreSQL commits notifying transactions one at a time, so a burst of enqueues from a
 * client (each announced by its caller) would otherwise queue up behind each other's commits.
 */
export async function announceQueuedWork(db: SqlDriver, queueNames: string[]): Promise<void> {
  if (db.dialect !== 'postgres' || queueNames.length === 0) return;
  const committer = committerFor(announceCommitters, db, () => {
    const write = async (batches: string[][]) => {
      await db.query(ANNOUNCE_PG, [[...new Set(batches.flat())]]);
      return batches.map(() => undefined);
    };
    return new GroupCommitter(write, 1, 500, 'announce');
  });
  await committer.submit(queueNames);
}

// ------------------------------------------------------------------------------------------------ delayed workflows

// Rows whose delay has passed become ENQUEUED (debounced ones lose their dedup ID, dbos-spec §3.7), and each queue
// that got work is announced, so every dispatcher claims at once. Also returns when the next delay ends, so the
// caller can sleep until exactly then.
const PROMOTE_DELAYED_PG = sql(
  'transact_promote_delayed',
  `WITH due AS (
     UPDATE dbos.workflow_status
        SET status = 'ENQUEUED', updated_at = NOWMS,
            deduplication_id = CASE WHEN is_debounced THEN NULL ELSE deduplication_id END
      WHERE status = 'DELAYED' AND delay_until_epoch_ms <= NOWMS AND (application_name = $1 OR application_name IS NULL)
      RETURNING queue_name
   ), queues AS (
     SELECT DISTINCT queue_name FROM due WHERE queue_name IS NOT NULL
   )
   SELECT q.queue_name, pg_notify('${QUEUE_CHANNEL}', q.queue_name) AS notified,
          (SELECT min(delay_until_epoch_ms) FROM dbos.workflow_status
            WHERE status = 'DELAYED' AND delay_until_epoch_ms > NOWMS
              AND (application_name = $1 OR application_name IS NULL)) - NOWMS AS next_due_in_ms
     FROM (SELECT 1) one LEFT JOIN queues q ON true`,
);

// SQLite columns take any value: a delay that is not a number (a hand-edited row) would be "due" to the next-due
// query and never to the promotion, and the promoter would spin. Such a row counts as due, and is promoted.
const SQLITE_DELAY_IS_NUMBER = `typeof(delay_until_epoch_ms) IN ('integer', 'real')`;

const PROMOTE_DELAYED_SQLITE = sql(
  'transact_promote_delayed',
  '',
  `UPDATE workflow_status
      SET status = 'ENQUEUED', updated_at = NOWMS,
          deduplication_id = CASE WHEN is_debounced THEN NULL ELSE deduplication_id END
    WHERE status = 'DELAYED' AND (delay_until_epoch_ms <= NOWMS OR NOT ${SQLITE_DELAY_IS_NUMBER})
      AND delay_until_epoch_ms IS NOT NULL AND (application_name = $1 OR application_name IS NULL)
    RETURNING queue_name`,
);

// Due or not: the embedded database is asked first, without the write lock, whether anything is due at all.
const NEXT_DELAYED_SQLITE = sql(
  'transact_next_delayed',
  '',
  `SELECT min(CASE WHEN ${SQLITE_DELAY_IS_NUMBER} THEN delay_until_epoch_ms ELSE 0 END) - NOWMS AS next_due_in_ms
     FROM workflow_status
    WHERE status = 'DELAYED' AND delay_until_epoch_ms IS NOT NULL AND (application_name = $1 OR application_name IS NULL)`,
);

export interface PromotedDelayed {
  /** Queues that got work. */
  queues: string[];
  /** Milliseconds until the next delayed workflow of the application is due, or null if none waits. */
  nextDueInMs: number | null;
}

/** The DELAYED -> ENQUEUED transition for every due workflow of this application (and unclaimed ones). */
export async function promoteDelayedWorkflows(db: SqlDriver, applicationName: string): Promise<PromotedDelayed> {
  if (db.dialect === 'postgres') {
    const rows = await db.query<{ queue_name: string | null; next_due_in_ms: number | null }>(PROMOTE_DELAYED_PG, [applicationName]);
    return {
      queues: rows.flatMap((r) => (r.queue_name ? [r.queue_name] : [])),
      nextDueInMs: numberOrNull(rows[0]?.next_due_in_ms),
    };
  }
  const [first] = await db.query<{ next_due_in_ms: number | null }>(NEXT_DELAYED_SQLITE, [applicationName]);
  const firstDue = numberOrNull(first?.next_due_in_ms);
  if (firstDue === null || firstDue > 0) return { queues: [], nextDueInMs: firstDue };
  return db.transaction(async (tx: Queryable) => {
    const due = await tx.query<{ queue_name: string | null }>(PROMOTE_DELAYED_SQLITE, [applicationName]);
    const [next] = await tx.query<{ next_due_in_ms: number | null }>(NEXT_DELAYED_SQLITE, [applicationName]);
    return {
      queues: [...new Set(due.flatMap((r) => (r.queue_name ? [r.queue_name] : [])))],
      nextDueInMs: numberOrNull(next?.next_due_in_ms),
    };
  });
}
