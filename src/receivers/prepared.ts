// The rows behind prepared workflows (./api.ts): what prepareEnqueuedWorkflow builds and enqueueWorkflows (or the
// intake, ./intake.ts) stores. Kept apart from api.ts so the intake can store them its own way without widening the
// published receiver API.

import { DBOSInvalidWorkflowInputError } from '../errors.js';
import type { QueuedRow } from '../sysdb/batch-enqueue.js';

/** What the published type shows of a prepared workflow; its row stays here. */
interface Prepared {
  readonly workflowUUID: string;
}

const rows = new WeakMap<Prepared, QueuedRow>();
/** The creation time given to the last row this process stored, so the next is strictly later. */
let lastCreatedAt = 0;

export function attachRow(prepared: Prepared, row: QueuedRow): void {
  rows.set(prepared, row);
}

/**
 * The rows of `workflows`, in the order given, each created a millisecond after the one before and never before the
 * last row this process created: the order a queue runs them in. `caller` names the function for its error.
 */
export function stampedRows(workflows: readonly Prepared[], caller: string): QueuedRow[] {
  const batch: QueuedRow[] = [];
  for (const w of workflows) {
    const row = rows.get(w);
    if (!row) throw new DBOSInvalidWorkflowInputError(`${caller} takes only what prepareEnqueuedWorkflow returned`);
    batch.push(row);
  }
  if (batch.length === 0) return [];
  const start = Math.max(Date.now(), lastCreatedAt + 1);
  lastCreatedAt = start + batch.length - 1;
  return batch.map((row, i) => ({ ...row, createdAtEpochMs: start + i }));
}
