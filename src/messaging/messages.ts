// send and recv. A message is a row addressed to a workflow; recv takes the oldest one on its topic. Inside a
// workflow both are checkpointed with their data in one statement, so a replay neither sends again nor takes
// another message, and a crash between taking a message and recording it cannot happen.

import { randomUUID } from 'node:crypto';
import { DBOSNonExistentWorkflowError } from '../errors.js';
import { currentFrame, type WorkflowContext } from '../runtime/context.js';
import { durably, replayRecorded, type Settle } from '../runtime/replay.js';
import { checkpoint, recordDeadline } from '../runtime/steps.js';
import { waitFor } from '../runtime/wakeups.js';
import { engineNow } from '../runtime/clock.js';
import { NATIVE_SERIALIZATION, serializeError } from '../serialization/index.js';
import {
  insertMessage,
  NULL_TOPIC,
  receiveMessage,
  sendFromStep,
  sendFromWorkflow,
  type OutgoingMessage,
} from '../sysdb/messages.js';
import {
  encode,
  operationStep,
  recordedValue,
  requireWorkflowCode,
  settleFenced,
  storedValue,
  type RuntimeMessagingEnv,
} from './operation.js';
import { resolvePollingIntervalMs, resolveTimeoutMs, type RecvOptions, type SendOptions } from './options.js';
import { messageWakeKey, type MessagingEnv } from './wakeups.js';
import { checkOptionalKey, checkText } from '../validation.js';

const SEND = 'DBOS.send';
const RECV = 'DBOS.recv';

function outgoing(
  destinationID: string,
  message: unknown,
  topic: string | undefined,
  idempotencyKey: string | undefined,
  options: SendOptions | undefined,
  ctx: WorkflowContext | undefined,
): OutgoingMessage {
  checkText('destinationID', destinationID);
  checkOptionalKey('topic', topic);
  checkOptionalKey('idempotencyKey', idempotencyKey);
  const encoded = encode(message, options?.serializationType, ctx, `the message to workflow ${destinationID}`);
  return {
    // Keyed per destination, so one key may be used to send the same message to several workflows.
    messageUUID: idempotencyKey ? `${idempotencyKey}::${destinationID}` : randomUUID(),
    destinationID,
    topic: topic ?? NULL_TOPIC,
    message: encoded.text,
    serialization: encoded.serialization,
  };
}

/** A send from outside any workflow, or from a client: one insert. */
export async function sendMessage(
  env: MessagingEnv,
  destinationID: string,
  message: unknown,
  topic?: string,
  idempotencyKey?: string,
  options?: SendOptions,
): Promise<void> {
  const m = outgoing(destinationID, message, topic, idempotencyKey, options, undefined);
  await insertMessage(env.db, m);
  env.wakeups.wake(messageWakeKey(m.destinationID, m.topic));
}

/**
 * `DBOS.send`: checkpointed in workflow code (the step `DBOS.send`, taking its function ID now), fenced by ownership
 * in a step, a plain insert elsewhere.
 */
export function send(
  rt: RuntimeMessagingEnv,
  destinationID: string,
  message: unknown,
  topic?: string,
  idempotencyKey?: string,
  options?: SendOptions,
): Promise<void> {
  const frame = currentFrame();
  if (!frame) return sendMessage(rt, destinationID, message, topic, idempotencyKey, options);
  try {
    checkText('destinationID', destinationID);
    checkOptionalKey('topic', topic);
    checkOptionalKey('idempotencyKey', idempotencyKey);
  } catch (err) {
    return Promise.reject(err);
  }
  const ctx = frame.workflow;
  if (frame.step) {
    return (async () => {
      const m = outgoing(destinationID, message, topic, idempotencyKey, options, ctx);
      if (!(await sendFromStep(rt.db, ctx.workflowID, ctx.ownerXid, m))) throw await rt.executor.ownershipLost(ctx);
      rt.wakeups.wake(messageWakeKey(m.destinationID, m.topic));
    })();
  }
  const functionID = ctx.nextFunctionID();
  // A recorded failure (a missing destination) is thrown again on replay.
  return durably<void>(ctx, functionID, SEND, (recorded) => void replayRecorded(recorded), async (settle) => {
    const m = outgoing(destinationID, message, topic, idempotencyKey, options, ctx);
    const startedAt = Date.now();
    let adopted;
    try {
      const result = await sendFromWorkflow(rt.db, operationStep(ctx, functionID, SEND, startedAt), m);
      adopted = await settleFenced(rt.executor, ctx, functionID, SEND, result);
    } catch (err) {
      if (!(err instanceof DBOSNonExistentWorkflowError)) throw err;
      // The failure is the send's outcome: recorded (the insert rolled back), so a replay fails the same way.
      adopted = await checkpoint(rt.executor, ctx, functionID, SEND, {
        error: serializeError(err).text,
        serialization: NATIVE_SERIALIZATION,
        startedAtEpochMs: startedAt,
      });
      if (!adopted) throw err;
    }
    settle(adopted, () => rt.wakeups.wake(messageWakeKey(m.destinationID, m.topic)));
  });
}

/**
 * `DBOS.recv`: in workflow code only. Takes two function IDs now: the recv itself and its timeout, recorded first as
 * a `DBOS.sleep` wake-up time so that a restarted workflow waits only for what is left of it.
 */
export function recv<T>(rt: RuntimeMessagingEnv, topic?: string, options?: number | RecvOptions): Promise<T | null> {
  let ctx: WorkflowContext;
  try {
    checkOptionalKey('topic', topic);
    ctx = requireWorkflowCode('recv');
  } catch (err) {
    return Promise.reject(err);
  }
  const functionID = ctx.nextFunctionID();
  const timeoutFunctionID = ctx.nextFunctionID();
  return receive<T>(rt, ctx, functionID, timeoutFunctionID, topic ?? NULL_TOPIC, options);
}

async function receive<T>(
  rt: RuntimeMessagingEnv,
  ctx: WorkflowContext,
  functionID: number,
  timeoutFunctionID: number,
  topic: string,
  options: number | RecvOptions | undefined,
): Promise<T | null> {
  return durably<T | null>(ctx, functionID, RECV, recordedValue, (settle) =>
    receiveFresh<T>(rt, ctx, functionID, timeoutFunctionID, topic, options, settle),
  );
}

async function receiveFresh<T>(
  rt: RuntimeMessagingEnv,
  ctx: WorkflowContext,
  functionID: number,
  timeoutFunctionID: number,
  topic: string,
  options: number | RecvOptions | undefined,
  settle: Settle<T | null>,
): Promise<T | null> {
  const timeoutMs = resolveTimeoutMs(options);
  const pollIntervalMs = resolvePollingIntervalMs(options) ?? rt.messagePollMs;
  const startedAt = Date.now();
  const now = engineNow(); // a test's virtual clock may move it (src/runtime/clock.ts)
  const deadline = timeoutMs > 0 ? await recordDeadline(rt.executor, ctx, timeoutFunctionID, now + timeoutMs) : now;

  // One statement both checks for a message and, when there is one, takes it and records the step.
  const attempt = async (final: boolean): Promise<{ value: T | null } | undefined> => {
    const result = await receiveMessage(rt.db, { step: operationStep(ctx, functionID, RECV, startedAt), topic, final });
    if (result.kind === 'empty') return undefined;
    if (result.kind === 'received') {
      try {
        return { value: storedValue<T>(result.message, result.serialization, { workflowID: ctx.workflowID, column: 'notifications.message' }) };
      } catch (err) {
        // The message is taken and recorded as this step's outcome: a replay meets the same unreadable value, so the
        // run fails now too, whatever the workflow does with the error.
        ctx.corruption ??= err as Error;
        throw err;
      }
    }
    const adopted = await settleFenced(rt.executor, ctx, functionID, RECV, result.kind);
    return { value: settle(adopted!, () => null) };
  };
  const received = await waitFor(rt.wakeups, messageWakeKey(ctx.workflowID, topic), () => attempt(false), {
    deadlineEpochMS: deadline,
    pollIntervalMs,
    signal: ctx.signal,
  });
  if (received) return received.value;
  ctx.throwIfStopped();
  // At the deadline: take a message that arrived just now, or record that none came.
  return (await attempt(true))!.value;
}
