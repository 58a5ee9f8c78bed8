// Streams: a workflow (or one of its steps) appends values under a key; readers get them in order, as they are
// written, until the stream is closed or the writer is no longer active.
//  - From workflow code a write is the step `DBOS.writeStream` (or `DBOS.closeStream`), recorded with the value.
//  - From a step a write is fenced by ownership but not recorded (the step is); so that a step that runs again (a
//    retry, or after a crash) does not append its values twice, the n-th write of a step to a key is skipped when
//    an earlier run of that step already wrote n or more values there.
//  - A read from workflow code records each value it delivers (and the end) as `DBOS.readStream`, so a replay sees
//    the same sequence even if the stream has grown since.

import {
  DBOSInvalidWorkflowTransitionError,
  DBOSNonExistentWorkflowError,
  DBOSStreamNondeterminismError,
  DBOSStreamTimeoutError,
} from '../errors.js';
import { currentFrame, type StepFrame, type WorkflowContext } from '../runtime/context.js';
import type { Executor } from '../runtime/executor.js';
import { durably, replayRecorded } from '../runtime/replay.js';
import type { StepRow } from '../sysdb/rows.js';
import { checkpoint } from '../runtime/steps.js';
import { waitFor } from '../runtime/wakeups.js';
import { NATIVE_SERIALIZATION, serializeError, serializeValue } from '../serialization/index.js';
import { PORTABLE_JSON } from '../sysdb/operations.js';
import {
  countStepStreamWrites,
  readStreamValue,
  writeStreamFromStep,
  writeStreamFromWorkflow,
  type StreamValue,
} from '../sysdb/streams.js';
import { encode, operationStep, settleFenced, storedValue, type RuntimeMessagingEnv } from './operation.js';
import {
  resolvePollingIntervalMs,
  resolveStreamOffset,
  resolveStreamTimeoutMs,
  type ReadStreamOffsetOptions,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './options.js';
import { streamWakeKey, type MessagingEnv } from './wakeups.js';
import { checkKey, checkText } from '../validation.js';

/** The value closeStream writes; readers stop there. */
export const STREAM_CLOSED_SENTINEL = '__DBOS_STREAM_CLOSED__';
const CLOSED_VALUE: StreamValue = { value: JSON.stringify(STREAM_CLOSED_SENTINEL), serialization: PORTABLE_JSON };

const WRITE_STREAM = 'DBOS.writeStream';
const CLOSE_STREAM = 'DBOS.closeStream';
const READ_STREAM = 'DBOS.readStream';
const READ_STREAM_OFFSET = 'DBOS.readStreamOffset';

/** A writer in one of these statuses may still write; past them an empty offset is the end of the stream. */
const ACTIVE_STATUSES = new Set(['PENDING', 'ENQUEUED', 'DELAYED']);

export function writeStream(rt: RuntimeMessagingEnv, key: string, value: unknown, options?: WriteStreamOptions): Promise<void> {
  const frame = currentFrame();
  if (!frame) {
    return Promise.reject(new DBOSInvalidWorkflowTransitionError('DBOS.writeStream can only be called from a workflow or a step'));
  }
  let encoded: StreamValue;
  try {
    checkKey('stream key', key);
    const serialized = encode(value, options?.serializationType, frame.workflow, `a value of stream ${key}`);
    encoded = { value: serialized.text, serialization: serialized.serialization };
  } catch (err) {
    return Promise.reject(err);
  }
  return append(rt, frame.workflow, frame.step, key, encoded, WRITE_STREAM);
}

export function closeStream(rt: RuntimeMessagingEnv, key: string): Promise<void> {
  const frame = currentFrame();
  if (!frame) {
    return Promise.reject(new DBOSInvalidWorkflowTransitionError('DBOS.closeStream can only be called from a workflow or a step'));
  }
  try {
    checkKey('stream key', key);
  } catch (err) {
    return Promise.reject(err);
  }
  return append(rt, frame.workflow, frame.step, key, CLOSED_VALUE, CLOSE_STREAM);
}

/** Takes the function ID (workflow code) or the write's place in its step synchronously, before any await. */
function append(
  rt: RuntimeMessagingEnv,
  ctx: WorkflowContext,
  step: StepFrame | undefined,
  key: string,
  v: StreamValue,
  name: string,
): Promise<void> {
  if (step) {
    const seq = stepWritesOf(step).next(key);
    return appendFromStep(rt, ctx, step, key, v, seq);
  }
  const functionID = ctx.nextFunctionID();
  return durably<void>(ctx, functionID, name, () => {}, async (settle) => {
    const result = await writeStreamFromWorkflow(rt.db, operationStep(ctx, functionID, name, Date.now()), key, v);
    const adopted = await settleFenced(rt.executor, ctx, functionID, name, result);
    settle(adopted, () => rt.wakeups.wake(streamWakeKey(ctx.workflowID, key)));
  });
}

/** Per attempt of a step (each attempt has a frame of its own): how many writes it made, and found, per key. */
class StepWrites {
  private readonly made = new Map<string, number>();
  private readonly found = new Map<string, Promise<number>>();

  next(key: string): number {
    const seq = this.made.get(key) ?? 0;
    this.made.set(key, seq + 1);
    return seq;
  }

  /** Values an earlier run of this step wrote to the key (read once per attempt and key). */
  writtenBefore(db: RuntimeMessagingEnv['db'], workflowID: string, key: string, stepID: number): Promise<number> {
    let count = this.found.get(key);
    if (!count) {
      count = countStepStreamWrites(db, workflowID, key, stepID);
      this.found.set(key, count);
    }
    return count;
  }
}

const stepWrites = new WeakMap<StepFrame, StepWrites>();

function stepWritesOf(step: StepFrame): StepWrites {
  let writes = stepWrites.get(step);
  if (!writes) stepWrites.set(step, (writes = new StepWrites()));
  return writes;
}

async function appendFromStep(
  rt: RuntimeMessagingEnv,
  ctx: WorkflowContext,
  step: StepFrame,
  key: string,
  v: StreamValue,
  seq: number,
): Promise<void> {
  ctx.throwIfStopped();
  // A first attempt in a run that started this workflow fresh cannot meet its own earlier writes: no lookup.
  if (step.currentAttempt > 1 || ctx.mayHaveRunBefore) {
    if (seq < (await stepWritesOf(step).writtenBefore(rt.db, ctx.workflowID, key, step.functionID))) return;
  }
  if (!(await writeStreamFromStep(rt.db, ctx.workflowID, ctx.ownerXid, step.functionID, key, v))) {
    throw await rt.executor.ownershipLost(ctx);
  }
  rt.wakeups.wake(streamWakeKey(ctx.workflowID, key));
}

// ------------------------------------------------------------------------------------------------------ reading

/** Who is reading: a workflow (its reads are checkpointed) or anyone else. */
interface Reader {
  executor?: Executor;
  ctx?: WorkflowContext;
}

type ReadOutcome = { end: true } | { end: false; value: unknown };

function decodeStreamValue(v: StreamValue, workflowID: string, key: string, offset: number): ReadOutcome {
  // Older DBOS releases wrote the close marker as bare text, which is not valid JSON.
  if (v.value === STREAM_CLOSED_SENTINEL) return { end: true };
  return outcomeOf(storedValue(v.value, v.serialization, { workflowID, column: `streams.value of key ${key} at offset ${offset}` }));
}

/** Reads the value at one offset, waiting for it; in workflow code the outcome is the step at `functionID`. */
async function readOne(
  env: MessagingEnv,
  reader: Reader,
  functionID: number | undefined,
  name: string,
  workflowID: string,
  key: string,
  offset: number,
  timeoutMs: number | undefined,
  pollIntervalMs: number,
): Promise<ReadOutcome> {
  const { ctx, executor } = reader;
  const waitForValue = (startedAt: number) =>
    waitFor<ReadOutcome>(
      env.wakeups,
      streamWakeKey(workflowID, key),
      async () => {
        const r = await readStreamValue(env.db, workflowID, key, offset);
        if (r.status === null) throw new DBOSNonExistentWorkflowError(`Workflow ${workflowID} does not exist`);
        if (r.value) return decodeStreamValue(r.value, workflowID, key, offset);
        return ACTIVE_STATUSES.has(r.status) ? undefined : { end: true };
      },
      { deadlineEpochMS: timeoutMs === undefined ? undefined : startedAt + timeoutMs, pollIntervalMs, signal: ctx?.signal },
    );
  const found = (read: ReadOutcome | undefined): ReadOutcome => {
    if (!read) throw streamTimeout(workflowID, key, offset, timeoutMs);
    return read;
  };
  if (!ctx || !executor || functionID === undefined) {
    const read = await waitForValue(Date.now());
    ctx?.throwIfStopped();
    return found(read);
  }
  const replay = (recorded: StepRow) => outcomeOf(replayRecorded(recorded));
  return durably(ctx, functionID, name, replay, async (settle) => {
    const startedAt = Date.now();
    const read = await waitForValue(startedAt);
    ctx.throwIfStopped();
    const stepOutcome = read
      ? { output: serializeValue(read.end ? STREAM_CLOSED_SENTINEL : read.value, 'native', `a value of stream ${key}`).text }
      : { error: serializeError(streamTimeout(workflowID, key, offset, timeoutMs)).text };
    const adopted = await checkpoint(executor, ctx, functionID, name, {
      ...stepOutcome,
      serialization: NATIVE_SERIALIZATION,
      startedAtEpochMs: startedAt,
    });
    return settle(adopted, () => found(read));
  });
}

/**
 * The function ID of a stream read in workflow code, refused while another read of the workflow waits: two reads
 * in flight at once would number their values in arrival order, and a replay could not follow.
 */
function takeStreamReadID(ctx: WorkflowContext, workflowID: string, key: string): number {
  if (ctx.streamReadInFlight) {
    throw new DBOSStreamNondeterminismError(ctx.workflowID, key, workflowID);
  }
  ctx.streamReadInFlight = true;
  return ctx.nextFunctionID();
}

/** readOne, releasing the workflow's stream-read slot taken by takeStreamReadID when it settles. */
async function readOneExclusive(
  env: MessagingEnv,
  reader: Reader,
  functionID: number | undefined,
  ...rest: [name: string, workflowID: string, key: string, offset: number, timeoutMs: number | undefined, pollIntervalMs: number]
): Promise<ReadOutcome> {
  try {
    return await readOne(env, reader, functionID, ...rest);
  } finally {
    if (reader.ctx && functionID !== undefined) reader.ctx.streamReadInFlight = false;
  }
}

function outcomeOf(value: unknown): ReadOutcome {
  return value === STREAM_CLOSED_SENTINEL ? { end: true } : { end: false, value };
}

function streamTimeout(workflowID: string, key: string, offset: number, timeoutMs: number | undefined): DBOSStreamTimeoutError {
  return new DBOSStreamTimeoutError(workflowID, key, timeoutMs, offset);
}

async function* readValues<T>(
  env: MessagingEnv,
  reader: Reader,
  workflowID: string,
  key: string,
  options: ReadStreamOptions,
): AsyncGenerator<T, void, unknown> {
  checkText('workflowID', workflowID);
  checkText('stream key', key);
  let offset = resolveStreamOffset(options.offset);
  const timeoutMs = resolveStreamTimeoutMs(options);
  const pollIntervalMs = resolvePollingIntervalMs(options) ?? env.streamPollMs;
  for (;;) {
    // One function ID per value delivered, taken when the next value is asked for.
    const functionID = reader.ctx ? takeStreamReadID(reader.ctx, workflowID, key) : undefined;
    const next = await readOneExclusive(env, reader, functionID, READ_STREAM, workflowID, key, offset, timeoutMs, pollIntervalMs);
    if (next.end) return;
    yield next.value as T;
    offset++;
  }
}

/** A stream read from anywhere but workflow code, or from a client: nothing is recorded. */
export function readStreamValues<T>(env: MessagingEnv, workflowID: string, key: string, options: ReadStreamOptions = {}): AsyncGenerator<T, void, unknown> {
  return readValues<T>(env, {}, workflowID, key, options);
}

/** `DBOS.readStream`: the values in order until the stream is closed or its writer is done. */
export function readStream<T>(rt: RuntimeMessagingEnv, workflowID: string, key: string, options: ReadStreamOptions = {}): AsyncGenerator<T, void, unknown> {
  const frame = currentFrame();
  const ctx = frame && !frame.step ? frame.workflow : undefined;
  return readValues<T>(rt, { ctx, executor: rt.executor }, workflowID, key, options);
}

/** The value at one offset (waiting for it); DBOSStreamTimeoutError at the timeout or if the stream ends first. */
export function readStreamOffset<T>(
  env: MessagingEnv & { executor?: Executor },
  workflowID: string,
  key: string,
  offset: number,
  options: ReadStreamOffsetOptions = {},
): Promise<T> {
  const frame = env.executor ? currentFrame() : undefined;
  const ctx = frame && !frame.step ? frame.workflow : undefined;
  let functionID: number | undefined;
  try {
    checkText('workflowID', workflowID);
    checkText('stream key', key);
    functionID = ctx ? takeStreamReadID(ctx, workflowID, key) : undefined;
  } catch (err) {
    return Promise.reject(err);
  }
  return (async () => {
    const at = resolveStreamOffset(offset);
    const timeoutMs = resolveStreamTimeoutMs(options);
    const pollIntervalMs = resolvePollingIntervalMs(options) ?? env.streamPollMs;
    const reader = { ctx, executor: env.executor };
    const read = await readOneExclusive(env, reader, functionID, READ_STREAM_OFFSET, workflowID, key, at, timeoutMs, pollIntervalMs);
    if (read.end) throw streamTimeout(workflowID, key, at, undefined);
    return read.value as T;
  })();
}
