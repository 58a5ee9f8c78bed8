// The write side of workflow management, written once on the system database and used by the DBOS facade (inside a
// workflow, as checkpointed steps) and by the client: cancel, resume, fork.

import { DBOSNonExistentWorkflowError } from '../errors.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { childWorkflowIDs, forkWorkflow as forkRows, resumeWorkflows as resumeRows, type ForkOptions } from '../sysdb/management.js';
import { cancelWorkflow as cancelRow, getWorkflow } from '../sysdb/workflows.js';

export type { ForkOptions } from '../sysdb/management.js';

/**
 * Cancels the workflow (and, with `cancelChildren`, its descendants, breadth first). Returns the IDs that were
 * active and are now CANCELLED; a finished workflow is left as it is.
 */
export async function cancelWorkflows(db: SqlDriver, ids: string[], options: { cancelChildren?: boolean } = {}): Promise<string[]> {
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
export function resumeWorkflows(db: SqlDriver, ids: string[], options: { queueName?: string } = {}): Promise<string[]> {
  return resumeRows(db, ids, options.queueName);
}

/** A new workflow that keeps the original's steps before `startStep` and runs the rest again. Returns its ID. */
export function forkWorkflow(db: SqlDriver, workflowID: string, startStep: number, options: ForkOptions = {}): Promise<string> {
  if (!Number.isInteger(startStep) || startStep < 0) {
    return Promise.reject(new RangeError(`startStep must be a non-negative integer, got ${startStep}`));
  }
  return forkRows(db, workflowID, startStep, options);
}
