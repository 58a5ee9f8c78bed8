/**
 * Tables of Transact's own, beside DBOS's in the same schema. They are not part of DBOS's numbered history: the
 * version row is untouched, DBOS's tables are unchanged, and DBOS's libraries ignore them. Each statement is
 * idempotent (`IF NOT EXISTS`) and runs on every migration, whatever version the database is at, so a database
 * created by DBOS itself (or by an older Transact) gains them on the first Transact launch.
 *
 * transact_executor_heartbeats: one row per live executor of an application, refreshed on the database clock; a
 * row older than the lease marks a dead executor whose PENDING workflows a live one takes back to their queues.
 * `incarnation` names the launch that holds the row (a relaunch under the same executor ID takes it over, and only
 * the holder's beats count); `host_id` tells processes on one host (and PID namespace) apart from others, so a peer
 * there can see at once that a dead executor's process is gone. Both were added after the table: HEARTBEAT_COLUMNS
 * adds them to an older table.
 *
 * transact_leases: named leases on the database clock, so that a background duty (retention, src/ops/retention.ts)
 * runs in one process at a time whatever the backend: a lease is taken when it is free or lapsed, renewed by its
 * holder, and given up by setting its expiry in the past.
 */

/** Columns added to the heartbeat table after it was first created, with their types per dialect. */
export const HEARTBEAT_COLUMNS: readonly { name: string; postgres: string; sqlite: string }[] = [
  { name: 'incarnation', postgres: 'text', sqlite: 'TEXT' },
  { name: 'host_id', postgres: 'text', sqlite: 'TEXT' },
];

export function transactTablesPostgres(s: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.transact_executor_heartbeats (
      executor_id text NOT NULL,
      application_name text NOT NULL,
      application_version text NOT NULL,
      last_heartbeat_epoch_ms bigint NOT NULL,
      started_at_epoch_ms bigint NOT NULL,
      hostname text,
      pid integer,
      incarnation text,
      host_id text,
      CONSTRAINT transact_executor_heartbeats_pkey PRIMARY KEY (application_name, executor_id)
    )`,
    `CREATE TABLE IF NOT EXISTS ${s}.transact_leases (
      name text NOT NULL,
      holder text NOT NULL,
      expires_at_epoch_ms bigint NOT NULL,
      CONSTRAINT transact_leases_pkey PRIMARY KEY (name)
    )`,
  ];
}

export const TRANSACT_TABLES_SQLITE: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS transact_executor_heartbeats (
    executor_id TEXT NOT NULL,
    application_name TEXT NOT NULL,
    application_version TEXT NOT NULL,
    last_heartbeat_epoch_ms INTEGER NOT NULL,
    started_at_epoch_ms INTEGER NOT NULL,
    hostname TEXT,
    pid INTEGER,
    incarnation TEXT,
    host_id TEXT,
    PRIMARY KEY (application_name, executor_id)
  )`,
  `CREATE TABLE IF NOT EXISTS transact_leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at_epoch_ms INTEGER NOT NULL
  )`,
];
