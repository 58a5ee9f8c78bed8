// The replay protocol, in one place: every durable operation of workflow code (a step, a sleep, a child start, send,
// recv, events, streams, a management call, a wait for a result) takes its function ID synchronously when it is
// called, and then, at its turn:
//   1. stops if the run was stopped (cancelled, timed out, shut down, interrupted);
//   2. if an earlier execution recorded a step at this ID, returns what it recorded, without running (a step recorded
//      under another name is DBOSUnexpectedStepError: the code changed);
//   3. otherwise runs the operation, which writes its own checkpoint fenced by the run's token; when that write finds
//      the ID already recorded by another execution (in the instant this run took over), it adopts that row, so every
//      execution continues from the same outcome.

import { DBOSUnexpectedStepError } from '../errors.js';
import { deserializeError, deserializeValue } from '../serialization/index.js';
import type { StepRow } from '../sysdb/rows.js';
import { currentFrame, type RunProbe, type WorkflowContext } from './context.js';
import { decodeStored } from './corruption.js';

/**
 * Given to the operation: what it returns once its checkpoint is written. With the row another execution recorded
 * first (`adopted`), that row's outcome; otherwise this run's own (`ran()`, which may throw the operation's error).
 */
export type Settle<T> = (adopted: StepRow | undefined, ran: () => T) => T;

export function durably<T>(
  ctx: WorkflowContext,
  functionID: number,
  name: string,
  replay: (recorded: StepRow) => T,
  run: (settle: Settle<T>) => Promise<T>,
  /** A child start: the child's ID the code asks for (told to a testing probe only). */
  childWorkflowID?: string,
): Promise<T> {
  if (ctx.probe) return probed(ctx, ctx.probe, functionID, name, replay, run, childWorkflowID);
  try {
    ctx.throwIfStopped();
    const recorded = recordedStepNamed(ctx, functionID, name);
    if (recorded) return Promise.resolve(replay(recorded));
  } catch (err) {
    return Promise.reject(err);
  }
  return run((adopted, ran) => (adopted ? replay(adopted) : ran()));
}

/**
 * TESTING HOOK (see RunProbe in context.ts): durably, with the probe told of the operation's boundaries. The probe is
 * asked first, before the stop check, so a run a crash test holds stays held whatever else happens to it.
 */
async function probed<T>(
  ctx: WorkflowContext,
  probe: RunProbe,
  functionID: number,
  name: string,
  replay: (recorded: StepRow) => T,
  run: (settle: Settle<T>) => Promise<T>,
  childWorkflowID: string | undefined,
): Promise<T> {
  const recorded = ctx.recordedStep(functionID);
  await probe.at(ctx, { point: recorded ? 'replayed' : 'before', functionID, name, recorded, childWorkflowID });
  ctx.throwIfStopped();
  const named = recordedStepNamed(ctx, functionID, name);
  if (named) return replay(named);
  let value: T;
  try {
    value = await run((adopted, ran) => (adopted ? replay(adopted) : ran()));
  } catch (error) {
    await probe.at(ctx, { point: 'after', functionID, name, error });
    throw error;
  }
  await probe.at(ctx, { point: 'after', functionID, name, childWorkflowID: typeof value === 'string' && childWorkflowID !== undefined ? value : undefined });
  return value;
}

/**
 * What a recorded step holds: its output returned, or its error thrown (a replay does not run the step). A record
 * that cannot be decoded is a DBOSCorruptRowError, which also fails the run (see WorkflowContext.corruption).
 */
export function replayRecorded<T>(recorded: StepRow): T {
  if (recorded.error !== null) throw decodeRecorded(recorded, 'error', () => deserializeError(recorded.error!, recorded.serialization));
  return decodeRecorded(recorded, 'output', () => deserializeValue<T>(recorded.output, recorded.serialization));
}

function decodeRecorded<T>(recorded: StepRow, column: 'output' | 'error', decode: () => T): T {
  const ctx = currentFrame()?.workflow;
  try {
    return decodeStored(ctx?.workflowID ?? '(unknown)', `operation_outputs.${column} of step ${recorded.functionID} (${recorded.name})`, decode);
  } catch (err) {
    if (ctx && !ctx.corruption) ctx.corruption = err as Error;
    throw err;
  }
}

/** The recorded step at this ID, checked against the name this run expects there (the determinism check). */
export function recordedStepNamed(ctx: WorkflowContext, functionID: number, name: string): StepRow | undefined {
  const recorded = ctx.recordedStep(functionID);
  if (recorded && recorded.name !== name) throw new DBOSUnexpectedStepError(ctx.workflowID, functionID, name, recorded.name);
  return recorded;
}
