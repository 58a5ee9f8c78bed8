// Steps: run once, checkpoint the outcome (one round trip), and on replay return the recorded outcome without
// running. Also the built-in checkpointed operations that are steps under the hood: durable sleep, now, randomUUID.

import { randomUUID } from 'node:crypto';
import { DBOSMaxStepRetriesError, DBOSStepTimeoutError, DBOSUnexpectedStepError } from '../errors.js';
import { NATIVE_SERIALIZATION, PORTABLE_SERIALIZATION, serializeError, serializeValue } from '../serialization/index.js';
import type { StepRow } from '../sysdb/rows.js';
import { impatiently } from '../sysdb/retry.js';
import { stepDuration, stepRetries } from '../metrics/instruments.js';
import { recordStep } from '../sysdb/steps.js';
import { durably, replayRecorded, type Settle } from './replay.js';
import { callAt, currentFrame, executionStorage, sleepUnlessStopped, sleepUntil, type RunExecutor, type WorkflowContext } from './context.js';
import type { Span } from '../tracing/tracing.js';
import type { StepConfig } from './registry.js';
import { persist } from './persist.js';
import { engineNow } from './clock.js';

const MAX_RETRY_INTERVAL_SECONDS = 3600;

export interface Checkpoint {
  output?: string | null;
  error?: string | null;
  serialization: string | null;
  childWorkflowID?: string | null;
  startedAtEpochMs: number;
}

/**
 * Writes a checkpoint for this run; a run that lost ownership gets the reason thrown. If the function ID was already
 * recorded (by a previous owner in the instant it lost ownership, see src/sysdb/steps.ts), the recorded step wins and
 * is returned, so every execution continues from the same outcome.
 */
export async function checkpoint(
  executor: RunExecutor,
  ctx: WorkflowContext,
  functionID: number,
  name: string,
  c: Checkpoint,
): Promise<StepRow | undefined> {
  const result = await persist(ctx, () => `step ${functionID} (${name})`, () => recordStep(executor.db, {
    workflowID: ctx.workflowID,
    ownerXid: ctx.ownerXid,
    functionID,
    functionName: name,
    output: c.output ?? null,
    error: c.error ?? null,
    childWorkflowID: c.childWorkflowID ?? null,
    startedAtEpochMs: c.startedAtEpochMs,
    completedAtEpochMs: Date.now(),
    serialization: c.serialization,
    applicationName: ctx.applicationName,
  }));
  if (result.kind === 'not-owner') throw await executor.ownershipLost(ctx);
  if (result.kind === 'conflict') {
    if (result.existing.name !== name) throw new DBOSUnexpectedStepError(ctx.workflowID, functionID, name, result.existing.name);
    return result.existing;
  }
  return undefined;
}

/**
 * Runs `fn` as a step. Outside a workflow, or inside another step, it is a plain call. The function ID is taken
 * synchronously, before any await, so `Promise.all` over steps records the same IDs on every replay.
 */
/**
 * A step the engine itself runs for the workflow (a management call, DBOS.now): its database work is the run's own,
 * so it waits out an outage as a checkpoint does rather than recording the outage as the step's error.
 */
export function runEngineStep<T>(executor: RunExecutor, fn: () => Promise<T> | T, name: string): Promise<T> {
  return runStep(executor, fn, name, ENGINE_STEP);
}

const ENGINE_STEP: StepConfig = {};

export function runStep<T>(executor: RunExecutor, fn: () => Promise<T> | T, name: string, config: StepConfig): Promise<T> {
  const frame = currentFrame();
  if (!frame || frame.step) return Promise.resolve().then(fn);
  const ctx = frame.workflow;
  const functionID = ctx.nextFunctionID();
  return executeStep(executor, ctx, functionID, fn, name, config);
}

function executeStep<T>(
  executor: RunExecutor,
  ctx: WorkflowContext,
  functionID: number,
  fn: () => Promise<T> | T,
  name: string,
  config: StepConfig,
): Promise<T> {
  return durably<T>(ctx, functionID, name, replayRecorded, async (settle) => {
    const span = ctx.span && executor.tracing?.startStep(ctx.span, executor.spanIdentity(ctx), name, functionID);
    if (!span) return runAttempts(executor, ctx, functionID, fn, name, config, settle);
    try {
      const value = await runAttempts(executor, ctx, functionID, fn, name, config, settle, span);
      executor.tracing!.end(span);
      return value;
    } catch (error) {
      executor.tracing!.end(span, error);
      throw error;
    }
  });
}

/** Runs the step's attempts (with retries as configured) and checkpoints its outcome. */
async function runAttempts<T>(
  executor: RunExecutor,
  ctx: WorkflowContext,
  functionID: number,
  fn: () => Promise<T> | T,
  name: string,
  config: StepConfig,
  settle: Settle<T>,
  span?: Span,
): Promise<T> {
  const startedAtEpochMs = Date.now();
  const maxAttempts = config.retriesAllowed ? Math.max(1, config.maxAttempts ?? 3) : 1;
  const errors: Error[] = [];
  let intervalSeconds = config.intervalSeconds ?? 1;
  for (let attempt = 1; ; attempt++) {
    // Another executor may take this workflow over once this one's lease lapses: never start a step past it.
    if (executor.lease && !executor.lease.valid()) await executor.lease.renew();
    ctx.throwIfStopped();
    let outcome: { value: T } | { error: unknown };
    try {
      // The step's own code is the user's: what it asks of a database fails as usual, instead of waiting out an
      // outage as the run's own writes do (a step that enqueues through a DBOSClient gets its error, and retries).
      const attemptInContext = () =>
        executionStorage.run(
          { workflow: ctx, executor, step: { functionID, name, currentAttempt: attempt, maxAttempts, span } },
          async () => fn(),
        );
      const attemptRun = config === ENGINE_STEP ? attemptInContext() : impatiently(attemptInContext);
      if (ctx.probe) {
        // TESTING HOOK (RunProbe, context.ts): the step's function is running; a crash test may abandon it here.
        attemptRun.catch(() => {}); // a run held here forever never awaits the attempt
        await ctx.probe.at(ctx, { point: 'during', functionID, name, attempt });
      }
      const value = config.timeoutMS === undefined ? await attemptRun : await withTimeout(attemptRun, name, config.timeoutMS);
      outcome = { value };
    } catch (error) {
      outcome = { error };
    }
    // TESTING HOOK (RunProbe, context.ts): the attempt is over and nothing of it is recorded yet.
    if (ctx.probe) await ctx.probe.at(ctx, { point: 'ran', functionID, name, attempt, error: 'error' in outcome ? outcome.error : undefined });
    if ('value' in outcome) {
      let output: string;
      try {
        output = serializeValue(outcome.value, 'native', `the output of step ${name}`).text;
      } catch (serializationError) {
        // Running it again would produce the same value: a failure of the step, recorded as such.
        await checkpoint(executor, ctx, functionID, name, {
          error: serializeError(serializationError).text,
          serialization: NATIVE_SERIALIZATION,
          startedAtEpochMs,
        });
        throw serializationError;
      }
      const adopted = await checkpoint(executor, ctx, functionID, name, { output, serialization: NATIVE_SERIALIZATION, startedAtEpochMs });
      stepDuration.observe((Date.now() - startedAtEpochMs) / 1000, name, 'SUCCESS');
      const { value } = outcome;
      return settle(adopted, () => value);
    }
    ctx.throwIfStopped();
    errors.push(outcome.error as Error);
    if (attempt < maxAttempts && (config.shouldRetry?.(outcome.error) ?? true)) {
      stepRetries.inc(name);
      executor.logger.warn(
        `Step ${name} of workflow ${ctx.workflowID} failed (attempt ${attempt}/${maxAttempts}); retrying in ${intervalSeconds}s:`,
        outcome.error,
      );
      await sleepUnlessStopped(Math.min(intervalSeconds, MAX_RETRY_INTERVAL_SECONDS) * 1000, ctx.signal);
      ctx.throwIfStopped();
      intervalSeconds *= config.backoffRate ?? 2;
      continue;
    }
    const final = config.retriesAllowed ? new DBOSMaxStepRetriesError(name, attempt, errors) : outcome.error;
    const adopted = await checkpoint(executor, ctx, functionID, name, {
      error: serializeError(final).text,
      serialization: NATIVE_SERIALIZATION,
      startedAtEpochMs,
    });
    stepDuration.observe((Date.now() - startedAtEpochMs) / 1000, name, 'ERROR');
    return settle(adopted, () => {
      throw final;
    });
  }
}

/**
 * The attempt's result, or DBOSStepTimeoutError once `timeoutMS` has passed (the attempt itself cannot be stopped).
 * The timer re-arms in pieces (callAt), so a timeout beyond Node's 2^31-1 ms timer limit waits as long as it says.
 */
function withTimeout<T>(attempt: Promise<T>, name: string, timeoutMS: number): Promise<T> {
  let disarm: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    disarm = callAt(engineNow() + timeoutMS, () => reject(new DBOSStepTimeoutError(name, timeoutMS)));
  });
  return Promise.race([attempt, expired]).finally(() => disarm?.());
}

/**
 * Durable sleep: the wake-up time is checkpointed before sleeping, so a workflow restarted mid-sleep sleeps only
 * for what is left. Outside a workflow it is a plain sleep.
 */
export function durableSleep(executor: RunExecutor, ms: number): Promise<void> {
  const frame = currentFrame();
  if (!frame || frame.step) return new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const ctx = frame.workflow;
  const functionID = ctx.nextFunctionID();
  return (async () => {
    const wakeAt = await recordDeadline(executor, ctx, functionID, engineNow() + Math.max(0, ms));
    await sleepUntil(wakeAt, ctx.signal);
    ctx.throwIfStopped();
  })();
}

/**
 * Records (or, on replay, reads back) a wake-up time under `DBOS.sleep` at this function ID. recv, getEvent and
 * getResult timeouts use the same record, each on a function ID of its own.
 */
export function recordDeadline(executor: RunExecutor, ctx: WorkflowContext, functionID: number, wakeAt: number): Promise<number> {
  const recordedWakeAt = (recorded: StepRow) => Number(replayRecorded<number>(recorded));
  return durably(ctx, functionID, 'DBOS.sleep', recordedWakeAt, async (settle) => {
    const adopted = await checkpoint(executor, ctx, functionID, 'DBOS.sleep', {
      output: JSON.stringify(wakeAt),
      serialization: PORTABLE_SERIALIZATION,
      startedAtEpochMs: Date.now(),
    });
    return settle(adopted, () => wakeAt);
  });
}

/** A value computed once and checkpointed (DBOS.now, DBOS.randomUUID): replays see the first run's value. */
export function checkpointedValue<T>(executor: RunExecutor, name: string, compute: () => T): Promise<T> {
  return runEngineStep(executor, compute, name);
}

export const builtinSteps = {
  now: (executor: RunExecutor) => checkpointedValue(executor, 'DBOS.now', () => engineNow()),
  randomUUID: (executor: RunExecutor) => checkpointedValue(executor, 'DBOS.randomUUID', () => randomUUID()),
};
