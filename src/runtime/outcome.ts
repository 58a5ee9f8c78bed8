// Waiting for a workflow's outcome in the database and turning it into a value or a thrown error, the same way for
// handles inside the application and for the client.

import {
  DBOSCorruptRowError,
  DBOSAwaitedWorkflowCancelledError,
  DBOSAwaitedWorkflowExceededMaxRecoveryAttempts,
  DBOSNonExistentWorkflowError,
} from '../errors.js';
import { deserializeError, deserializeValue } from '../serialization/index.js';
import type { Queryable } from '../sysdb/driver.js';
import { getWorkflowOutcome, workflowStatusesOf, type WorkflowOutcome } from '../sysdb/workflows.js';
import { waitFor, type Wakeups } from './wakeups.js';
import { checkText } from '../validation.js';
import { decodeStored } from './corruption.js';

export const TERMINAL_STATUSES = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']);

/** Statuses a workflow waits in before it has an outcome. */
const WAITING_STATUSES = new Set(['PENDING', 'ENQUEUED', 'DELAYED']);

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
  checkText('workflowID', workflowID);
  return waitFor(
    wakeups,
    outcomeKey(workflowID),
    async () => {
      const outcome = await getWorkflowOutcome(db, workflowID);
      if (!outcome) throw new DBOSNonExistentWorkflowError(`Workflow ${workflowID} does not exist`);
      if (TERMINAL_STATUSES.has(outcome.status)) return outcome;
      // A status no version of the engine writes would be waited on forever: the row is unreadable.
      if (!WAITING_STATUSES.has(outcome.status)) {
        throw new DBOSCorruptRowError(workflowID, 'workflow_status.status', `unknown status ${JSON.stringify(outcome.status)}`);
      }
      return undefined;
    },
    wait,
  );
}

/** Statuses a workflow may still leave; waitFirst and waitAll wait for any other. */
const ACTIVE_STATUSES = new Set(['PENDING', 'ENQUEUED', 'DELAYED']);

/**
 * Waits until one of the workflows has left the active statuses (PENDING, ENQUEUED, DELAYED) and returns its ID
 * (the first of them in `workflowIDs` order when several have). With `all`, waits until every one has, and returns
 * the last ID. A workflow that does not exist would never finish: DBOSNonExistentWorkflowError.
 */
export async function awaitFinished(db: Queryable, wakeups: Wakeups, workflowIDs: string[], all: boolean, wait: OutcomeWait): Promise<string | undefined> {
  for (const id of workflowIDs) checkText('workflowID', id);
  let pending = [...new Set(workflowIDs)];
  return waitFor(
    wakeups,
    pending.map(outcomeKey),
    async () => {
      const statuses = await workflowStatusesOf(db, pending);
      const missing = pending.find((id) => !statuses.has(id));
      if (missing !== undefined) throw new DBOSNonExistentWorkflowError(`Workflow ${missing} does not exist`);
      const done = pending.filter((id) => !ACTIVE_STATUSES.has(statuses.get(id)!));
      if (!all) return done[0];
      pending = pending.filter((id) => ACTIVE_STATUSES.has(statuses.get(id)!));
      return pending.length === 0 ? workflowIDs[workflowIDs.length - 1] : undefined;
    },
    wait,
  );
}

/** The workflow's result, or its error thrown, as `getResult` delivers them. */
export function settleOutcome<T>(workflowID: string, outcome: WorkflowOutcome): T {
  switch (outcome.status) {
    case 'SUCCESS':
      return decodeStored(workflowID, 'workflow_output.output', () => deserializeValue<T>(outcome.output, outcome.serialization));
    case 'ERROR':
      throw decodeStored(workflowID, 'workflow_output.error', () => deserializeError(outcome.error ?? '', outcome.serialization));
    case 'CANCELLED':
      throw new DBOSAwaitedWorkflowCancelledError(workflowID);
    case 'MAX_RECOVERY_ATTEMPTS_EXCEEDED':
      throw new DBOSAwaitedWorkflowExceededMaxRecoveryAttempts(workflowID);
    default:
      throw new Error(`Workflow ${workflowID} has no outcome yet (status ${outcome.status})`);
  }
}
