// setEvent and getEvent: a workflow publishes key-value events (the last value wins); anyone reads them, waiting
// until the key is set or the timeout passes. Inside a workflow, what getEvent saw is checkpointed.

import { currentFrame, type WorkflowContext } from '../runtime/context.js';
import { durably } from '../runtime/replay.js';
import { engineNow } from '../runtime/clock.js';
import { checkpoint, recordDeadline } from '../runtime/steps.js';
import { waitFor } from '../runtime/wakeups.js';
import { DBOSInvalidWorkflowTransitionError } from '../errors.js';
import { getEvent as readEvent, setEvent as writeEvent, type EventValue } from '../sysdb/events.js';
import {
  encode,
  operationStep,
  recordedValue,
  requireWorkflowCode,
  settleFenced,
  storedValue,
  type RuntimeMessagingEnv,
} from './operation.js';
import { resolvePollingIntervalMs, resolveTimeoutMs, type GetEventOptions, type SetEventOptions } from './options.js';
import { eventWakeKey, type MessagingEnv } from './wakeups.js';
import { checkKey, checkText } from '../validation.js';

const SET_EVENT = 'DBOS.setEvent';
const GET_EVENT = 'DBOS.getEvent';

/** `DBOS.setEvent`: in workflow code only; the step `DBOS.setEvent`, with the event and its history row. */
export function setEvent(rt: RuntimeMessagingEnv, key: string, value: unknown, options?: SetEventOptions): Promise<void> {
  let ctx: WorkflowContext;
  try {
    checkKey('event key', key);
    ctx = requireWorkflowCode('setEvent');
  } catch (err) {
    return Promise.reject(err);
  }
  const functionID = ctx.nextFunctionID();
  return durably<void>(ctx, functionID, SET_EVENT, () => {}, async (settle) => {
    const encoded = encode(value, options?.serializationType, ctx, `the value of event ${key}`);
    const step = operationStep(ctx, functionID, SET_EVENT, Date.now());
    const result = await writeEvent(rt.db, step, key, { value: encoded.text, serialization: encoded.serialization });
    const adopted = await settleFenced(rt.executor, ctx, functionID, SET_EVENT, result);
    settle(adopted, () => rt.wakeups.wake(eventWakeKey(ctx.workflowID, key)));
  });
}

async function waitForEvent(
  env: MessagingEnv,
  workflowID: string,
  key: string,
  deadlineEpochMS: number,
  pollIntervalMs: number,
  signal?: AbortSignal,
): Promise<EventValue | undefined> {
  return waitFor(env.wakeups, eventWakeKey(workflowID, key), () => readEvent(env.db, workflowID, key), {
    deadlineEpochMS,
    pollIntervalMs,
    signal,
  });
}

/** getEvent outside any workflow, or from a client: waits for the key to be set; null at the timeout. */
export async function getEventValue<T>(
  env: MessagingEnv,
  workflowID: string,
  key: string,
  options?: number | GetEventOptions,
): Promise<T | null> {
  checkEventLookup(workflowID, key);
  const deadline = Date.now() + resolveTimeoutMs(options);
  const pollIntervalMs = resolvePollingIntervalMs(options) ?? env.messagePollMs;
  const found = await waitForEvent(env, workflowID, key, deadline, pollIntervalMs);
  return found ? storedValue<T>(found.value, found.serialization, { workflowID, column: `workflow_events.value of key ${key}` }) : null;
}

/**
 * `DBOS.getEvent`: anywhere but inside a step. In workflow code it takes two function IDs now (the read, and its
 * timeout recorded as `DBOS.sleep`), and what it saw, null included, is recorded as `DBOS.getEvent`.
 */
export function getEvent<T>(rt: RuntimeMessagingEnv, workflowID: string, key: string, options?: number | GetEventOptions): Promise<T | null> {
  const frame = currentFrame();
  if (!frame) return getEventValue<T>(rt, workflowID, key, options);
  if (frame.step) return Promise.reject(new DBOSInvalidWorkflowTransitionError('DBOS.getEvent cannot be called from inside a step'));
  try {
    checkEventLookup(workflowID, key);
  } catch (err) {
    return Promise.reject(err);
  }
  const ctx = frame.workflow;
  const functionID = ctx.nextFunctionID();
  const timeoutFunctionID = ctx.nextFunctionID();
  return durably<T | null>(ctx, functionID, GET_EVENT, recordedValue, async (settle) => {
    const timeoutMs = resolveTimeoutMs(options);
    const pollIntervalMs = resolvePollingIntervalMs(options) ?? rt.messagePollMs;
    const startedAt = Date.now();
    const now = engineNow(); // a test's virtual clock may move it (src/runtime/clock.ts)
    const deadline = timeoutMs > 0 ? await recordDeadline(rt.executor, ctx, timeoutFunctionID, now + timeoutMs) : now;
    const found = await waitForEvent(rt, workflowID, key, deadline, pollIntervalMs, ctx.signal);
    ctx.throwIfStopped();
    const adopted = await checkpoint(rt.executor, ctx, functionID, GET_EVENT, {
      output: found?.value ?? null,
      serialization: found?.serialization ?? null,
      startedAtEpochMs: startedAt,
    });
    return settle(adopted, () => {
      try {
        return found ? storedValue<T>(found.value, found.serialization, { workflowID, column: `workflow_events.value of key ${key}` }) : null;
      } catch (err) {
        // What was read is recorded as this step's outcome, so a replay meets it again: the run fails now as it would then.
        ctx.corruption ??= err as Error;
        throw err;
      }
    });
  });
}

/** What getEvent looks up may have been written by anything: text without NUL, of any length. */
function checkEventLookup(workflowID: string, key: string): void {
  checkText('workflowID', workflowID);
  checkText('event key', key);
}
