// The `Error` namespace of the public surface (`import { Error as DBOSErrors } from 'transact'`), laid out as
// @dbos-inc/dbos-sdk lays out its own: every error class, the numeric codes it exports as constants, and the helpers
// that recognise an error after it has been stored and read back (where `instanceof` may not hold). The classes are
// Transact's own (src/errors.ts); the top-level exports of the package stay as they are.

import { PortableWorkflowError } from './errors.js';

export {
  DBOSError,
  DBOSInitializationError,
  DBOSWorkflowConflictError,
  DBOSNotRegisteredError,
  DBOSNonExistentWorkflowError,
  DBOSMaxRecoveryAttemptsExceededError,
  DBOSExecutorNotInitializedError,
  DBOSInvalidWorkflowTransitionError,
  DBOSConflictingWorkflowError,
  DBOSMaxStepRetriesError,
  DBOSWorkflowCancelledError,
  DBOSConflictingRegistrationError,
  DBOSUnexpectedStepError,
  DBOSAwaitedWorkflowCancelledError,
  DBOSQueueDuplicatedError,
  DBOSInvalidQueuePriorityError,
  DBOSAwaitedWorkflowExceededMaxRecoveryAttempts,
  DBOSStepTimeoutError,
  DBOSInvalidWorkflowInputError,
  DBOSStreamTimeoutError,
  DBOSStreamNondeterminismError,
  DBOSQueryTimeoutError,
  DBOSWorkflowIDInUseError,
  DBOSStepNondeterminismError,
  // Transact's own, beyond DBOS's list.
  DBOSCorruptRowError,
  DBOSInvalidScheduleError,
  DBOSRunInterruptedError,
  DBOSSerializationError,
  PortableWorkflowError,
} from './errors.js';

// The codes DBOS exports by name (the others are only on the classes' `dbosErrorCode`).
export const UnexpectedStep = 26;
export const QueueDedupIDDuplicated = 28;
export const StreamTimeout = 33;
export const StreamNondeterminism = 34;
export const QueryTimeout = 35;
export const WorkflowIDInUse = 36;
export const StepNondeterminism = 37;

/** The `dbosErrorCode` of an error (a number), or undefined for any other value. */
export function getDBOSErrorCode(e: Error): number | undefined {
  if (e === null || typeof e !== 'object' || !('dbosErrorCode' in e)) return undefined;
  const code = (e as { dbosErrorCode: unknown }).dbosErrorCode;
  return typeof code === 'number' ? code : undefined;
}

/** Whether `e` has this code, or is a revived error of a class that has it (a portable record keeps only the name). */
function hasCode(e: unknown, code: number, className: string): boolean {
  if (e instanceof Error && getDBOSErrorCode(e) === code) return true;
  return e instanceof PortableWorkflowError && e.name === className;
}

/** True for a stream read that timed out, also when the error was stored and read back (a replay). */
export function isStreamTimeoutError(e: unknown): boolean {
  return hasCode(e, StreamTimeout, 'DBOSStreamTimeoutError');
}

/** True for a start refused because its workflow ID is taken (`workflowIDReusePolicy: 'reject'`), replays included. */
export function isWorkflowIDInUseError(e: unknown): boolean {
  return hasCode(e, WorkflowIDInUse, 'DBOSWorkflowIDInUseError');
}
