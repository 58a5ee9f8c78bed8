import { NOW_MS as NOW } from './sql.js';

/**
 * The tables, keys and indexes of DBOS's schema at version 123, for an empty schema `s` (already quoted).
 *
 * Column order follows DBOS's tables (where a column was added by a later migration it sits at the end), so that
 * `SELECT *` and pg_dump look the same as on a database DBOS created. Foreign keys are named explicitly with the
 * `_fkey` names DBOS uses, because management code and people's runbooks refer to them.
 */
export function tablesV123(s: string): string[] {
  return [
    `CREATE TABLE ${s}.workflow_status (
      workflow_uuid text NOT NULL,
      status text,
      name text,
      authenticated_user text,
      assumed_role text,
      authenticated_roles text,
      request text,
      output text,
      error text,
      executor_id text,
      created_at bigint NOT NULL DEFAULT ${NOW},
      updated_at bigint NOT NULL DEFAULT ${NOW},
      application_version text,
      application_id text,
      class_name varchar(255) DEFAULT NULL,
      config_name varchar(255) DEFAULT NULL,
      recovery_attempts bigint DEFAULT 0,
      queue_name text,
      workflow_timeout_ms bigint,
      workflow_deadline_epoch_ms bigint,
      inputs text,
      started_at_epoch_ms bigint,
      deduplication_id text,
      priority integer NOT NULL DEFAULT 0,
      queue_partition_key text,
      forked_from text,
      owner_xid text,
      parent_workflow_id text,
      serialization text,
      delay_until_epoch_ms bigint,
      was_forked_from boolean NOT NULL DEFAULT false,
      rate_limited boolean NOT NULL DEFAULT false,
      completed_at bigint,
      attributes jsonb,
      schedule_name text,
      debounce_deadline_epoch_ms bigint,
      is_debounced boolean NOT NULL DEFAULT false,
      application_name text,
      creator_xid text,
      CONSTRAINT workflow_status_pkey PRIMARY KEY (workflow_uuid)
    )`,

    // Payloads live apart from the status row (v109) so listing workflows never drags inputs and outputs along.
    // Deliberately no foreign key: retention deletes them on its own schedule.
    `CREATE TABLE ${s}.workflow_input (
      workflow_uuid text NOT NULL,
      inputs text,
      retention_timestamp bigint NOT NULL DEFAULT ${NOW},
      CONSTRAINT workflow_input_pkey PRIMARY KEY (workflow_uuid)
    )`,
    `CREATE TABLE ${s}.workflow_output (
      workflow_uuid text NOT NULL,
      output text,
      error text,
      retention_timestamp bigint NOT NULL DEFAULT ${NOW},
      CONSTRAINT workflow_output_pkey PRIMARY KEY (workflow_uuid)
    )`,

    // No foreign key since v112: a step checkpoint must not pay for a lookup in workflow_status.
    `CREATE TABLE ${s}.operation_outputs (
      workflow_uuid text NOT NULL,
      function_id integer NOT NULL,
      function_name text NOT NULL DEFAULT '',
      output text,
      error text,
      child_workflow_id text,
      started_at_epoch_ms bigint,
      completed_at_epoch_ms bigint,
      serialization text,
      application_name text,
      retention_timestamp bigint NOT NULL DEFAULT ${NOW},
      CONSTRAINT operation_outputs_pkey PRIMARY KEY (workflow_uuid, function_id)
    )`,

    `CREATE TABLE ${s}.notifications (
      message_uuid text NOT NULL DEFAULT gen_random_uuid(),
      destination_uuid text NOT NULL,
      topic text,
      message text NOT NULL,
      created_at_epoch_ms bigint NOT NULL DEFAULT ${NOW},
      serialization text,
      consumed boolean NOT NULL DEFAULT false,
      consumed_by_function_id integer,
      CONSTRAINT notifications_pkey PRIMARY KEY (message_uuid),
      CONSTRAINT notifications_destination_uuid_fkey FOREIGN KEY (destination_uuid)
        REFERENCES ${s}.workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
    )`,

    `CREATE TABLE ${s}.workflow_events (
      workflow_uuid text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      serialization text,
      CONSTRAINT workflow_events_pkey PRIMARY KEY (workflow_uuid, key),
      CONSTRAINT workflow_events_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES ${s}.workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
    )`,
    `CREATE TABLE ${s}.workflow_events_history (
      workflow_uuid text NOT NULL,
      function_id integer NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      serialization text,
      CONSTRAINT workflow_events_history_pkey PRIMARY KEY (workflow_uuid, function_id, key),
      CONSTRAINT workflow_events_history_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES ${s}.workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
    )`,
    `CREATE TABLE ${s}.streams (
      workflow_uuid text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      "offset" integer NOT NULL,
      function_id integer NOT NULL DEFAULT 0,
      serialization text,
      CONSTRAINT streams_pkey PRIMARY KEY (workflow_uuid, key, "offset"),
      CONSTRAINT streams_workflow_uuid_fkey FOREIGN KEY (workflow_uuid)
        REFERENCES ${s}.workflow_status (workflow_uuid) ON UPDATE CASCADE ON DELETE CASCADE
    )`,

    `CREATE TABLE ${s}.event_dispatch_kv (
      service_name text NOT NULL,
      workflow_fn_name text NOT NULL,
      key text NOT NULL,
      value text,
      update_seq numeric(38,0),
      update_time numeric(38,15),
      CONSTRAINT event_dispatch_kv_pkey PRIMARY KEY (service_name, workflow_fn_name, key)
    )`,

    `CREATE TABLE ${s}.workflow_schedules (
      schedule_id text NOT NULL,
      schedule_name text NOT NULL,
      workflow_name text NOT NULL,
      workflow_class_name text,
      schedule text NOT NULL,
      status text NOT NULL DEFAULT 'ACTIVE',
      context text NOT NULL,
      last_fired_at text,
      automatic_backfill boolean NOT NULL DEFAULT false,
      cron_timezone text,
      queue_name text,
      application_name text,
      CONSTRAINT workflow_schedules_pkey PRIMARY KEY (schedule_id),
      CONSTRAINT workflow_schedules_schedule_name_key UNIQUE (schedule_name)
    )`,

    `CREATE TABLE ${s}.application_versions (
      version_id text NOT NULL,
      version_name text NOT NULL,
      version_timestamp bigint NOT NULL DEFAULT ${NOW},
      created_at bigint NOT NULL DEFAULT ${NOW},
      application_name text,
      CONSTRAINT application_versions_pkey PRIMARY KEY (version_id),
      CONSTRAINT application_versions_version_name_key UNIQUE (version_name)
    )`,

    `CREATE TABLE ${s}.queues (
      queue_id text NOT NULL DEFAULT gen_random_uuid()::text,
      name text NOT NULL,
      concurrency integer,
      worker_concurrency integer,
      rate_limit_max integer,
      rate_limit_period_sec double precision,
      priority_enabled boolean NOT NULL DEFAULT false,
      partition_queue boolean NOT NULL DEFAULT false,
      polling_interval_sec double precision NOT NULL DEFAULT 1.0,
      created_at bigint NOT NULL DEFAULT ${NOW},
      updated_at bigint NOT NULL DEFAULT ${NOW},
      application_name text,
      partition_concurrency integer,
      partition_worker_concurrency integer,
      partition_rate_limit_max integer,
      partition_rate_limit_period_sec double precision,
      CONSTRAINT queues_pkey PRIMARY KEY (queue_id),
      CONSTRAINT queues_name_key UNIQUE (name)
    )`,

    `CREATE TABLE ${s}.dbos_migrations (
      version bigint NOT NULL,
      CONSTRAINT dbos_migrations_pkey PRIMARY KEY (version)
    )`,
  ];
}

/**
 * The indexes at version 123. Partial indexes keep the hot ones (queue dispatch, pending, delayed) as small as the
 * set of live workflows rather than the whole history; INCLUDE (application_name) lets the dispatcher filter by
 * owning application from the index alone.
 */
export function indexesV123(s: string): string[] {
  const ws = `${s}.workflow_status`;
  const inFlight = `status IN ('ENQUEUED', 'PENDING')`;
  const whereSet = (suffix: string, column: string) =>
    `CREATE INDEX idx_workflow_status_${suffix} ON ${ws} (${column}) WHERE ${column} IS NOT NULL`;
  return [
    `CREATE INDEX workflow_status_created_at_index ON ${ws} (created_at)`,
    `CREATE INDEX idx_workflow_status_pending ON ${ws} (created_at) WHERE status = 'PENDING'`,
    `CREATE INDEX idx_workflow_status_failed ON ${ws} (status, created_at)
      WHERE status IN ('ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')`,
    `CREATE INDEX idx_workflow_status_delayed ON ${ws} (delay_until_epoch_ms) WHERE status = 'DELAYED'`,
    `CREATE INDEX idx_workflow_status_deadline ON ${ws} (workflow_deadline_epoch_ms)
      WHERE status IN ('ENQUEUED', 'PENDING', 'DELAYED') AND workflow_deadline_epoch_ms IS NOT NULL`,
    `CREATE INDEX idx_workflow_status_rate_limited ON ${ws} (queue_name, started_at_epoch_ms) WHERE rate_limited = true`,
    whereSet('forked_from', 'forked_from'),
    whereSet('parent_workflow_id', 'parent_workflow_id'),
    whereSet('completed_at', 'completed_at'),
    whereSet('started_at', 'started_at_epoch_ms'),
    whereSet('schedule_name', 'schedule_name'),
    `CREATE INDEX idx_workflow_status_attributes ON ${ws} USING gin (attributes) WHERE attributes IS NOT NULL`,
    `CREATE INDEX idx_workflow_status_in_flight_v2 ON ${ws} (queue_name, status, priority, created_at)
      INCLUDE (application_name) WHERE ${inFlight}`,
    `CREATE INDEX idx_workflow_status_partition_dequeue_v3
      ON ${ws} (queue_name, status, queue_partition_key, priority, created_at, workflow_uuid)
      INCLUDE (application_name) WHERE ${inFlight} AND queue_partition_key IS NOT NULL`,
    // Deduplication is enforced by the database, and only while a dedup ID is set (it is cleared when the workflow ends).
    `CREATE UNIQUE INDEX uq_workflow_status_dedup_id ON ${ws} (queue_name, deduplication_id)
      WHERE deduplication_id IS NOT NULL`,

    `CREATE INDEX idx_workflow_topic ON ${s}.notifications (destination_uuid, topic)`,
    `CREATE INDEX idx_operation_outputs_completed_at_function_name_v2
      ON ${s}.operation_outputs (completed_at_epoch_ms, function_name) INCLUDE (application_name)`,
    `CREATE INDEX idx_operation_outputs_retention ON ${s}.operation_outputs (retention_timestamp)`,
    `CREATE INDEX idx_workflow_input_retention ON ${s}.workflow_input (retention_timestamp)`,
    `CREATE INDEX idx_workflow_output_retention ON ${s}.workflow_output (retention_timestamp)`,

    // A version name is unique per owning application, and separately among unclaimed (NULL-owner) versions.
    `CREATE UNIQUE INDEX uq_application_versions_owner_version ON ${s}.application_versions (application_name, version_name)
      WHERE application_name IS NOT NULL`,
    `CREATE UNIQUE INDEX uq_application_versions_unclaimed_version ON ${s}.application_versions (version_name)
      WHERE application_name IS NULL`,
  ];
}
