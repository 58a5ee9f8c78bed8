// Every metric Transact records, in one place (the README's "Operating Transact" lists them). One registry per
// process: counters add up over the process's life, whatever engines it launches and shuts down.

import { MetricsRegistry } from './registry.js';

export const registry = new MetricsRegistry();

/** Seconds: from a millisecond to five minutes. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds waited on a queue: from a millisecond to a day. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

// ------------------------------------------------------------------------------------------------ workflows, steps
export const workflowsStarted = registry.counter(
  'transact_workflows_started_total',
  'Workflow runs started in this process (new, dequeued or recovered), by workflow name',
  ['name'],
);
export const workflowsFinished = registry.counter(
  'transact_workflows_finished_total',
  'Workflow runs that recorded their outcome in this process, by workflow name and status (SUCCESS, ERROR, MAX_RECOVERY_ATTEMPTS_EXCEEDED)',
  ['name', 'status'],
);
export const workflowDuration = registry.histogram(
  'transact_workflow_duration_seconds',
  'How long a workflow run took in this process, from its start (or resumption) to its recorded outcome',
  ['name', 'status'],
  DURATION_BUCKETS,
);
export const stepDuration = registry.histogram(
  'transact_step_duration_seconds',
  "How long a step took, all attempts included, until its outcome was recorded, by step name and status",
  ['name', 'status'],
  DURATION_BUCKETS,
);
export const stepRetries = registry.counter('transact_step_retries_total', 'Step attempts that failed and were retried, by step name', ['name']);

// ------------------------------------------------------------------------------------------------ queues
export const queueClaims = registry.counter(
  'transact_queue_claims_total',
  'Claims this process made on a queue, by queue and result (work: took at least one workflow; empty; failed)',
  ['queue', 'result'],
);
export const queueClaimed = registry.counter('transact_queue_claimed_workflows_total', 'Workflows this process claimed, by queue', ['queue']);
export const queueWait = registry.histogram(
  'transact_queue_wait_seconds',
  'How long a claimed workflow waited on its queue, from its creation to its claim (the database clock against this host clock)',
  ['queue'],
  WAIT_BUCKETS,
);
export const queueRunning = registry.gauge('transact_queue_running', 'Workflows of each queue running in this process now', ['queue']);
export const queueDepth = registry.gauge(
  'transact_queue_depth',
  "Workflows of each queue in the database now (read at scrape time), by status (ENQUEUED, PENDING, DELAYED), this application's and unclaimed",
  ['queue', 'status'],
);
export const queueOldestWait = registry.gauge(
  'transact_queue_oldest_wait_seconds',
  'How long the oldest ENQUEUED workflow of each queue has waited (read at scrape time)',
  ['queue'],
);

// ------------------------------------------------------------------------------------------------ the database
export const dbStatements = registry.gauge(
  'transact_db_statements_total',
  "Statements this process's system database sent (each is one round trip on PostgreSQL), by statement name",
  ['statement'],
  'counter',
);
export const groupCommitBatch = registry.histogram(
  'transact_group_commit_batch_size',
  'Writes that left together in one statement (group commit), by kind of write',
  ['kind'],
  BATCH_BUCKETS,
);
export const dbErrors = registry.counter(
  'transact_db_errors_total',
  'Failed database statements, by kind (transient: a lost connection or a busy database, retried; other)',
  ['kind'],
);
export const dbReconnects = registry.counter(
  'transact_db_reconnects_total',
  'Times the notification connection (PostgreSQL LISTEN) was lost and re-established',
);

// ------------------------------------------------------------------------------------------------ recovery
export const recovered = registry.counter('transact_recovered_workflows_total', 'Workflows this executor put back on their queues at launch (its own unfinished work)');
export const takeovers = registry.counter('transact_executor_takeovers_total', 'Dead executors whose work this executor took over');
export const takenOverWorkflows = registry.counter(
  'transact_takeover_workflows_total',
  'Workflows of dead executors that this executor put back on their queues',
);
export const deadLettered = registry.counter(
  'transact_dead_lettered_total',
  'Workflows this process dead-lettered (MAX_RECOVERY_ATTEMPTS_EXCEEDED), by workflow name',
  ['name'],
);

// ------------------------------------------------------------------------------------------------ operations
export const retentionDeleted = registry.counter('transact_retention_deleted_workflows_total', 'Workflows deleted by retention passes of this process');
export const retentionPasses = registry.counter(
  'transact_retention_passes_total',
  'Retention passes of this process, by result (done, skipped: another collector held the lease, failed)',
  ['result'],
);
export const retentionBatch = registry.histogram(
  'transact_retention_batch_seconds',
  'How long one retention batch (one statement on PostgreSQL) took',
  [],
  DURATION_BUCKETS,
);
export const globalTimeoutCancelled = registry.counter(
  'transact_global_timeout_cancelled_total',
  'Workflows this process cancelled because they were older than the global timeout',
);
export const alertsRaised = registry.counter('transact_alerts_total', 'Alerts raised in this process, by alert name', ['name']);

// ------------------------------------------------------------------------------------------------ event receivers
// Read from each consumer's status (src/receivers/status.ts) at scrape time; a consumer's series go when it stops.
export const receiverState = registry.gauge(
  'transact_receiver_state',
  "Each event receiver consumer's state: 1 for the state it is in, 0 for the others (starting, running, rebalancing, paused, crashed)",
  ['source', 'consumer', 'group', 'state'],
);
export const receiverLag = registry.gauge(
  'transact_receiver_lag',
  'Messages in the source not yet taken in by the consumer, by partition (Kafka topic/partition, Redis stream, NATS stream), where the source tells',
  ['source', 'consumer', 'group', 'partition'],
);
export const receiverMessages = registry.gauge(
  'transact_receiver_messages_total',
  "An event receiver consumer's messages since it started, by stage: acknowledged (to the source, once its workflow was stored, now or before), stored (new workflows stored), finished (its workflow's runs finished in this process)",
  ['source', 'consumer', 'group', 'stage'],
  'counter',
);
export const receiverCrashes = registry.gauge(
  'transact_receiver_crashes_total',
  "Times an event receiver consumer's client crashed (each logged, alerted as EventReceiverCrashed, and rebuilt)",
  ['source', 'consumer', 'group'],
  'counter',
);
