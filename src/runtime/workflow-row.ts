// The workflow row (workflow_status with its input), built in one place for every start: by function, direct or on a
// queue (Executor.start), and by name (DBOS.enqueueWorkflowWithOptions, DBOSClient.enqueue; src/runtime/enqueue.ts).
// The callers decide the values; this decides how they are stored: the status, the creation token, the delay, the
// serialization name and the JSON columns.

import { randomUUID } from 'node:crypto';
import { NATIVE_SERIALIZATION, PORTABLE_SERIALIZATION, type SerializationFormat } from '../serialization/index.js';
import type { NewWorkflow } from '../sysdb/workflows.js';

export interface WorkflowRowFields {
  workflowID: string;
  name: string;
  /** '' or undefined for a free function. */
  className?: string | null;
  /** The configured instance an instance workflow runs on. */
  configName?: string | null;
  /** Unset: a direct start, PENDING and owned by `ownerXid`; set: ENQUEUED (or DELAYED, with `delaySeconds`). */
  queueName?: string;
  /** Who writes it: an executor stamps its ID and application ID; a client stamps '' and ''. */
  executorID: string;
  applicationID: string | null;
  /** Null: the latest version of the application runs it. */
  applicationVersion: string | null;
  /** Null: any application's processes may (a client that names none). */
  applicationName: string | null;
  /** A direct start's run token; null for a queued row, which its claimer will own. */
  ownerXid: string | null;
  timeoutMS: number | null;
  deadlineEpochMS: number | null;
  deduplicationID?: string;
  priority?: number;
  queuePartitionKey?: string;
  parentWorkflowID?: string | null;
  format: SerializationFormat;
  delaySeconds?: number;
  /** The caller's clock reading the delay counts from. */
  nowEpochMs: number;
  authenticatedUser?: string | null;
  authenticatedRoles?: string[];
  attributes?: Record<string, unknown>;
  scheduleName?: string;
  /** The arguments, already encoded in `format`. */
  inputs: string;
  createdAtEpochMs?: number;
}

export function workflowRow(f: WorkflowRowFields): NewWorkflow {
  const delayed = f.queueName !== undefined && (f.delaySeconds ?? 0) > 0;
  return {
    workflowID: f.workflowID,
    status: f.queueName === undefined ? 'PENDING' : delayed ? 'DELAYED' : 'ENQUEUED',
    name: f.name,
    className: f.className || null,
    configName: f.configName || null,
    queueName: f.queueName ?? null,
    executorID: f.executorID,
    applicationVersion: f.applicationVersion,
    applicationID: f.applicationID,
    applicationName: f.applicationName,
    ownerXid: f.ownerXid,
    creatorXid: f.ownerXid ?? randomUUID(),
    timeoutMS: f.timeoutMS,
    deadlineEpochMS: f.deadlineEpochMS,
    deduplicationID: f.deduplicationID ?? null,
    priority: f.priority ?? 0,
    queuePartitionKey: f.queuePartitionKey ?? null,
    parentWorkflowID: f.parentWorkflowID ?? null,
    serialization: f.format === 'portable' ? PORTABLE_SERIALIZATION : NATIVE_SERIALIZATION,
    delayUntilEpochMS: delayed ? f.nowEpochMs + Math.round(f.delaySeconds! * 1000) : null,
    authenticatedUser: f.authenticatedUser ?? null,
    authenticatedRoles: f.authenticatedRoles ? JSON.stringify(f.authenticatedRoles) : null,
    assumedRole: null,
    attributes: f.attributes ? JSON.stringify(f.attributes) : null,
    scheduleName: f.scheduleName ?? null,
    inputs: f.inputs,
    createdAtEpochMs: f.createdAtEpochMs ?? null,
  };
}
