// The Debouncer of the DBOS facade (dbos-spec §1.9): `debounce(key, periodMs, ...args)` starts a registered workflow
// `periodMs` from now, unless a call with the same key is already waiting, which then waits `periodMs` from now instead
// (never past `debounceTimeoutMs` after its first call) and runs with these arguments. The logic is shared with the
// DebouncerClient (src/queues/debounce.ts); this module only binds it to the running engine. From workflow code the
// call is a checkpointed step, `DBOS.debounceDelayedWorkflow`, whose output is the workflow ID, so a replay returns the
// same handle without debouncing again.

import { engine } from './process/state.js';
import type { StartWorkflowParams } from './runtime/start-params.js';
import { DBOSNotRegisteredError } from './errors.js';
import { settleFenced, operationStep } from './messaging/operation.js';
import { checkDebounceCall, DEBOUNCE_STEP_NAME, debounceWorkflow } from './queues/debounce.js';
import { currentFrame, type WorkflowContext } from './runtime/context.js';
import type { Executor } from './runtime/executor.js';
import { RuntimeWorkflowHandle, type WorkflowHandle } from './runtime/handle.js';
import { describe, type AnyFunction } from './runtime/registry.js';
import { durably, replayRecorded } from './runtime/replay.js';
import type { StepRow } from './sysdb/rows.js';
import { serializeArgs } from './serialization/index.js';
import { INTERNAL_QUEUE } from './sysdb/rows.js';

export interface DebouncerConfig<Args extends unknown[], Return> {
  /** A registered workflow function. */
  workflow: (...args: Args) => Promise<Return>;
  /** How each debounced workflow starts (its queue, ID, timeout, …); the key decides its deduplication ID and delay. */
  startWorkflowParams?: StartWorkflowParams;
  /** However often it is pushed back, a debounced workflow starts at most this long after its first call. */
  debounceTimeoutMs?: number;
  /** The application this debounce acts for. Defaults to the caller's own. */
  applicationName?: string;
}

export class Debouncer<Args extends unknown[], Return> {
  private readonly cfg: DebouncerConfig<Args, Return>;

  constructor(params: DebouncerConfig<Args, Return>) {
    this.cfg = { ...params };
  }

  /**
   * Starts the workflow `debouncePeriodMs` from now with `args`, or, if a call with this key is still waiting, moves
   * that one's start to `debouncePeriodMs` from now (capped by `debounceTimeoutMs`) and gives it these arguments;
   * returns the handle of the workflow that will run them.
   */
  debounce(debounceKey: string, debouncePeriodMs: number, ...args: Args): Promise<WorkflowHandle<Return>> {
    try {
      checkDebounceCall(debounceKey, debouncePeriodMs, this.cfg.debounceTimeoutMs);
      const executor = engine('Debouncer.debounce');
      // From workflow code the call takes its function ID now, before any await, so replays see the same IDs.
      const frame = currentFrame();
      const ctx = frame && !frame.step ? frame.workflow : undefined;
      const functionID = ctx ? ctx.nextFunctionID() : -1;
      return this.debounceAsync(executor, ctx, functionID, debounceKey, debouncePeriodMs, args);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private debounceAsync(
    executor: Executor,
    ctx: WorkflowContext | undefined,
    functionID: number,
    key: string,
    periodMs: number,
    args: Args,
  ): Promise<WorkflowHandle<Return>> {
    const handle = (workflowID: string) => new RuntimeWorkflowHandle<Return>(executor, workflowID);
    if (!ctx) return this.debounceFresh(executor, undefined, functionID, key, periodMs, args).then((r) => handle(r.workflowID!));
    return durably(ctx, functionID, DEBOUNCE_STEP_NAME, (recorded) => handle(replayRecorded<string>(recorded)), async (settle) => {
      const r = await this.debounceFresh(executor, ctx, functionID, key, periodMs, args);
      return settle(r.adopted, () => handle(r.workflowID!));
    });
  }

  /** Debounces: the workflow ID this call debounced into, or the step another execution recorded first (adopted). */
  private async debounceFresh(
    executor: Executor,
    ctx: WorkflowContext | undefined,
    functionID: number,
    key: string,
    periodMs: number,
    args: Args,
  ): Promise<{ workflowID?: string; adopted?: StepRow }> {
    const fn = this.cfg.workflow as AnyFunction;
    const reg = executor.registry.forFunction(fn);
    if (!reg) throw new DBOSNotRegisteredError(fn?.name || 'anonymous function');
    const params = this.cfg.startWorkflowParams ?? {};
    await executor.requireQueue(params.queueName ?? INTERNAL_QUEUE, params.enqueueOptions?.queuePartitionKey);
    const inputs = serializeArgs(
      executor.validateArgs(reg, args),
      reg.config.serialization ?? 'native',
      `the arguments of workflow ${describe(reg.className, reg.name)}`,
    );
    const identity = executor.identity;
    const result = await debounceWorkflow(
      executor.db,
      {
        key,
        periodMs,
        debounceTimeoutMs: this.cfg.debounceTimeoutMs,
        workflowName: reg.name,
        workflowClassName: reg.className,
        params: {
          ...params,
          authenticatedUser: params.authenticatedUser ?? ctx?.authenticatedUser ?? undefined,
          authenticatedRoles: params.authenticatedRoles ?? (ctx?.authenticatedRoles.length ? ctx.authenticatedRoles : undefined),
        },
        inputs,
        placement: {
          executorID: identity.executorID,
          applicationVersion: identity.applicationVersion,
          applicationID: identity.applicationID,
          applicationName: this.cfg.applicationName ?? identity.applicationName,
        },
      },
      ctx ? operationStep(ctx, functionID, DEBOUNCE_STEP_NAME, Date.now()) : undefined,
    );
    if ('workflowID' in result) return { workflowID: result.workflowID };
    // Another execution of this workflow recorded the call first (adopted), or this run lost its workflow (thrown).
    return { adopted: await settleFenced(executor, ctx!, functionID, DEBOUNCE_STEP_NAME, result.fenced) };
  }
}
