// The parts every checkpointed messaging operation shares: the step row it writes, what to do when another execution
// recorded its function ID first, and how a stored text becomes a value again.

import { DBOSInvalidWorkflowTransitionError, DBOSUnexpectedStepError, DBOSWorkflowConflictError } from '../errors.js';
import { currentFrame, type WorkflowContext } from '../runtime/context.js';
import type { Executor } from '../runtime/executor.js';
import { deserializeValue, serializeValue, type SerializationFormat, type Serialized } from '../serialization/index.js';
import type { FencedResult, OperationStep } from '../sysdb/operations.js';
import type { StepRow } from '../sysdb/rows.js';
import { getStep } from '../sysdb/steps.js';
import { replayRecorded } from '../runtime/replay.js';
import { decodeStored } from '../runtime/corruption.js';
import type { MessagingEnv } from './wakeups.js';
import type { WorkflowSerializationFormat } from './options.js';

/** The messaging environment of a process that runs workflows. */
export interface RuntimeMessagingEnv extends MessagingEnv {
  readonly executor: Executor;
}

export function operationStep(ctx: WorkflowContext, functionID: number, functionName: string, startedAtEpochMs: number): OperationStep {
  return {
    workflowID: ctx.workflowID,
    ownerXid: ctx.ownerXid,
    functionID,
    functionName,
    startedAtEpochMs,
    completedAtEpochMs: Date.now(),
    applicationName: ctx.applicationName,
  };
}

/**
 * After a fenced write: nothing to do when it was recorded; the reason thrown when this run no longer owns its
 * workflow; and when another execution (or this statement's lost first reply) recorded the function ID first, the
 * recorded step, which the caller adopts as its own outcome.
 */
export async function settleFenced(
  executor: Executor,
  ctx: WorkflowContext,
  functionID: number,
  name: string,
  result: FencedResult,
): Promise<StepRow | undefined> {
  if (result === 'recorded') return undefined;
  if (result === 'not-owner') throw await executor.ownershipLost(ctx);
  const existing = await getStep(executor.db, ctx.workflowID, functionID);
  if (!existing) throw new DBOSWorkflowConflictError(ctx.workflowID);
  if (existing.name !== name) throw new DBOSUnexpectedStepError(ctx.workflowID, functionID, name, existing.name);
  return existing;
}

/** A recorded output (recv, getEvent): SQL NULL (a timeout) is null; otherwise the value, or its error thrown. */
export function recordedValue<T>(recorded: StepRow): T | null {
  if (recorded.error === null && recorded.output === null) return null;
  return replayRecorded<T>(recorded);
}

/**
 * A stored message, event or stream value: SQL NULL (nothing arrived) is null. One that cannot be decoded is a
 * DBOSCorruptRowError naming the workflow it belongs to and the `table.column` it was read from.
 */
export function storedValue<T>(text: string | null, serialization: string | null, where: { workflowID: string; column: string }): T | null {
  return text === null ? null : decodeStored(where.workflowID, where.column, () => deserializeValue<T>(text, serialization));
}

/** Encodes a value in the requested format; by default the calling workflow's format, native elsewhere. */
export function encode(value: unknown, requested: WorkflowSerializationFormat, ctx: WorkflowContext | undefined, what: string): Serialized {
  const format: SerializationFormat = requested ?? ctx?.serializationFormat ?? 'native';
  return serializeValue(value, format, what);
}

/** The workflow code itself (not one of its steps) is running, or else the call is refused. */
export function requireWorkflowCode(operation: string): WorkflowContext {
  const frame = currentFrame();
  if (!frame) throw new DBOSInvalidWorkflowTransitionError(`DBOS.${operation} can only be called from a workflow`);
  if (frame.step) throw new DBOSInvalidWorkflowTransitionError(`DBOS.${operation} cannot be called from inside a step`);
  return frame.workflow;
}


/** With LISTEN/NOTIFY every change wakes its waiters, and polling is only the safety net (DBOS's intervals). */
const LISTENING_MESSAGE_POLL_MS = 10_000;
const LISTENING_STREAM_POLL_MS = 1_000;

/**
 * The runtime's messaging environment. Without notifications from other processes (SQLite, or LISTEN turned off)
 * waits re-read at the executor's short poll interval; an explicitly configured interval applies everywhere.
 */
export function runtimeMessagingEnv(
  executor: Executor,
  options: { crossProcessNotifications: boolean; configuredPollMs?: number },
): RuntimeMessagingEnv {
  const fallback = options.configuredPollMs ?? executor.pollIntervalMs;
  const listening = options.crossProcessNotifications && options.configuredPollMs === undefined;
  return {
    executor,
    db: executor.db,
    wakeups: executor.wakeups,
    messagePollMs: listening ? LISTENING_MESSAGE_POLL_MS : fallback,
    streamPollMs: listening ? LISTENING_STREAM_POLL_MS : fallback,
  };
}
