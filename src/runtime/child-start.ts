// Starting a child workflow from workflow code, by function (DBOS.startWorkflow, a direct call) or by name
// (DBOS.enqueueWorkflowWithOptions). A child start is a durable operation of the parent: it takes a function ID,
// and whatever the database decided the first time is recorded there, so a replay returns what the first run
// returned. The child's row and the parent's step (with `child_workflow_id`) are written in one statement; a start
// the database refused (a deduplication ID in use, an ID taken by another workflow or refused by
// workflowIDReusePolicy 'reject') is recorded as the step's error and thrown again on replay. A refusal that does not
// depend on the database (bad options, an unknown queue) is thrown before anything is written, and again on replay.

import {
  DBOSConflictingWorkflowError,
  DBOSQueueDuplicatedError,
  DBOSUnexpectedStepError,
  DBOSWorkflowConflictError,
  DBOSWorkflowIDInUseError,
} from '../errors.js';
import { NATIVE_SERIALIZATION, serializeError } from '../serialization/index.js';
import type { StepRow } from '../sysdb/rows.js';
import type { RunExecutor, WorkflowContext } from './context.js';
import { persist } from './persist.js';
import { durably, replayRecorded, type Settle } from './replay.js';
import { checkpoint } from './steps.js';

/**
 * A child start at `functionID` of the parent: on replay, the child the first run started (its ID), or the refusal it
 * met thrown again; on a fresh run, `fresh`, which prepares the start and hands it to startChild with `settle`.
 */
export function childStart(
  ctx: WorkflowContext,
  functionID: number,
  name: string,
  fresh: (settle: Settle<string>) => Promise<string>,
  /** The child's ID the code asks for (default `<parentID>-<functionID>`), told to a testing probe only. */
  requestedID?: string,
): Promise<string> {
  const childID = ctx.probe ? (requestedID ?? `${ctx.workflowID}-${functionID}`) : undefined;
  return durably(ctx, functionID, name, (recorded) => recordedChild(ctx, functionID, name, recorded), fresh, childID);
}

/**
 * Runs `start` (which writes the child's row with the parent's step, or throws the database's refusal) and records a
 * refusal as the step's outcome. Returns the child's ID.
 */
export async function startChild(
  executor: RunExecutor,
  ctx: WorkflowContext,
  functionID: number,
  name: string,
  startedAtEpochMs: number,
  settle: Settle<string>,
  start: () => Promise<string>,
): Promise<string> {
  try {
    return await persist(ctx, `the start of a child workflow at step ${functionID}`, start);
  } catch (error) {
    // The parent's run no longer owns its workflow, so nothing was written.
    if (error instanceof DBOSWorkflowConflictError && error.workflowID === ctx.workflowID) throw await executor.ownershipLost(ctx);
    if (!decidedByDatabase(error)) throw error;
    const adopted = await checkpoint(executor, ctx, functionID, name, {
      error: serializeError(error).text,
      serialization: NATIVE_SERIALIZATION,
      startedAtEpochMs,
    });
    return settle(adopted, () => {
      throw error;
    });
  }
}

/** Refusals that depend on what the database held at the time, so a replay must not ask again. */
function decidedByDatabase(error: unknown): boolean {
  return (
    error instanceof DBOSQueueDuplicatedError ||
    error instanceof DBOSConflictingWorkflowError ||
    error instanceof DBOSWorkflowIDInUseError
  );
}

function recordedChild(ctx: WorkflowContext, functionID: number, name: string, recorded: StepRow): string {
  if (recorded.error !== null) return replayRecorded<string>(recorded); // throws the recorded refusal
  if (recorded.childWorkflowID) return recorded.childWorkflowID;
  throw new DBOSUnexpectedStepError(ctx.workflowID, functionID, name, recorded.name);
}
