// Debouncing (dbos-spec §1.9, §3.8), written once for the Debouncer (inside the application) and the DebouncerClient:
// a debounce key becomes the deduplication ID `<class>.<workflow>-<key>` on the target queue (the internal queue by
// default); a call extends the DELAYED workflow that holds it (later start, the last arguments) or starts a new one
// DELAYED by the period. Once the delay is over the workflow is ENQUEUED and the key is free again.

import {
  DBOSConflictingWorkflowError,
  DBOSError,
  DBOSInvalidWorkflowInputError,
  DBOSQueueDuplicatedError,
} from '../errors.js';
import type { ClientEnqueueOptions } from '../runtime/enqueue.js';
import { describe } from '../runtime/registry.js';
import { serializeArgs, type Serialized } from '../serialization/index.js';
import { debounceWorkflowRow, type DebouncedWorkflow, type DebounceStep } from '../sysdb/debounce.js';
import type { SqlDriver } from '../sysdb/driver.js';
import type { FencedResult } from '../sysdb/operations.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import { randomUUID } from 'node:crypto';
import { checkKey, checkPriority, checkStartOptions, checkText } from '../validation.js';

/** The step name a debounce call from workflow code is recorded under (dbos-spec §3.1). */
export const DEBOUNCE_STEP_NAME = 'DBOS.debounceDelayedWorkflow';

/** The parts of DBOS's StartWorkflowParams a debounced workflow uses (its deduplication ID and delay are the key's). */
export interface DebounceStartParams {
  workflowID?: string;
  queueName?: string;
  timeoutMS?: number | null;
  enqueueOptions?: { priority?: number; queuePartitionKey?: string; applicationVersion?: string };
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  workflowAttributes?: Record<string, unknown>;
}

/** Where the row is placed: the caller's identity (a client has no executor, and no version unless given). */
export interface DebouncePlacement {
  executorID: string;
  applicationVersion: string | null;
  applicationID: string | null;
  /** The application the call acts for; null (a client that names none) acts for any and writes unclaimed rows. */
  applicationName: string | null;
}

export interface DebounceRequest {
  key: string;
  periodMs: number;
  debounceTimeoutMs?: number;
  workflowName: string;
  /** '' for a free function. */
  workflowClassName: string;
  params: DebounceStartParams;
  /** The arguments, already encoded in the workflow's format. */
  inputs: Serialized;
  placement: DebouncePlacement;
}

export function debounceDeduplicationID(workflowClassName: string, workflowName: string, key: string): string {
  return `${workflowClassName}.${workflowName}-${key}`;
}

/** Rejects what could never be debounced, before anything is encoded or written. */
export function checkDebounceCall(key: unknown, periodMs: unknown, debounceTimeoutMs: unknown): void {
  if (typeof key !== 'string') throw new DBOSInvalidWorkflowInputError(`A debounce key must be a string, got ${typeof key}`);
  checkText('A debounce key', key);
  if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs < 0) {
    throw new DBOSInvalidWorkflowInputError(`The debounce period must be a number of milliseconds >= 0, got ${String(periodMs)}`);
  }
  if (
    debounceTimeoutMs !== undefined &&
    (typeof debounceTimeoutMs !== 'number' || !Number.isFinite(debounceTimeoutMs) || debounceTimeoutMs < 0)
  ) {
    throw new DBOSInvalidWorkflowInputError(`debounceTimeoutMs must be a number of milliseconds >= 0, got ${String(debounceTimeoutMs)}`);
  }
}

function toDebouncedWorkflow(r: DebounceRequest): DebouncedWorkflow {
  checkDebounceCall(r.key, r.periodMs, r.debounceTimeoutMs);
  const p = r.params;
  const checked = checkStartOptions({
    workflowID: p.workflowID,
    queueName: p.queueName,
    timeoutMS: p.timeoutMS,
    priority: p.enqueueOptions?.priority,
    queuePartitionKey: p.enqueueOptions?.queuePartitionKey,
    applicationVersion: p.enqueueOptions?.applicationVersion,
    authenticatedUser: p.authenticatedUser,
    authenticatedRoles: p.authenticatedRoles,
    attributes: p.workflowAttributes,
  });
  const priority = checked.priority ?? 0;
  const queueName = p.queueName ?? INTERNAL_QUEUE;
  return {
    workflowID: p.workflowID ?? randomUUID(),
    name: r.workflowName,
    className: r.workflowClassName || null,
    queueName,
    deduplicationID: checkKey('deduplicationID', debounceDeduplicationID(r.workflowClassName, r.workflowName, r.key)),
    periodMs: Math.round(r.periodMs),
    // 0 is DBOS's "no timeout" as much as undefined is.
    debounceTimeoutMs: r.debounceTimeoutMs ? Math.round(r.debounceTimeoutMs) : null,
    inputs: r.inputs.text,
    serialization: r.inputs.serialization,
    applicationName: r.placement.applicationName,
    executorID: r.placement.executorID,
    applicationVersion: p.enqueueOptions?.applicationVersion ?? r.placement.applicationVersion,
    applicationID: r.placement.applicationID,
    timeoutMS: typeof checked.timeoutMS === 'number' ? checked.timeoutMS : null,
    priority,
    queuePartitionKey: p.enqueueOptions?.queuePartitionKey ?? null,
    authenticatedUser: p.authenticatedUser ?? null,
    authenticatedRoles: p.authenticatedRoles ? JSON.stringify(p.authenticatedRoles) : null,
    attributes: p.workflowAttributes ? JSON.stringify(p.workflowAttributes) : null,
  };
}

/**
 * A debounce call: the ID of the workflow that will run with these arguments. With `step` (a call from workflow
 * code) the call is checkpointed with it, or, when the run may not record it, `{ fenced }` says why and nothing was
 * written.
 */
export async function debounceWorkflow(
  db: SqlDriver,
  request: DebounceRequest,
  step?: DebounceStep,
): Promise<{ workflowID: string } | { fenced: Exclude<FencedResult, 'recorded'> }> {
  const w = toDebouncedWorkflow(request);
  const outcome = await debounceWorkflowRow(db, w, step);
  switch (outcome.kind) {
    case 'extended':
    case 'created':
    case 'exists':
      return { workflowID: outcome.workflowID };
    case 'fenced':
      return { fenced: outcome.result };
    case 'id-conflict':
      throw new DBOSConflictingWorkflowError(
        outcome.workflowID,
        `it runs ${describe(outcome.className ?? '', outcome.name)}, not ${describe(request.workflowClassName, request.workflowName)}`,
      );
    case 'held': {
      const h = outcome.holder;
      const why = !h.isDebounced
        ? 'it was not started by a debouncer'
        : h.name !== w.name || h.className !== w.className
          ? `it runs ${describe(h.className ?? '', h.name)}`
          : `it belongs to application ${h.applicationName}`;
      const error = new DBOSQueueDuplicatedError(w.workflowID, w.queueName, w.deduplicationID);
      error.message += ` (workflow ${h.workflowID}, which this debounce cannot extend: ${why})`;
      throw error;
    }
    default:
      throw new DBOSError(`Unexpected debounce outcome ${(outcome as { kind: string }).kind}`);
  }
}

/**
 * DBOSClient.enqueueDebounced (DBOS's DebouncerClient calls it once no waiting workflow holds the key): enqueues
 * `options.workflowName` DELAYED by `options.delaySeconds` as a debounced workflow holding `options.deduplicationID`,
 * whose start later calls may push back until `debounceDeadlineEpochMS`. If a waiting debounced start of the same
 * workflow already holds the deduplication ID, that start is moved and takes these arguments (what DBOS's
 * DebouncerClient does next when this call finds the key taken) and its ID is returned. Returns the workflow ID.
 */
export async function enqueueDebounced(
  db: SqlDriver,
  options: ClientEnqueueOptions,
  debounceDeadlineEpochMS: number | undefined,
  args: unknown[],
): Promise<string> {
  if (!options.queueName || !options.workflowName) throw new DBOSError('enqueueDebounced needs a queueName and a workflowName');
  if (!options.deduplicationID) throw new DBOSError('enqueueDebounced needs the deduplicationID its debounce key maps to');
  const priority = checkPriority(options.priority ?? 0);
  const inputs = serializeArgs(args, options.serializationType ?? 'native', `the arguments of workflow ${options.workflowName}`);
  const periodMs = Math.max(0, Math.round((options.delaySeconds ?? 0) * 1000));
  const w: DebouncedWorkflow = {
    workflowID: options.workflowID ?? randomUUID(),
    name: options.workflowName,
    className: options.workflowClassName || null,
    queueName: options.queueName,
    deduplicationID: options.deduplicationID,
    periodMs,
    debounceTimeoutMs: debounceDeadlineEpochMS === undefined ? null : Math.max(0, Math.round(debounceDeadlineEpochMS - Date.now())),
    inputs: inputs.text,
    serialization: inputs.serialization,
    applicationName: options.applicationName ?? null,
    executorID: '',
    applicationVersion: options.appVersion ?? null,
    applicationID: '',
    timeoutMS: options.workflowTimeoutMS ?? null,
    priority,
    queuePartitionKey: options.queuePartitionKey ?? null,
    authenticatedUser: options.authenticatedUser ?? null,
    authenticatedRoles: options.authenticatedRoles ? JSON.stringify(options.authenticatedRoles) : null,
    attributes: options.attributes ? JSON.stringify(options.attributes) : null,
  };
  const outcome = await debounceWorkflowRow(db, w);
  switch (outcome.kind) {
    case 'created':
    case 'extended':
    case 'exists':
      return outcome.workflowID;
    case 'id-conflict':
      throw new DBOSConflictingWorkflowError(outcome.workflowID, `it runs ${outcome.name}, not ${options.workflowName}`);
    case 'held':
      throw new DBOSQueueDuplicatedError(w.workflowID, w.queueName, w.deduplicationID);
    default:
      throw new DBOSError(`Unexpected debounce outcome ${outcome.kind}`);
  }
}
