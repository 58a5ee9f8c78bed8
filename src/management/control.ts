// The write side of workflow management, written once on the system database and used by the DBOS facade (inside a
// workflow, as checkpointed steps) and by the client: cancel, resume, fork, rewind, delete, priority and delay of
// queued workflows, and the application's versions.

import { DBOSNonExistentWorkflowError } from '../errors.js';
import { checkDelaySeconds, checkEpochMs, checkOptionalKey, checkPriority, checkStartOptions, checkText } from '../validation.js';
import type { SqlDriver } from '../sysdb/driver.js';
import {
  childWorkflowIDs,
  deleteWorkflows as deleteRows,
  forkWorkflow as forkRows,
  resumeWorkflows as resumeRows,
  rewindWorkflow as rewindRow,
  setWorkflowDelay as setDelayRow,
  setWorkflowPriority as setPriorityRow,
  type ForkOptions,
  type RewindOptions,
} from '../sysdb/management.js';
import { cancelWorkflow as cancelRow, DELAY_CHANGED_CHANNEL, getWorkflow } from '../sysdb/workflows.js';

export type { ForkOptions, RewindOptions } from '../sysdb/management.js';
export { listApplicationVersions, latestApplicationVersion, setLatestApplicationVersion, type VersionInfo } from '../sysdb/versions.js';

/**
 * Cancels the workflow (and, with `cancelChildren`, its descendants, breadth first). Returns the IDs that were
 * active and are now CANCELLED; a finished workflow is left as it is.
 */
export async function cancelWorkflows(db: SqlDriver, ids: string[], options: { cancelChildren?: boolean } = {}): Promise<string[]> {
  checkWorkflowIDs(ids);
  for (const id of ids) {
    if (!(await getWorkflow(db, id))) throw new DBOSNonExistentWorkflowError(`Workflow ${id} does not exist`);
  }
  const cancelled: string[] = [];
  const queue = [...ids];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (await cancelRow(db, id)) cancelled.push(id);
    if (options.cancelChildren) queue.push(...(await childWorkflowIDs(db, id)));
  }
  return cancelled;
}

/** Puts unfinished workflows back on a queue (the internal one by default); a replay skips their recorded steps. */
export async function resumeWorkflows(db: SqlDriver, ids: string[], options: { queueName?: string } = {}): Promise<string[]> {
  checkWorkflowIDs(ids);
  checkOptionalKey('queueName', options.queueName);
  return resumeRows(db, ids, options.queueName);
}

function checkStartStep(startStep: number): void {
  if (!Number.isInteger(startStep) || startStep < 0) throw new RangeError(`startStep must be a non-negative integer, got ${startStep}`);
}

/** A new workflow that keeps the original's steps before `startStep` and runs the rest again. Returns its ID. */
export async function forkWorkflow(db: SqlDriver, workflowID: string, startStep: number, options: ForkOptions = {}): Promise<string> {
  checkStartStep(startStep);
  checkWorkflowIDs([workflowID]);
  const checked = checkStartOptions(
    {
      workflowID: options.newWorkflowID,
      queueName: options.queueName,
      queuePartitionKey: options.queuePartitionKey,
      applicationVersion: options.applicationVersion,
      timeoutMS: options.timeoutMS,
    },
  );
  return forkRows(db, workflowID, startStep, checked.timeoutMS === options.timeoutMS ? options : { ...options, timeoutMS: checked.timeoutMS ?? undefined });
}

/**
 * Runs a finished workflow again under the same ID from `startStep` (default 0), keeping the earlier steps' records.
 * A workflow that is not finished is a DBOSInvalidWorkflowTransitionError. Returns the workflow's ID.
 */
export async function rewindWorkflow(db: SqlDriver, workflowID: string, options: RewindOptions = {}): Promise<string> {
  checkStartStep(options.startStep ?? 0);
  checkWorkflowIDs([workflowID]);
  checkStartOptions({ queueName: options.queueName, queuePartitionKey: options.queuePartitionKey, applicationVersion: options.applicationVersion });
  await rewindRow(db, workflowID, options);
  return workflowID;
}

/** Deletes workflows and all they recorded (with `deleteChildren`, their descendants too); returns the IDs deleted. */
export async function deleteWorkflows(db: SqlDriver, ids: string[], options: { deleteChildren?: boolean } = {}): Promise<string[]> {
  checkWorkflowIDs(ids);
  return deleteRows(db, ids, options.deleteChildren ?? false);
}

/** Reorders a workflow waiting on its queue; other statuses are a DBOSInvalidWorkflowTransitionError. */
export async function setWorkflowPriority(db: SqlDriver, workflowID: string, priority: number): Promise<void> {
  checkWorkflowIDs([workflowID]);
  checkPriority(priority);
  await setPriorityRow(db, workflowID, priority);
}

/** Seconds from now, or `delaySeconds` from now, or the absolute `delayUntilEpochMS`. */
export type WorkflowDelay = number | { delaySeconds?: number; delayUntilEpochMS?: number };

/**
 * Moves the start of a DELAYED workflow (earlier or later; a time already past makes it due at once). Other statuses
 * are a DBOSInvalidWorkflowTransitionError. Returns the new delay_until_epoch_ms.
 */
export async function setWorkflowDelay(db: SqlDriver, workflowID: string, delay: WorkflowDelay): Promise<number> {
  const { delaySeconds, delayUntilEpochMS } = typeof delay === 'number' ? { delaySeconds: delay, delayUntilEpochMS: undefined } : delay;
  if ((delaySeconds === undefined) === (delayUntilEpochMS === undefined)) {
    throw new TypeError('setWorkflowDelay needs exactly one of delaySeconds and delayUntilEpochMS');
  }
  checkWorkflowIDs([workflowID]);
  const until =
    delaySeconds !== undefined
      ? await setDelayRow(db, workflowID, { inMs: Math.round(checkDelaySeconds('delaySeconds', delaySeconds) * 1000) })
      : await setDelayRow(db, workflowID, { untilEpochMS: checkEpochMs('delayUntilEpochMS', delayUntilEpochMS) });
  // Every process's promoter re-plans its wake-up (on SQLite, the launched one notices through its in-process signal).
  await db.notify(DELAY_CHANGED_CHANNEL, '').catch(() => {});
  return until;
}

/**
 * IDs of workflows that may already exist: text without NUL (PostgreSQL's text cannot hold one), of any length, so
 * rows written before the length limit existed can still be managed.
 */
export function checkWorkflowIDs(ids: readonly unknown[]): void {
  for (const id of ids) checkText('workflowID', id);
}
