// The engine inside one process: starting workflows (directly, as children, or onto a queue), running them in a
// workflow context, recording their outcome fenced by ownership, and waiting for outcomes.

import { alertWorkflowDeadLettered, alertWorkflowFailedInfrastructure } from '../alerts/alerts.js';
import { deadLettered, workflowDuration, workflowsFinished, workflowsStarted } from '../metrics/instruments.js';
import { warnIfUndeclared } from './undeclared-queue.js';
import { randomUUID } from 'node:crypto';
import {
  DBOSConflictingWorkflowError,
  DBOSInvalidWorkflowInputError,
  DBOSMaxRecoveryAttemptsExceededError,
  DBOSNotRegisteredError,
  DBOSUnexpectedStepError,
  DBOSWorkflowCancelledError,
  DBOSWorkflowConflictError,
  DBOSWorkflowIDInUseError,
} from '../errors.js';
import {
  deserializeArgs,
  NATIVE_SERIALIZATION,
  PORTABLE_SERIALIZATION,
  serializeArgs,
  serializeError,
  serializeValue,
  type SerializationFormat,
} from '../serialization/index.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { patiently } from '../sysdb/retry.js';
import type { ClaimedWorkflow } from '../sysdb/queues.js';
import type { StepRow, WorkflowRow } from '../sysdb/rows.js';
import {
  cancelWorkflow,
  completeWorkflow,
  deadLetterWorkflow,
  getWorkflowOutcome,
  handBackWorkflows,
  insertOrFindDuplicate,
  setWorkflowSerialization,
  type NewWorkflow,
} from '../sysdb/workflows.js';
import { callAt, currentFrame, executionStorage, nextStartStorage, WorkflowContext, type LeaseGuard, type RunExecutor, type RunProbe } from './context.js';
import type { SpanIdentity, Tracing } from '../tracing/tracing.js';
import type { Logger } from '../logger.js';
import { awaitFinished, awaitOutcome, outcomeKey, settleOutcome } from './outcome.js';
import { findInstance, type InstanceLike } from './instances.js';
import { describe, type RegisteredWorkflow, type Registry } from './registry.js';
import { childStart, startChild } from './child-start.js';
import type { Settle } from './replay.js';
import { persist } from './persist.js';
import { checkpoint } from './steps.js';
import { checkStartOptions } from '../validation.js';
import { decodeStored, descriptiveProblems, unrunnableRow } from './corruption.js';
import { Wakeups } from './wakeups.js';
import { workflowRow } from './workflow-row.js';
import { engineNow } from './clock.js';

export interface Identity {
  executorID: string;
  applicationVersion: string;
  applicationName: string;
  applicationID: string | null;
}

export interface StartOptions {
  workflowID?: string;
  queueName?: string;
  /** A number sets a deadline; null detaches a child from its parent's deadline; undefined inherits it. */
  timeoutMS?: number | null;
  deduplicationID?: string;
  priority?: number;
  queuePartitionKey?: string;
  delaySeconds?: number;
  workflowIDReusePolicy?: 'return-existing' | 'reject';
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  attributes?: Record<string, unknown>;
  /** Recorded in `schedule_name`: the schedule that started this workflow. */
  scheduleName?: string;
  /** Overrides this process's version; null leaves the row for the latest version to run (as a client enqueue does). */
  applicationVersion?: string | null;
  /** Overrides the creation time, which orders a queue (event receivers that keep their events in order). */
  createdAtEpochMs?: number;
  /** The application whose processes run the workflow (default: this one). */
  applicationName?: string;
  /** A taken deduplication ID: throw (`reject`, the default) or return the workflow holding it. */
  duplicationPolicy?: 'reject' | 'return-existing';
  /** `this` for an instance workflow: a registered configured instance, whose name is recorded as config_name. */
  instance?: InstanceLike;
}

/** How a local run ended: with an outcome this run recorded, or "parked" (someone else decides the outcome). */
export type RunOutcome = { status: 'SUCCESS'; value: unknown } | { status: 'ERROR'; error: unknown } | { status: 'PARKED' };

interface LocalRun {
  context: WorkflowContext;
  done: Promise<RunOutcome>;
}

/** How long a shutdown waits, after stopping its runs, for the steps they are in to finish and be recorded. */
export const SHUTDOWN_SETTLE_MS = 2000;
/** An interrupted run's workflow waits this long in its queue before it is tried again. */
const INTERRUPTED_RETRY_DELAY_MS = 2000;

/** A hook the queue layer installs, so an enqueue wakes the dispatcher without the runtime importing it. */
export interface EnqueueListener {
  /** `delayed`: the workflow is DELAYED (the delayed-work promoter re-plans, instead of a claim). */
  workflowEnqueued(queueName: string, delayed?: boolean): void;
}

export class Executor implements RunExecutor {
  readonly wakeups = new Wakeups();
  private readonly localRuns = new Map<string, LocalRun>();
  /** Runs stopped by a shutdown that still own their workflows: handed back to their queues before the process goes. */
  private readonly parked = new Map<string, string>();
  enqueueListener?: EnqueueListener;
  /** Set by the queue layer once the heartbeat runs. */
  lease?: LeaseGuard;
  /** Spans for workflows and steps, when tracing is on. */
  tracing?: Tracing;
  /** `enablePatching` from the config: DBOS.patch and DBOS.deprecatePatch are refused without it. */
  patchingEnabled = false;
  shuttingDown = false;
  /** TESTING HOOK (RunProbe, context.ts): told of every run's durable operations; set by src/testing/ only. */
  probe?: RunProbe;

  constructor(
    readonly db: SqlDriver,
    readonly registry: Registry,
    readonly identity: Identity,
    readonly logger: Logger,
    readonly pollIntervalMs: number,
    /**
     * Whether a queue name is known to this process (unknown ones are rejected at enqueue); may look the queue up in
     * the database, and may throw to reject an enqueue the queue could never run (a partitioned one without a key).
     */
    private readonly queueExists: (name: string, partitionKey: string | undefined) => boolean | Promise<boolean>,
  ) {}

  get runningWorkflowIDs(): string[] {
    return [...this.localRuns.keys()];
  }

  // ---------------------------------------------------------------------------------------------- starting

  /**
   * Starts a workflow and returns its ID once the row is durable. Synchronous up to the first await: a child's
   * function ID is taken from the parent's counter at call time, so concurrent starts replay with the same IDs.
   */
  start(reg: RegisteredWorkflow, args: unknown[], options: StartOptions = {}): Promise<string> {
    const frame = currentFrame();
    const parent = frame && !frame.step ? frame.workflow : undefined;
    const functionID = parent ? parent.nextFunctionID() : undefined;
    const next = nextStartStorage.getStore();
    const merged: StartOptions = {
      ...options,
      workflowID: options.workflowID ?? next?.workflowID,
      queueName: options.queueName ?? next?.queueName,
      timeoutMS: options.timeoutMS !== undefined ? options.timeoutMS : next?.timeoutMS,
      authenticatedUser: options.authenticatedUser ?? next?.authenticatedUser ?? parent?.authenticatedUser ?? undefined,
      authenticatedRoles: options.authenticatedRoles ?? next?.authenticatedRoles ?? parent?.authenticatedRoles,
    };
    // withNextWorkflowID names only the first workflow started inside its callback.
    if (next?.workflowID && merged.workflowID === next.workflowID) next.workflowID = undefined;
    return this.startAsync(reg, args, merged, parent, functionID);
  }

  private async startAsync(
    reg: RegisteredWorkflow,
    args: unknown[],
    options: StartOptions,
    parent: WorkflowContext | undefined,
    functionID: number | undefined,
  ): Promise<string> {
    options = checkStartOptions(options); // before anything is read or written
    if (parent && functionID !== undefined) {
      const checked = options;
      return childStart(parent, functionID, reg.name, (settle) => this.startFresh(reg, args, checked, parent, functionID, settle), checked.workflowID);
    }
    return this.startFresh(reg, args, options, undefined, undefined);
  }

  /** A start that is not a replay: the row is written (with the parent's step, for a child) and the run begins. */
  private async startFresh(
    reg: RegisteredWorkflow,
    args: unknown[],
    options: StartOptions,
    parent: WorkflowContext | undefined,
    functionID: number | undefined,
    settle?: Settle<string>,
  ): Promise<string> {
    const instance = reg.instanceMethod ? this.requireInstance(reg, options.instance) : undefined;
    const workflowID = options.workflowID ?? (parent ? `${parent.workflowID}-${functionID}` : randomUUID());
    const format: SerializationFormat = reg.config.serialization ?? 'native';
    const validatedArgs = this.validateArgs(reg, args);
    const inputs = serializeArgs(validatedArgs, format, `the arguments of workflow ${describe(reg.className, reg.name)}`);
    const queueName = options.queueName;
    const applicationName = options.applicationName ?? this.identity.applicationName;
    // Another application's queues are its own business: they need not be declared here.
    if (queueName !== undefined && applicationName === this.identity.applicationName) await this.requireQueue(queueName, options.queuePartitionKey);
    const now = Date.now();
    let timeoutMS: number | null = null;
    let deadline: number | null = null;
    if (typeof options.timeoutMS === 'number') {
      timeoutMS = options.timeoutMS;
      deadline = queueName ? null : engineNow() + options.timeoutMS; // a queued workflow's deadline starts at dequeue
    } else if (options.timeoutMS === undefined && parent?.deadlineEpochMS) {
      deadline = parent.deadlineEpochMS;
      timeoutMS = Math.max(1, parent.deadlineEpochMS - engineNow());
    }
    const ownerXid = queueName ? null : randomUUID();
    const row = workflowRow({
      workflowID,
      name: reg.name,
      className: reg.className,
      configName: instance?.name,
      queueName,
      executorID: this.identity.executorID,
      applicationVersion: options.applicationVersion !== undefined ? options.applicationVersion : this.identity.applicationVersion,
      applicationID: this.identity.applicationID,
      applicationName,
      ownerXid,
      timeoutMS,
      deadlineEpochMS: deadline,
      deduplicationID: options.deduplicationID,
      priority: options.priority,
      queuePartitionKey: options.queuePartitionKey,
      parentWorkflowID: parent?.workflowID,
      format,
      delaySeconds: options.delaySeconds,
      nowEpochMs: now,
      authenticatedUser: options.authenticatedUser,
      authenticatedRoles: options.authenticatedRoles,
      attributes: options.attributes,
      scheduleName: options.scheduleName,
      inputs: inputs.text,
      createdAtEpochMs: options.createdAtEpochMs,
    });
    const parentStep =
      parent && functionID !== undefined
        ? {
            workflowID: parent.workflowID,
            ownerXid: parent.ownerXid,
            functionID,
            functionName: reg.name,
            startedAtEpochMs: now,
            rejectExisting: options.workflowIDReusePolicy === 'reject',
          }
        : undefined;
    const attempt = async (): Promise<string> => {
      const result = await insertOrFindDuplicate(this.db, row, parentStep, options.duplicationPolicy);
      if ('holder' in result) {
        // The holder is this call's outcome; inside a workflow it is recorded as the child start, so a replay agrees.
        if (parent && parentStep) {
          await checkpoint(this, parent, parentStep.functionID, reg.name, { childWorkflowID: result.holder, startedAtEpochMs: now, serialization: null });
        }
        return result.holder;
      }
      if (!result.parentOwned) throw new DBOSWorkflowConflictError(parent!.workflowID);
      if (!result.created) {
        const existing = result.existing;
        if (existing.name !== reg.name || (existing.className ?? '') !== reg.className) {
          throw new DBOSConflictingWorkflowError(
            workflowID,
            `it runs ${describe(existing.className ?? '', existing.name)}, not ${describe(reg.className, reg.name)}`,
          );
        }
        if ((existing.configName ?? '') !== (row.configName ?? '')) {
          throw new DBOSConflictingWorkflowError(
            workflowID,
            `it runs on instance ${JSON.stringify(existing.configName)}, not ${JSON.stringify(row.configName)}`,
          );
        }
        if (options.workflowIDReusePolicy === 'reject') throw new DBOSWorkflowIDInUseError(workflowID, existing.status, existing.name);
        return workflowID;
      }
      if (queueName) {
        this.enqueueListener?.workflowEnqueued(queueName, (options.delaySeconds ?? 0) > 0);
      } else {
        void this.run(reg, workflowID, ownerXid!, validatedArgs, deadline, null, row, instance);
      }
      return workflowID;
    };
    return parent && functionID !== undefined ? startChild(this, parent, functionID, reg.name, now, settle!, attempt) : attempt();
  }

  /** The configured instance an instance workflow runs on; DBOSNotRegisteredError before anything is written if none. */
  private requireInstance(reg: RegisteredWorkflow, instance: InstanceLike | undefined): InstanceLike {
    const name = describe(reg.className, reg.name);
    if (!instance) {
      throw new DBOSNotRegisteredError(
        name,
        `${name} is an instance method: call it on an instance of a class that extends ConfiguredInstance (its name is recorded, so recovery finds the instance again)`,
      );
    }
    if (findInstance(reg.className, instance.name) !== instance) {
      throw new DBOSNotRegisteredError(
        name,
        `${name} was called on an object that is not the ConfiguredInstance registered as ${describe(reg.className, instance.name)}`,
      );
    }
    return instance;
  }

  /** An enqueue to a queue this process does not know is accepted (it waits for the queue), with one warning. */
  async requireQueue(queueName: string, partitionKey: string | undefined): Promise<void> {
    await warnIfUndeclared(this, this.queueExists, this.logger, queueName, partitionKey);
  }

  /** The workflow's arguments as its input schema (if it has one) accepts them; DBOSInvalidWorkflowInputError if not. */
  validateArgs(reg: RegisteredWorkflow, args: unknown[]): unknown[] {
    if (!reg.config.inputSchema) return args;
    try {
      const parsed = reg.config.inputSchema.parse(args);
      return Array.isArray(parsed) ? parsed : args;
    } catch (err) {
      throw new DBOSInvalidWorkflowInputError(describe(reg.className, reg.name), err);
    }
  }

  // ---------------------------------------------------------------------------------------------- running

  /** Runs a claimed (dequeued or recovered) workflow: a replay if steps were recorded before. */
  runClaimed(claimed: ClaimedWorkflow, ownerXid: string): Promise<void> {
    const { row } = claimed;
    const reg = this.registry.find(row.className, row.name);
    const instance = row.configName ? findInstance(row.className, row.configName) : undefined;
    // What is written here is this claim's outcome: it waits out an outage as a run's writes do.
    return patiently({}, async () => {
      // A row this process cannot read fails alone, recorded as its outcome (fenced like any), before anything runs.
      const corrupt = unrunnableRow(row);
      if (corrupt) {
        this.logger.error(corrupt.message);
        // The failure is stored natively: an unreadable serialization name would make it unreadable too.
        if (row.problems.some((p) => p.column === 'serialization')) await setWorkflowSerialization(this.db, row.workflowID, ownerXid, NATIVE_SERIALIZATION);
        await completeWorkflow(this.db, row.workflowID, ownerXid, 'ERROR', null, serializeError(corrupt).text);
        alertWorkflowFailedInfrastructure(this.logger, row, corrupt.message, this.identity.executorID);
        this.wakeups.wake(outcomeKey(row.workflowID));
        return;
      }
      const unreadable = descriptiveProblems(row);
      if (unreadable.length > 0) this.logger.warn(`Workflow ${row.workflowID} runs, but some of its fields cannot be read: ${unreadable.join('; ')}`);
      if (!reg || (reg.instanceMethod && !instance)) {
        const name = describe(row.className ?? '', row.name);
        const err = !reg
          ? new DBOSNotRegisteredError(name)
          : new DBOSNotRegisteredError(
              name,
              `${name} runs on configured instance ${JSON.stringify(row.configName)} of ${row.className}, which this process has not created`,
            );
        this.logger.error(`Workflow ${row.workflowID}: ${err.message}`);
        await completeWorkflow(this.db, row.workflowID, ownerXid, 'ERROR', null, serializeError(err).text);
        alertWorkflowFailedInfrastructure(this.logger, row, err.message, this.identity.executorID);
        this.wakeups.wake(outcomeKey(row.workflowID));
        return;
      }
      const max = reg.config.maxRecoveryAttempts ?? 100;
      if (row.recoveryAttempts > max + 1) {
        await deadLetterWorkflow(this.db, row.workflowID, ownerXid);
        deadLettered.inc(row.name);
        this.logger.error(new DBOSMaxRecoveryAttemptsExceededError(row.workflowID, max).message);
        alertWorkflowDeadLettered(this.logger, row, max, this.identity.executorID);
        this.wakeups.wake(outcomeKey(row.workflowID));
        return;
      }
      let args: unknown[];
      try {
        args = decodeStored(row.workflowID, 'workflow_input.inputs', () => deserializeArgs(row.inputs, row.serialization));
      } catch (err) {
        this.logger.error((err as Error).message);
        await completeWorkflow(this.db, row.workflowID, ownerXid, 'ERROR', null, serializeError(err).text);
        alertWorkflowFailedInfrastructure(this.logger, row, (err as Error).message, this.identity.executorID);
        this.wakeups.wake(outcomeKey(row.workflowID));
        return;
      }
      const recorded = new Map<number, StepRow>(claimed.steps.map((s) => [s.functionID, s]));
      await this.run(reg, row.workflowID, ownerXid, args, row.deadlineEpochMS, recorded, row, instance);
    }).catch((err) => {
      if (!this.shuttingDown) this.logger.error(`Could not run claimed workflow ${row.workflowID}:`, err);
    });
  }

  private run(
    reg: RegisteredWorkflow,
    workflowID: string,
    ownerXid: string,
    args: unknown[],
    deadline: number | null,
    recorded: Map<number, StepRow> | null,
    row: Pick<WorkflowRow, 'authenticatedUser' | 'authenticatedRoles' | 'assumedRole' | 'serialization'> | NewWorkflow,
    instance?: InstanceLike,
  ): Promise<RunOutcome> {
    const roles = row.authenticatedRoles ? (JSON.parse(row.authenticatedRoles) as string[]) : [];
    const context = new WorkflowContext(
      workflowID,
      reg.name,
      ownerXid,
      recorded,
      deadline,
      this.identity.applicationName,
      row.authenticatedUser ?? null,
      roles,
      row.assumedRole ?? null,
    );
    const format: SerializationFormat = row.serialization === PORTABLE_SERIALIZATION ? 'portable' : 'native';
    context.serializationFormat = format;
    context.probe = this.probe; // TESTING HOOK: set by src/testing/ only
    const done = this.execute(reg, context, args, format, reg.instanceMethod ? instance : reg.thisArg);
    this.localRuns.set(workflowID, { context, done });
    return done;
  }

  private execute(reg: RegisteredWorkflow, ctx: WorkflowContext, args: unknown[], format: SerializationFormat, thisArg: unknown): Promise<RunOutcome> {
    // Everything the run writes waits out an outage until the run is stopped (src/sysdb/retry.ts).
    return patiently({ signal: ctx.signal }, () => this.executeBody(reg, ctx, args, format, thisArg));
  }

  private async executeBody(
    reg: RegisteredWorkflow,
    ctx: WorkflowContext,
    args: unknown[],
    format: SerializationFormat,
    thisArg: unknown,
  ): Promise<RunOutcome> {
    const disarm = this.armDeadline(ctx);
    let outcome: RunOutcome = { status: 'PARKED' };
    let failure: { error: unknown } | undefined;
    ctx.span = this.tracing?.startWorkflow(this.spanIdentity(ctx));
    const startedAt = performance.now();
    workflowsStarted.inc(reg.name);
    try {
      // Start the body on the next tick so the caller has the handle (and the run is in localRuns) first.
      await Promise.resolve();
      let value: unknown;
      try {
        value = await executionStorage.run({ workflow: ctx, executor: this }, () => reg.fn.apply(thisArg, args));
      } catch (error) {
        failure = { error };
      }
      // Checkpoints sent without waiting (data-source transactions) are in the database before the outcome is.
      while (ctx.pendingWrites.size > 0) await Promise.allSettled([...ctx.pendingWrites]);
      // TESTING HOOK (RunProbe, context.ts): a crash test may hold the run here, before its outcome is recorded.
      if (ctx.probe) await ctx.probe.at(ctx, { point: 'completing', functionID: ctx.peekFunctionID(), name: ctx.workflowName, error: failure?.error });
      // A stopped run records nothing: a cancellation is already recorded, and a run stopped by a shutdown or
      // interrupted by a failed write is resumed from its last checkpoint.
      if (ctx.stopped) return outcome;
      // A recorded step that could not be read fails the run, even if the workflow caught the error and went on.
      if (ctx.corruption) failure = { error: ctx.corruption };
      if (!failure) {
        let text: string | undefined;
        try {
          text = serializeValue(value, format, `the result of workflow ${ctx.workflowName}`).text;
        } catch (error) {
          failure = { error };
        }
        if (text !== undefined) {
          const ok = await persist(ctx, 'its outcome', () => completeWorkflow(this.db, ctx.workflowID, ctx.ownerXid, 'SUCCESS', text, null));
          if (ok) outcome = { status: 'SUCCESS', value };
          return outcome;
        }
      }
      const error = failure!.error;
      // A run that lost ownership records nothing: the database already holds the decision.
      if (error instanceof DBOSWorkflowCancelledError || error instanceof DBOSWorkflowConflictError) return outcome;
      const errorText = serializeError(error, format).text;
      const ok = await persist(ctx, 'its outcome', () => completeWorkflow(this.db, ctx.workflowID, ctx.ownerXid, 'ERROR', null, errorText));
      if (ok) {
        outcome = { status: 'ERROR', error };
        // Once, by the run that recorded it (a replay of a recorded failure, or an attach, logs nothing).
        executionStorage.run({ workflow: ctx, executor: this }, () => this.logger.error(`Workflow ${ctx.workflowID} (${ctx.workflowName}) failed:`, error));
      }
      return outcome;
    } catch (err) {
      if (!ctx.stopped && !this.shuttingDown) this.logger.error(`Could not record the outcome of workflow ${ctx.workflowID}:`, err);
      return outcome;
    } finally {
      disarm?.();
      if (outcome.status !== 'PARKED') {
        workflowsFinished.inc(reg.name, outcome.status);
        workflowDuration.observe((performance.now() - startedAt) / 1000, reg.name, outcome.status);
      }
      if (ctx.span) this.tracing!.end(ctx.span, failure?.error);
      if (ctx.stopped === 'shutdown') this.parked.set(ctx.workflowID, ctx.ownerXid);
      if (ctx.stopped === 'interrupted') this.retryInterrupted(ctx);
      if (outcome.status !== 'PARKED') for (const cleanUp of ctx.onOutcomeRecorded) cleanUp();
      // A workflow taken back to its queue may be claimed again by this process while the old run ends.
      if (this.localRuns.get(ctx.workflowID)?.context === ctx) this.localRuns.delete(ctx.workflowID);
      this.wakeups.wake(outcomeKey(ctx.workflowID));
    }
  }

  /** An interrupted run's workflow goes back to its queue (fenced by the run's token), to be tried again shortly. */
  private retryInterrupted(ctx: WorkflowContext): void {
    this.logger.error(ctx.interruption?.message ?? `Workflow ${ctx.workflowID} was interrupted`, ctx.interruption?.cause ?? '');
    void patiently({}, () => this.handBack([{ workflowID: ctx.workflowID, ownerXid: ctx.ownerXid }], INTERRUPTED_RETRY_DELAY_MS)).catch(
      (err) => this.logger.error(`Could not give workflow ${ctx.workflowID} back to its queue (recovery will):`, err),
    );
  }

  /** Gives workflows this process stopped running back to their queues, fenced by each run's token. */
  private async handBack(runs: { workflowID: string; ownerXid: string }[], delayMs: number | null): Promise<void> {
    const queues = await handBackWorkflows(this.db, runs, delayMs);
    if (!this.shuttingDown) for (const queue of queues) this.enqueueListener?.workflowEnqueued(queue, delayMs !== null);
  }

  /** Who a span is about: the run and this process. */
  spanIdentity(ctx: WorkflowContext): SpanIdentity {
    return {
      workflowID: ctx.workflowID,
      workflowName: ctx.workflowName,
      applicationVersion: this.identity.applicationVersion,
      executorID: this.identity.executorID,
      applicationID: this.identity.applicationID,
      authenticatedUser: ctx.authenticatedUser,
      authenticatedRoles: ctx.authenticatedRoles,
      assumedRole: ctx.assumedRole,
    };
  }

  /** A timer at the deadline cancels the workflow in the database, then stops the run (the sweep is the backstop). */
  private armDeadline(ctx: WorkflowContext): (() => void) | undefined {
    if (ctx.deadlineEpochMS === null) return undefined;
    return callAt(ctx.deadlineEpochMS, () => {
      void cancelWorkflow(this.db, ctx.workflowID)
        .catch((err) => this.logger.warn(`Could not cancel workflow ${ctx.workflowID} at its deadline:`, err))
        .finally(() => ctx.stop('cancelled'));
    });
  }

  /** Stops a local run (cancelled elsewhere, by the deadline sweep, or taken over); with `ownerXid`, only that run. */
  stopLocal(workflowID: string, ownerXid?: string): void {
    const run = this.localRuns.get(workflowID);
    if (run && (ownerXid === undefined || run.context.ownerXid === ownerXid)) run.context.stop('cancelled');
    this.wakeups.wake(outcomeKey(workflowID));
  }

  /** The runs in this process and the tokens they run under. */
  localRunOwners(): { workflowID: string; ownerXid: string }[] {
    return [...this.localRuns.values()].map((r) => ({ workflowID: r.context.workflowID, ownerXid: r.context.ownerXid }));
  }

  /** Why a fenced write wrote nothing: the workflow was cancelled, or another execution owns it now. */
  async ownershipLost(ctx: WorkflowContext): Promise<Error> {
    const outcome = await getWorkflowOutcome(this.db, ctx.workflowID).catch(() => undefined);
    if (outcome?.status === 'CANCELLED') {
      ctx.stop('cancelled');
      return new DBOSWorkflowCancelledError(ctx.workflowID);
    }
    return new DBOSWorkflowConflictError(ctx.workflowID);
  }

  // ---------------------------------------------------------------------------------------------- waiting

  /** The workflow's result (or its error thrown); a run in this process is awaited directly. */
  async getResult<T>(
    workflowID: string,
    wait: { deadlineEpochMS?: number; pollIntervalMs?: number; signal?: AbortSignal } = {},
  ): Promise<T | undefined> {
    const local = this.localRuns.get(workflowID);
    if (local && wait.deadlineEpochMS === undefined && !wait.signal) {
      // A cancelled run may be stuck in user code for a while; its waiters learn the outcome from the database.
      const stopped = new Promise<RunOutcome>((resolve) => {
        if (local.context.signal.aborted) resolve({ status: 'PARKED' });
        local.context.signal.addEventListener('abort', () => resolve({ status: 'PARKED' }), { once: true });
      });
      const outcome = await Promise.race([local.done, stopped]);
      if (outcome.status === 'SUCCESS') return outcome.value as T;
      if (outcome.status === 'ERROR') throw outcome.error;
    }
    const outcome = await awaitOutcome(this.db, this.wakeups, workflowID, {
      pollIntervalMs: wait.pollIntervalMs ?? this.pollIntervalMs,
      deadlineEpochMS: wait.deadlineEpochMS,
      signal: wait.signal,
    });
    if (!outcome) return undefined;
    return settleOutcome<T>(workflowID, outcome);
  }

  /** waitFirst / waitAll: the ID of the first workflow (or, with `all`, the last) to leave the active statuses. */
  async awaitFinished(workflowIDs: string[], all: boolean, pollIntervalMs?: number): Promise<string> {
    const id = await awaitFinished(this.db, this.wakeups, workflowIDs, all, { pollIntervalMs: pollIntervalMs ?? this.pollIntervalMs });
    return id!; // no deadline, so the wait only ends with an ID (or an error)
  }

  /**
   * Shutdown: lets local runs finish for up to `waitMs`, then stops the rest; each stops at its next durable operation,
   * and the steps they are in get up to `settleMs` to finish and be recorded.
   */
  async stopAll(waitMs: number, settleMs = SHUTDOWN_SETTLE_MS): Promise<void> {
    this.shuttingDown = true;
    await settled([...this.localRuns.values()], waitMs);
    for (const run of this.localRuns.values()) run.context.stop('shutdown');
    await settled([...this.localRuns.values()], settleMs);
  }

  /**
   * Shutdown, after stopAll: the workflows this process stopped running go back to their queues (fenced by each run's
   * token, so a run that lost its workflow meanwhile gives nothing back), and a live executor continues them at once.
   * A run still inside a step is given back too: if that step finishes now, its checkpoint is refused by the fence.
   * Returns whether everything went back (if not, the heartbeat lapses and another executor takes the rest over).
   */
  async handBackStopped(): Promise<boolean> {
    const runs = new Map(this.parked);
    for (const { workflowID, ownerXid } of this.localRunOwners()) runs.set(workflowID, ownerXid);
    this.parked.clear();
    if (runs.size === 0) return true;
    try {
      await this.handBack([...runs].map(([workflowID, ownerXid]) => ({ workflowID, ownerXid })), null);
      return true;
    } catch (err) {
      this.logger.warn(`Could not give ${runs.size} unfinished workflow(s) back to their queues at shutdown:`, err);
      return false;
    }
  }
}

/** Waits until these runs end, for at most `ms`. */
async function settled(runs: LocalRun[], ms: number): Promise<void> {
  if (runs.length === 0 || ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((r) => (timer = setTimeout(r, ms)));
  await Promise.race([Promise.all(runs.map((r) => r.done)), timeout]);
  clearTimeout(timer);
}
