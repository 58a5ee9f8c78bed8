// Rows the engine cannot read (written by hand, by another tool, or by an older version) fail the one workflow they
// belong to, with a DBOSCorruptRowError naming the workflow, the column and the problem, and never the dispatcher, a
// listing or another workflow. src/sysdb/rows.ts reports what it could not read in a row; this module decides what
// that means for running it, and wraps the decoding of stored payloads so a bad one is named the same way.

import { DBOSCorruptRowError } from '../errors.js';
import type { WorkflowRow } from '../sysdb/rows.js';

/**
 * Columns of `workflow_status` a run depends on: who it runs as, how its payloads are encoded, its deadline, how
 * often it was recovered. The others (attributes, timestamps shown in listings, priority) only describe the workflow:
 * a bad value there is shown as null in listings and does not stop the workflow from running.
 */
const RUN_COLUMNS: ReadonlySet<string> = new Set([
  'serialization',
  'authenticated_roles',
  'workflow_timeout_ms',
  'workflow_deadline_epoch_ms',
  'recovery_attempts',
]);

/** Why this claimed row cannot run, or undefined when every column a run needs is readable. */
export function unrunnableRow(row: WorkflowRow): DBOSCorruptRowError | undefined {
  const problem = row.problems.find((p) => RUN_COLUMNS.has(p.column));
  return problem && new DBOSCorruptRowError(row.workflowID, `workflow_status.${problem.column}`, problem.problem);
}

/** The columns of the row that could not be read but do not stop it from running (for a warning). */
export function descriptiveProblems(row: WorkflowRow): string[] {
  return row.problems.filter((p) => !RUN_COLUMNS.has(p.column)).map((p) => `${p.column}: ${p.problem}`);
}

/** `decode()`, with a failure reported as DBOSCorruptRowError naming the workflow and the `table.column` it read. */
export function decodeStored<T>(workflowID: string, column: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DBOSCorruptRowError) throw err;
    throw new DBOSCorruptRowError(workflowID, column, (err as Error)?.message ?? String(err), { cause: err });
  }
}
