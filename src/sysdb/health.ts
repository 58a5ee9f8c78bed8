// What the operations layer (src/ops/) reads besides retention: a ping for readiness, and how long each queue's
// oldest waiting workflow has waited, on the database clock.

import { sql, type SqlDriver } from './driver.js';

const PING = { name: 'transact_ping', postgres: 'SELECT 1 AS ok', retry: false as const };

/** One statement, not retried: whether the database answers now. */
export async function ping(db: SqlDriver): Promise<void> {
  await db.query(PING);
}

// An ENQUEUED row has waited since it was created, or since its delay ended (a DELAYED row promoted).
const QUEUE_AGES = sql(
  'transact_queue_ages',
  `SELECT queue_name, count(*)::bigint AS waiting,
          NOWMS - min(GREATEST(created_at, COALESCE(delay_until_epoch_ms, 0))) AS oldest_ms
     FROM dbos.workflow_status
    WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL
      AND ($1::text IS NULL OR application_name = $1::text OR application_name IS NULL)
    GROUP BY queue_name`,
  `SELECT queue_name, count(*) AS waiting,
          NOWMS - min(max(created_at, COALESCE(delay_until_epoch_ms, 0))) AS oldest_ms
     FROM workflow_status
    WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL
      AND ($1 IS NULL OR application_name = $1 OR application_name IS NULL)
    GROUP BY queue_name`,
);

export interface QueueAge {
  queueName: string;
  waiting: number;
  /** How long the oldest ENQUEUED workflow has waited (ms, database clock). */
  oldestWaitMs: number;
}

/** Every queue with ENQUEUED work (of the application and unclaimed rows; every application's when null). */
export async function queueAges(db: SqlDriver, applicationName: string | null): Promise<QueueAge[]> {
  const rows = await db.query<{ queue_name: string; waiting: unknown; oldest_ms: unknown }>(QUEUE_AGES, [applicationName]);
  return rows.map((r) => ({ queueName: r.queue_name, waiting: Number(r.waiting), oldestWaitMs: Math.max(0, Number(r.oldest_ms)) }));
}
