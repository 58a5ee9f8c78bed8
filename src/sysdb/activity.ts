// What an operator looks at besides single workflows: the executors that keep a heartbeat, and how much work each
// queue holds. Read-only, and scoped like the other listings: one application's rows and unclaimed ones, or every
// row when no application is named.

import { sql, type Queryable } from './driver.js';
import { HEARTBEATS_TABLE } from './heartbeats.js';

/** One row of the heartbeat table, as an operator reads it. */
export interface ExecutorInfo {
  executorID: string;
  applicationName: string;
  applicationVersion: string;
  hostname: string | null;
  pid: number | null;
  /** When this incarnation of the executor claimed its row (database clock, epoch ms). */
  startedAt: number;
  /** Its last heartbeat (database clock, epoch ms). */
  lastHeartbeatAt: number;
  /** How long ago that was, on the database clock (so the reader's own clock does not matter). */
  silentMs: number;
}

const LIST_EXECUTORS = sql(
  'transact_list_executors',
  `SELECT executor_id, application_name, application_version, hostname, pid, started_at_epoch_ms,
          last_heartbeat_epoch_ms, NOWMS - last_heartbeat_epoch_ms AS silent_ms
     FROM dbos.${HEARTBEATS_TABLE}
    WHERE ($1::text IS NULL OR application_name = $1::text)
    ORDER BY application_name, executor_id`,
  `SELECT executor_id, application_name, application_version, hostname, pid, started_at_epoch_ms,
          last_heartbeat_epoch_ms, NOWMS - last_heartbeat_epoch_ms AS silent_ms
     FROM ${HEARTBEATS_TABLE}
    WHERE ($1 IS NULL OR application_name = $1)
    ORDER BY application_name, executor_id`,
);

/** The executors with a heartbeat row (live ones, and dead ones not yet taken over), of one application or all. */
export async function listExecutors(db: Queryable, applicationName: string | null): Promise<ExecutorInfo[]> {
  const rows = await db.query<Record<string, unknown>>(LIST_EXECUTORS, [applicationName]);
  return rows.map((r) => ({
    executorID: String(r.executor_id),
    applicationName: String(r.application_name),
    applicationVersion: String(r.application_version),
    hostname: (r.hostname as string | null) ?? null,
    pid: r.pid === null || r.pid === undefined ? null : Number(r.pid),
    startedAt: Number(r.started_at_epoch_ms),
    lastHeartbeatAt: Number(r.last_heartbeat_epoch_ms),
    silentMs: Number(r.silent_ms),
  }));
}

/** The work a queue holds right now. */
export interface QueueActivity {
  queueName: string;
  /** ENQUEUED: waiting for a dispatcher. */
  waiting: number;
  /** DELAYED: waiting for their start time. */
  delayed: number;
  /** PENDING: taken from the queue and running. */
  running: number;
  /** When the oldest ENQUEUED workflow was created (epoch ms), or null when none waits. */
  oldestWaitingCreatedAt: number | null;
}

const QUEUE_ACTIVITY = sql(
  'transact_queue_activity',
  `SELECT queue_name, status, count(*) AS n, min(created_at) AS oldest
     FROM dbos.workflow_status
    WHERE queue_name IS NOT NULL AND status IN ('ENQUEUED', 'PENDING', 'DELAYED')
      AND ($1::text IS NULL OR application_name = $1::text OR application_name IS NULL)
    GROUP BY queue_name, status`,
  `SELECT queue_name, status, count(*) AS n, min(created_at) AS oldest
     FROM workflow_status
    WHERE queue_name IS NOT NULL AND status IN ('ENQUEUED', 'PENDING', 'DELAYED')
      AND ($1 IS NULL OR application_name = $1 OR application_name IS NULL)
    GROUP BY queue_name, status`,
);

/** Every queue that holds active work, by name. */
export async function queueActivity(db: Queryable, applicationName: string | null): Promise<QueueActivity[]> {
  const rows = await db.query<Record<string, unknown>>(QUEUE_ACTIVITY, [applicationName]);
  const byQueue = new Map<string, QueueActivity>();
  for (const r of rows) {
    const name = String(r.queue_name);
    const entry = byQueue.get(name) ?? { queueName: name, waiting: 0, delayed: 0, running: 0, oldestWaitingCreatedAt: null };
    const n = Number(r.n);
    if (r.status === 'ENQUEUED') {
      entry.waiting = n;
      entry.oldestWaitingCreatedAt = r.oldest === null ? null : Number(r.oldest);
    } else if (r.status === 'DELAYED') entry.delayed = n;
    else entry.running = n;
    byQueue.set(name, entry);
  }
  return [...byQueue.values()].sort((a, b) => a.queueName.localeCompare(b.queueName));
}

/** The distinct values an operator can filter workflows by, each list capped (a filter box's suggestions). */
export interface WorkflowFacets {
  names: string[];
  queues: string[];
  versions: string[];
  executors: string[];
}

const FACET_LIMIT = 200;
const facet = (column: string) =>
  sql(
    `transact_facet_${column}`,
    `SELECT DISTINCT ${column} AS v FROM dbos.workflow_status
      WHERE ${column} IS NOT NULL AND ($1::text IS NULL OR application_name = $1::text OR application_name IS NULL)
      ORDER BY v LIMIT ${FACET_LIMIT}`,
    `SELECT DISTINCT ${column} AS v FROM workflow_status
      WHERE ${column} IS NOT NULL AND ($1 IS NULL OR application_name = $1 OR application_name IS NULL)
      ORDER BY v LIMIT ${FACET_LIMIT}`,
  );
const FACETS = {
  names: facet('name'),
  queues: facet('queue_name'),
  versions: facet('application_version'),
  executors: facet('executor_id'),
};

export async function workflowFacets(db: Queryable, applicationName: string | null): Promise<WorkflowFacets> {
  const values = async (key: keyof typeof FACETS) =>
    (await db.query<{ v: unknown }>(FACETS[key], [applicationName])).map((r) => String(r.v));
  const [names, queues, versions, executors] = await Promise.all([values('names'), values('queues'), values('versions'), values('executors')]);
  return { names, queues, versions, executors };
}
