// Typed shapes of the rows the engine reads, and the mapping from raw database rows (which differ by dialect:
// SQLite returns 0/1 for booleans and text for JSONB) to them.

export type WorkflowStatusString =
  | 'PENDING'
  | 'ENQUEUED'
  | 'DELAYED'
  | 'SUCCESS'
  | 'ERROR'
  | 'CANCELLED'
  | 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';

export const INTERNAL_QUEUE = '_dbos_internal_queue';

/** One `workflow_status` row, with its payloads from `workflow_input` / `workflow_output` when they were read. */
export interface WorkflowRow {
  workflowID: string;
  status: WorkflowStatusString;
  name: string;
  className: string | null;
  configName: string | null;
  authenticatedUser: string | null;
  assumedRole: string | null;
  authenticatedRoles: string | null;
  executorID: string | null;
  createdAt: number;
  updatedAt: number;
  applicationVersion: string | null;
  applicationID: string | null;
  applicationName: string | null;
  recoveryAttempts: number;
  queueName: string | null;
  timeoutMS: number | null;
  deadlineEpochMS: number | null;
  startedAtEpochMs: number | null;
  deduplicationID: string | null;
  priority: number;
  queuePartitionKey: string | null;
  forkedFrom: string | null;
  wasForkedFrom: boolean;
  parentWorkflowID: string | null;
  serialization: string | null;
  delayUntilEpochMS: number | null;
  completedAt: number | null;
  attributes: Record<string, unknown> | null;
  scheduleName: string | null;
  ownerXid: string | null;
  creatorXid: string | null;
  inputs?: string | null;
  output?: string | null;
  error?: string | null;
}

export function toWorkflowRow(r: Record<string, unknown>): WorkflowRow {
  return {
    workflowID: r.workflow_uuid as string,
    status: (r.status === 'RETRIES_EXCEEDED' ? 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' : r.status) as WorkflowStatusString,
    name: r.name as string,
    className: (r.class_name as string | null) ?? null,
    configName: (r.config_name as string | null) ?? null,
    authenticatedUser: (r.authenticated_user as string | null) ?? null,
    assumedRole: (r.assumed_role as string | null) ?? null,
    authenticatedRoles: (r.authenticated_roles as string | null) ?? null,
    executorID: (r.executor_id as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    applicationVersion: (r.application_version as string | null) ?? null,
    applicationID: (r.application_id as string | null) ?? null,
    applicationName: (r.application_name as string | null) ?? null,
    recoveryAttempts: Number(r.recovery_attempts ?? 0),
    queueName: (r.queue_name as string | null) ?? null,
    timeoutMS: numberOrNull(r.workflow_timeout_ms),
    deadlineEpochMS: numberOrNull(r.workflow_deadline_epoch_ms),
    startedAtEpochMs: numberOrNull(r.started_at_epoch_ms),
    deduplicationID: (r.deduplication_id as string | null) ?? null,
    priority: Number(r.priority ?? 0),
    queuePartitionKey: (r.queue_partition_key as string | null) ?? null,
    forkedFrom: (r.forked_from as string | null) ?? null,
    wasForkedFrom: Boolean(r.was_forked_from),
    parentWorkflowID: (r.parent_workflow_id as string | null) ?? null,
    serialization: (r.serialization as string | null) ?? null,
    delayUntilEpochMS: numberOrNull(r.delay_until_epoch_ms),
    completedAt: numberOrNull(r.completed_at),
    attributes: parseJsonColumn(r.attributes),
    scheduleName: (r.schedule_name as string | null) ?? null,
    ownerXid: (r.owner_xid as string | null) ?? null,
    creatorXid: (r.creator_xid as string | null) ?? null,
    inputs: r.inputs as string | null | undefined,
    output: r.output as string | null | undefined,
    error: r.error as string | null | undefined,
  };
}

/** One `operation_outputs` row. */
export interface StepRow {
  functionID: number;
  name: string;
  output: string | null;
  error: string | null;
  childWorkflowID: string | null;
  startedAtEpochMs: number | null;
  completedAtEpochMs: number | null;
  serialization: string | null;
}

export function toStepRow(r: Record<string, unknown>): StepRow {
  return {
    functionID: Number(r.function_id),
    name: r.function_name as string,
    output: (r.output as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    childWorkflowID: (r.child_workflow_id as string | null) ?? null,
    startedAtEpochMs: numberOrNull(r.started_at_epoch_ms),
    completedAtEpochMs: numberOrNull(r.completed_at_epoch_ms),
    serialization: (r.serialization as string | null) ?? null,
  };
}

export function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function parseJsonColumn(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : (v as Record<string, unknown>);
}
