// Waiting for a workflow's outcome in the database and turning it into a value or a thrown error, the same way for
// handles inside the application and for the client.

import {
  DBOSAwaitedWorkflowCancelledError,
  DBOSAwaitedWorkflowExceededMaxRecoveryAttempts,
  DBOSNonExistentWorkflowError,
} from '../errors.js';
import { deserializeError, deserializeValue } from '../serialization/index.js';
import type { Queryable } from '../sysdb/driver.js';
import { getWorkflowOutcome, type WorkflowOutcome } from '../sysdb/workflows.js';
import { waitFor, type Wakeups } from './wakeups.js';

export const TERMINAL_STATUSES = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']);

export function outcomeKey(workflowID: string): string {
  return `outcome:${workflowID}`;
}

export interface OutcomeWait {
  pollIntervalMs: number;
  deadlineEpochMS?: number;
  signal?: AbortSignal;
}

/** Waits until the workflow reaches a terminal status; undefined at the deadline. */
export async function awaitOutcome(
  db: Queryable,
  wakeups: Wakeups,
  workflowID: string,
  wait: OutcomeWait,
): Promise<WorkflowOutcome | undefined> {
  return waitFor(
    wakeups,
    outcomeKey(workflowID),
    async () => {
      const outcome = await getWorkflowOutcome(db, workflowID);
      if (!outcome) throw new DBOSNonExistentWorkflowError(`Workflow ${workflowID} does not exist`);
      return TERMINAL_STATUSES.has(outcome.status) ? outcome : undefined;
    },
    wait,
  );
}

/** The workflow's result, or its error thrown, as `getResult` delivers them. */
export function settleOutcome<T>(workflowID: string, outcome: WorkflowOutcome): T {
  switch (outcome.status) {
    case 'SUCCESS':
      return deserializeValue<T>(outcome.output, outcome.serialization);
    case 'ERROR':
      throw deserializeError(outcome.error ?? '', outcome.serialization);
    case 'CANCELLED':
      throw new DBOSAwaitedWorkflowCancelledError(workflowID);
    case 'MAX_RECOVERY_ATTEMPTS_EXCEEDED':
      throw new DBOSAwaitedWorkflowExceededMaxRecoveryAttempts(workflowID);
    default:
      throw new Error(`Workflow ${workflowID} has no outcome yet (status ${outcome.status})`);
  }
}
