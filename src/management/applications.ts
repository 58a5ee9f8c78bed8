// Renaming an application (DBOSClient.renameApplication): giving `newName` the rows `oldName` owns, the rows no
// application owns, or both. The application being renamed must be stopped: a process of it that is still running
// would go on writing rows under the old name.

import { DBOSError } from '../errors.js';
import {
  moveControlRows,
  moveStepBatch,
  moveWorkflowBatch,
  START_CURSOR,
  type ApplicationRowCounts,
  type BatchCursor,
  type BatchResult,
} from '../sysdb/applications.js';
import type { Queryable, SqlDriver } from '../sysdb/driver.js';

export type { ApplicationRowCounts } from '../sysdb/applications.js';

export const DEFAULT_RENAME_BATCH_SIZE = 10_000;

export interface RenameApplicationOptions {
  /**
   * Finished workflows and steps move this many at a time, each batch its own transaction (default 10,000). `null`
   * moves everything in one transaction.
   */
  batchSize?: number | null;
  /** Also take the rows no application owns (application_name NULL). Default false. */
  adoptUnclaimedRows?: boolean;
}

/**
 * Moves the rows: first, in one transaction, the application's queues, schedules, versions and active workflows;
 * then the rest of its workflows, then its steps, in batches. Returns how many rows of each table moved.
 */
export async function renameApplication(
  db: SqlDriver,
  oldName: string | undefined,
  newName: string,
  options: RenameApplicationOptions = {},
): Promise<ApplicationRowCounts> {
  if (typeof newName !== 'string' || newName === '') throw new DBOSError('renameApplication needs a non-empty new application name');
  if (oldName !== undefined && (typeof oldName !== 'string' || oldName === '')) {
    throw new DBOSError('renameApplication: the old application name must be a non-empty string, or undefined to adopt unclaimed rows only');
  }
  const adopt = options.adoptUnclaimedRows ?? false;
  if (oldName === undefined && !adopt) {
    throw new DBOSError('renameApplication without an old name moves only unclaimed rows: pass { adoptUnclaimedRows: true }');
  }
  const batchSize = options.batchSize === undefined ? DEFAULT_RENAME_BATCH_SIZE : options.batchSize;
  if (batchSize !== null && !(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new DBOSError(`renameApplication: batchSize must be a positive integer or null, got ${String(batchSize)}`);
  }
  // The new name's own rows are already where they belong.
  const from = oldName === newName ? null : (oldName ?? null);
  if (from === null && !adopt) return { queues: 0, schedules: 0, versions: 0, workflows: 0, steps: 0 };

  const moveAll = async (q: Queryable, limit: number, separately: <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>) => {
    const control = await separately((tx) => moveControlRows(tx, from, newName, adopt));
    const drain = async (batch: (q: Queryable, after: BatchCursor) => Promise<BatchResult>) => {
      let total = 0;
      for (let after = START_CURSOR; ; ) {
        const { moved, next } = await batch(q, after);
        total += moved;
        if (moved < limit) return total;
        after = next;
      }
    };
    const workflows = await drain((bq, after) => moveWorkflowBatch(bq, from, newName, adopt, after, limit));
    const steps = await drain((bq, after) => moveStepBatch(bq, from, newName, adopt, after, limit));
    return { ...control, workflows: control.workflows + workflows, steps };
  };

  if (batchSize === null) {
    // One transaction for everything; batches of the largest size a LIMIT parameter takes.
    return db.transaction((tx) => moveAll(tx, 2_147_483_647, (fn) => fn(tx)));
  }
  // Each batch is one statement, hence one transaction; the control rows' several statements (SQLite) share one.
  return moveAll(db, batchSize, (fn) => db.transaction(fn));
}
