// The public shape of a workflow's status (DBOS's WorkflowStatus), built from a row. Shared by the runtime, the
// management functions and the client.

import { deserializeArgs, deserializeError, deserializeValue } from '../serialization/index.js';
import type { WorkflowRow, WorkflowStatusString } from '../sysdb/rows.js';

export interface WorkflowStatus {
  readonly workflowID: string;
  readonly status: WorkflowStatusString | string;
  readonly workflowName: string;
  readonly workflowClassName: string;
  readonly workflowConfigName?: string;
  readonly queueName?: string;
  readonly authenticatedUser?: string;
  readonly assumedRole?: string;
  readonly authenticatedRoles?: string[];
  readonly input?: unknown[];
  readonly output?: unknown;
  readonly error?: unknown;
  readonly executorId?: string;
  readonly applicationVersion?: string;
  readonly applicationID?: string;
  readonly applicationName?: string;
  readonly recoveryAttempts?: number;
  readonly createdAt: number;
  readonly updatedAt?: number;
  readonly timeoutMS?: number;
  readonly deadlineEpochMS?: number;
  readonly dequeuedAt?: number;
  readonly delayUntilEpochMS?: number;
  readonly completedAt?: number;
  readonly deduplicationID?: string;
  readonly priority: number;
  readonly queuePartitionKey?: string;
  readonly forkedFrom?: string;
  readonly wasForkedFrom?: boolean;
  readonly parentWorkflowID?: string;
  readonly attributes?: Record<string, unknown>;
  readonly scheduleName?: string;
  readonly serialization?: string;
}

const orUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** Payloads that cannot be decoded (another language's format) are left out rather than failing the listing. */
function tryDecode<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

export function toWorkflowStatus(row: WorkflowRow): WorkflowStatus {
  return {
    workflowID: row.workflowID,
    status: row.status,
    workflowName: row.name,
    workflowClassName: row.className ?? '',
    workflowConfigName: orUndefined(row.configName),
    queueName: orUndefined(row.queueName),
    authenticatedUser: orUndefined(row.authenticatedUser),
    assumedRole: orUndefined(row.assumedRole),
    authenticatedRoles: row.authenticatedRoles ? tryDecode(() => JSON.parse(row.authenticatedRoles!) as string[]) : undefined,
    input: row.inputs ? tryDecode(() => deserializeArgs(row.inputs, row.serialization)) : undefined,
    output: row.output ? tryDecode(() => deserializeValue(row.output, row.serialization)) : undefined,
    error: row.error ? tryDecode(() => deserializeError(row.error!, row.serialization)) : undefined,
    executorId: orUndefined(row.executorID),
    applicationVersion: orUndefined(row.applicationVersion),
    applicationID: orUndefined(row.applicationID),
    applicationName: orUndefined(row.applicationName),
    recoveryAttempts: row.recoveryAttempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    timeoutMS: orUndefined(row.timeoutMS),
    deadlineEpochMS: orUndefined(row.deadlineEpochMS),
    dequeuedAt: orUndefined(row.startedAtEpochMs),
    delayUntilEpochMS: orUndefined(row.delayUntilEpochMS),
    completedAt: orUndefined(row.completedAt),
    deduplicationID: orUndefined(row.deduplicationID),
    priority: row.priority,
    queuePartitionKey: orUndefined(row.queuePartitionKey),
    forkedFrom: orUndefined(row.forkedFrom),
    wasForkedFrom: row.wasForkedFrom,
    parentWorkflowID: orUndefined(row.parentWorkflowID),
    attributes: orUndefined(row.attributes),
    scheduleName: orUndefined(row.scheduleName),
    serialization: orUndefined(row.serialization),
  };
}
