// Patching (dbos-spec §3.6): changed workflow code asks `DBOS.patch(name)` which branch an execution must take.
// An execution that got past the patch point under the old code has an older step recorded at the next function ID,
// so it takes the old branch; every other execution records a `DBOS.patch-<name>` marker there and takes the new one.
// The decision is read from the steps a replay loaded, synchronously, so concurrent calls keep their IDs in order.

import { DBOSInitializationError, DBOSInvalidWorkflowTransitionError } from '../errors.js';
import { currentFrame, type ExecutionFrame } from './context.js';
import { checkpoint } from './steps.js';

/** The step name a patch's marker is recorded under. */
export function patchMarkerName(patchName: string): string {
  return `DBOS.patch-${patchName}`;
}

/** The workflow code calling a patch function, once patching is known to be on. */
function patchingFrame(operation: string, patchingEnabled: boolean): ExecutionFrame {
  if (!patchingEnabled) {
    throw new DBOSInitializationError(`DBOS.${operation} needs enablePatching: true in DBOS.setConfig`);
  }
  const frame = currentFrame();
  if (!frame) throw new DBOSInvalidWorkflowTransitionError(`DBOS.${operation} can only be called from a workflow`);
  if (frame.step) throw new DBOSInvalidWorkflowTransitionError(`DBOS.${operation} cannot be called from inside a step`);
  return frame;
}

/**
 * True for an execution that runs the patched code: one that recorded this patch's marker, or had recorded nothing
 * at the next function ID (the marker is written now). False for one that recorded another step there, which keeps
 * that ID for the old branch's step.
 */
export function patch(patchName: string, patchingEnabled: boolean): Promise<boolean> {
  let frame: ExecutionFrame;
  try {
    frame = patchingFrame('patch', patchingEnabled);
  } catch (err) {
    return Promise.reject(err);
  }
  const ctx = frame.workflow;
  const marker = patchMarkerName(patchName);
  const recorded = ctx.recordedStep(ctx.peekFunctionID());
  if (recorded && recorded.name !== marker) return Promise.resolve(false);
  const functionID = ctx.nextFunctionID();
  if (recorded) return Promise.resolve(true);
  return (async () => {
    ctx.throwIfStopped();
    // Like any step row, and fenced by ownership. If another execution recorded this ID meanwhile, checkpoint
    // accepts only this same marker (anything else is DBOSUnexpectedStepError, as for a step).
    const startedAtEpochMs = Date.now();
    await checkpoint(frame.executor, ctx, functionID, marker, { output: null, serialization: null, startedAtEpochMs });
    return true;
  })();
}

/**
 * For code whose unpatched executions are all finished: always true, and writes nothing. An execution that recorded
 * the marker (under `patch`) has it skipped, so its later steps keep their IDs.
 */
export function deprecatePatch(patchName: string, patchingEnabled: boolean): Promise<boolean> {
  try {
    const ctx = patchingFrame('deprecatePatch', patchingEnabled).workflow;
    if (ctx.recordedStep(ctx.peekFunctionID())?.name === patchMarkerName(patchName)) ctx.nextFunctionID();
    return Promise.resolve(true);
  } catch (err) {
    return Promise.reject(err);
  }
}
