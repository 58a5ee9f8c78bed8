// Enqueueing a workflow by name, with DBOS's ClientEnqueueOptions: one path for DBOSClient.enqueue (a process that
// runs no workflows, dbos-spec §4) and DBOS.enqueueWorkflowWithOptions (src/runtime/enqueue-by-name.ts, which adds the
// caller's executor and, inside a workflow, its parent step). A client's row is written the way DBOS's client writes
// it (no executor, no application version unless given, so the latest version of the application takes it), and the
// queue is announced so an idle dispatcher claims it at once.

import { randomUUID } from 'node:crypto';
import {
  DBOSConflictingWorkflowError,
  DBOSError,
  DBOSWorkflowConflictError,
  DBOSWorkflowIDInUseError,
} from '../errors.js';
import { serializeArgs } from '../serialization/index.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { announceQueuedWork } from '../sysdb/queues.js';
import { insertOrFindDuplicate, type ParentStep } from '../sysdb/workflows.js';
import { workflowRow } from './workflow-row.js';
import { checkClassName, checkFunctionName, checkStartOptions } from '../validation.js';

/** DBOS's ClientEnqueueOptions. */
export interface ClientEnqueueOptions {
  queueName: string;
  workflowName: string;
  workflowClassName?: string;
  workflowConfigName?: string;
  workflowID?: string;
  workflowIDReusePolicy?: 'return-existing' | 'reject';
  /** A taken deduplication ID: throw DBOSQueueDuplicatedError (`reject`, the default) or return the holder's handle. */
  duplicationPolicy?: 'reject' | 'return-existing';
  /** Only this version runs it; unset, the latest version of the application does. */
  appVersion?: string;
  workflowTimeoutMS?: number;
  deduplicationID?: string;
  priority?: number;
  queuePartitionKey?: string;
  delaySeconds?: number;
  serializationType?: 'native' | 'portable';
  attributes?: Record<string, unknown>;
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  applicationName?: string;
}

/**
 * What an application stamps on a row it enqueues by name (DBOS.enqueueWorkflowWithOptions); a client stamps nothing.
 * The application wakes its own dispatcher and announces the work itself (coalesced), so nothing is announced here.
 */
export interface EnqueueOrigin {
  executorID: string;
  applicationID: string | null;
  /** Inside a workflow: the caller's step row, written in the same statement as the child's row. */
  parent?: ParentStep;
}

/** Writes the row (with the parent's step, when `origin` has one) and returns the workflow's ID. */
export async function enqueueByNameRow(
  db: SqlDriver,
  options: ClientEnqueueOptions,
  args: unknown[],
  /** The schedule firing it (scheduled workflows only). */
  scheduleName?: string,
  origin?: EnqueueOrigin,
): Promise<string> {
  if (!options.queueName || !options.workflowName) throw new DBOSError('enqueue needs a queueName and a workflowName');
  options = checkClientEnqueueOptions(options, origin?.parent !== undefined);
  const portable = options.serializationType === 'portable';
  const inputs = serializeArgs(args, portable ? 'portable' : 'native', `the arguments of workflow ${options.workflowName}`);
  const workflowID = options.workflowID ?? randomUUID();
  const delayed = (options.delaySeconds ?? 0) > 0;
  const className = options.workflowClassName || null;
  const configName = options.workflowConfigName || null;
  const row = workflowRow({
    workflowID,
    name: options.workflowName,
    className,
    configName,
    queueName: options.queueName,
    executorID: origin?.executorID ?? '',
    applicationVersion: options.appVersion ?? null,
    applicationID: origin ? origin.applicationID : '',
    applicationName: options.applicationName ?? null,
    ownerXid: null,
    timeoutMS: options.workflowTimeoutMS ?? null,
    deadlineEpochMS: null,
    deduplicationID: options.deduplicationID,
    priority: options.priority,
    queuePartitionKey: options.queuePartitionKey,
    parentWorkflowID: origin?.parent?.workflowID,
    format: portable ? 'portable' : 'native',
    delaySeconds: options.delaySeconds,
    nowEpochMs: Date.now(),
    authenticatedUser: options.authenticatedUser,
    authenticatedRoles: options.authenticatedRoles,
    attributes: options.attributes,
    scheduleName,
    inputs: inputs.text,
  });
  // `return-existing` applies outside workflow code; inside, a taken deduplication ID stays an error (recorded by
  // enqueue-by-name, so a replay agrees).
  const policy = origin?.parent ? undefined : options.duplicationPolicy;
  const result = await insertOrFindDuplicate(db, row, origin?.parent, policy);
  if ('holder' in result) return result.holder;
  // The caller's run no longer owns its workflow, so nothing was written; the caller finds out why.
  if (!result.parentOwned) throw new DBOSWorkflowConflictError(origin!.parent!.workflowID);
  if (!result.created) {
    const existing = result.existing;
    if (existing.name !== options.workflowName || existing.className !== className || existing.configName !== configName) {
      throw new DBOSConflictingWorkflowError(workflowID, `it runs ${existing.name}, not ${options.workflowName}`);
    }
    if (options.workflowIDReusePolicy === 'reject') throw new DBOSWorkflowIDInUseError(workflowID, existing.status, existing.name);
    return workflowID;
  }
  if (!delayed && !origin) await announceQueuedWork(db, [options.queueName]);
  return workflowID;
}

/**
 * The options of an enqueue by name, checked as every start is (src/validation.ts); the timeout comes back in whole
 * ms. A child's ID (`<parentID>-<functionID>`) is the engine's, derived from a checked parent ID, and may be a few
 * bytes longer than a caller's own.
 */
export function checkClientEnqueueOptions(options: ClientEnqueueOptions, derivedID = false): ClientEnqueueOptions {
  checkFunctionName('workflow name', options.workflowName);
  if (options.workflowClassName) checkClassName('class name', options.workflowClassName);
  if (options.workflowConfigName) checkClassName('instance name', options.workflowConfigName);
  const checked = checkStartOptions(
    {
      workflowID: derivedID ? undefined : options.workflowID,
      queueName: options.queueName,
      timeoutMS: options.workflowTimeoutMS,
      deduplicationID: options.deduplicationID,
      priority: options.priority,
      queuePartitionKey: options.queuePartitionKey,
      delaySeconds: options.delaySeconds,
      applicationName: options.applicationName,
      applicationVersion: options.appVersion,
      authenticatedUser: options.authenticatedUser,
      authenticatedRoles: options.authenticatedRoles,
      attributes: options.attributes,
    },
    'workflowTimeoutMS',
  );
  return checked.timeoutMS === options.workflowTimeoutMS ? options : { ...options, workflowTimeoutMS: checked.timeoutMS ?? undefined };
}
