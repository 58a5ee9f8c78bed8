// The workflow context: which workflow is running on this async path, the next function ID to hand out, the steps a
// replay found recorded, the deadline and the cancellation signal. It travels with AsyncLocalStorage, so user code
// needs no context parameter (as in DBOS).

import { AsyncLocalStorage } from 'node:async_hooks';
import { engineNow, installedClock } from './clock.js';
import { DBOSRunInterruptedError, DBOSWorkflowCancelledError } from '../errors.js';
import type { SerializationFormat } from '../serialization/index.js';
import type { StepRow } from '../sysdb/rows.js';
import { setLogFieldsSource, type Logger } from '../logger.js';
import type { SqlDriver } from '../sysdb/driver.js';
import type { Span, SpanIdentity, Tracing } from '../tracing/tracing.js';

/**
 * Why a run must stop at its next durable operation: the workflow was cancelled (or taken from this run), this
 * process is shutting down, or the system database could not record the run's progress (interrupted). Only a
 * cancellation is the workflow's outcome; the others leave it to be resumed from its last checkpoint.
 */
export type StopReason = 'cancelled' | 'shutdown' | 'interrupted';

export class WorkflowContext {
  /** Function IDs count from 0 and are handed out synchronously in call order, so replays see the same IDs. */
  private nextID = 0;
  private readonly abort = new AbortController();
  private stopReason?: StopReason;
  /** What interrupted the run (a write the system database refused), when it was. */
  interruption?: DBOSRunInterruptedError;
  /** The run's tracing span, when tracing is on; its steps' spans are its children. */
  span?: Span;
  /** The workflow's format (from its row): the default for the messages, events and stream values it writes. */
  serializationFormat: SerializationFormat = 'native';
  /**
   * A stream read of this workflow is waiting. A second one started meanwhile would take its function ID in the
   * order values happen to arrive, which a replay cannot reproduce, so it is refused (DBOSStreamNondeterminismError).
   */
  streamReadInFlight = false;
  /**
   * A recorded step of this workflow could not be read on replay (DBOSCorruptRowError). The run ends in ERROR with it
   * whatever the workflow code does with the error: going on past a step whose outcome is unknown would diverge.
   */
  corruption?: Error;
  /** Testing hook (src/testing/): set only by a crash or replay test's engine; see RunProbe. */
  probe?: RunProbe;
  /**
   * Checkpoints this run sent without waiting for them (a data source's transaction step, whose outcome its own
   * committed transaction already holds: src/datasources/core.ts). The outcome is written once they have settled.
   */
  readonly pendingWrites = new Set<Promise<unknown>>();
  /** Called once this run has recorded the workflow's outcome (SUCCESS or ERROR): best-effort clean-ups. */
  readonly onOutcomeRecorded: Array<() => void> = [];

  constructor(
    readonly workflowID: string,
    readonly workflowName: string,
    /** This run's ownership token; every write of the run is fenced by it. */
    readonly ownerXid: string,
    /** Steps recorded by earlier runs (a replay), or null for a fresh run, which knows nothing is recorded. */
    private readonly recorded: Map<number, StepRow> | null,
    readonly deadlineEpochMS: number | null,
    readonly applicationName: string,
    readonly authenticatedUser: string | null,
    readonly authenticatedRoles: string[],
    readonly assumedRole: string | null,
  ) {}

  nextFunctionID(): number {
    return this.nextID++;
  }

  /**
   * The ID nextFunctionID() would hand out, without taking it: a patch check that finds an older execution's step
   * there leaves the ID to that step. Read and decided on synchronously, like taking an ID.
   */
  peekFunctionID(): number {
    return this.nextID;
  }

  /** The recorded step at this function ID, if a previous run of this workflow got that far. */
  recordedStep(functionID: number): StepRow | undefined {
    return this.recorded?.get(functionID);
  }

  get isReplaying(): boolean {
    return this.recorded !== null && this.recorded.size > 0;
  }

  /** An earlier execution may have run part of this workflow (it was recovered or dequeued), even with no step recorded. */
  get mayHaveRunBefore(): boolean {
    return this.recorded !== null;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get stopped(): StopReason | undefined {
    return this.stopReason;
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.abort.abort(reason);
  }

  /** Stops the run because a write of its own failed; the error is what its code sees from then on. */
  interrupt(error: DBOSRunInterruptedError): void {
    if (this.stopReason) return;
    this.interruption = error;
    this.stop('interrupted');
  }

  /** Called before every durable operation: a cancelled or expired run goes no further. */
  throwIfStopped(): void {
    if (!this.stopReason && this.deadlineEpochMS !== null && engineNow() >= this.deadlineEpochMS) this.stop('cancelled');
    if (this.stopReason === 'interrupted' && this.interruption) throw this.interruption;
    if (this.stopReason) throw new DBOSWorkflowCancelledError(this.workflowID);
  }
}

/**
 * Where a run stands in one of its durable operations, as a RunProbe is told:
 * - `before`: the operation is about to run for the first time (nothing of it has happened yet);
 * - `replayed`: it is about to return what an earlier execution recorded at this function ID (`recorded`);
 * - `during`: a step's function has been called and has not returned yet (one event per attempt);
 * - `ran`: a step's attempt returned or threw, and nothing of its outcome is recorded yet;
 * - `after`: the operation is over (its checkpoint written, or it failed);
 * - `completing`: the workflow's function returned or threw, and its outcome is not recorded yet.
 */
export type ProbePoint = 'before' | 'replayed' | 'during' | 'ran' | 'after' | 'completing';

export interface ProbeEvent {
  point: ProbePoint;
  functionID: number;
  name: string;
  /** `before` and `replayed`: the step an earlier execution recorded at this function ID, if any. */
  recorded?: StepRow;
  /** A child start: the child's ID the code asks for (`before`, `replayed`), or the one it got (`after`). */
  childWorkflowID?: string;
  /** `during` and `ran`: the attempt (from 1). */
  attempt?: number;
  /** `after` and `completing`: the operation's (or the workflow's) error, when it threw. */
  error?: unknown;
}

/**
 * TESTING HOOK, never set in production (src/testing/ sets it on the executors of a crash or replay test): told of
 * every boundary of a run's durable operations (replay.ts, steps.ts) and of its end (executor.ts). A promise it
 * returns is awaited before the run goes on, so a crash test holds a run at a boundary forever (as a killed process
 * leaves it) and a replay test can refuse an operation the recorded history does not have (by throwing). Unset, it
 * costs one property check per operation.
 */
export interface RunProbe {
  at(ctx: WorkflowContext, event: ProbeEvent): void | Promise<void>;
}

export interface StepFrame {
  functionID: number;
  /** A data source's transaction (src/datasources), not a plain step. */
  transaction?: boolean;
  span?: Span;
  name: string;
  currentAttempt: number;
  maxAttempts: number;
}

/**
 * The executor's lease (src/queues/heartbeat.ts): whether this process may still start steps, and a way to renew it.
 * Without one (a client, a database without heartbeats) every step may start.
 */
export interface LeaseGuard {
  valid(): boolean;
  /** Resolves once the lease is valid again; runs taken over meanwhile have been stopped by then. */
  renew(): Promise<void>;
}

/**
 * The executor running a workflow, as the run's durable operations (steps, checkpoints, child starts, messaging) see
 * it: the part of Executor (executor.ts) they use, declared here so that they need not import the executor, which
 * imports them.
 */
export interface RunExecutor {
  readonly db: SqlDriver;
  readonly logger: Logger;
  /** Spans for workflows and steps, when tracing is on. */
  readonly tracing?: Tracing;
  /** Set by the queue layer once the heartbeat runs. */
  readonly lease?: LeaseGuard;
  /** Who a span is about: the run and this process. */
  spanIdentity(ctx: WorkflowContext): SpanIdentity;
  /** Why a fenced write wrote nothing: the workflow was cancelled, or another execution owns it now. */
  ownershipLost(ctx: WorkflowContext): Promise<Error>;
}

export interface ExecutionFrame {
  workflow: WorkflowContext;
  /** The executor running this workflow: durable operations inside it go to it, whatever the facade holds. */
  executor: RunExecutor;
  /** Set while a step's function runs; calls to steps inside it are plain calls. */
  step?: StepFrame;
}

export const executionStorage = new AsyncLocalStorage<ExecutionFrame>();

/** Set while a data source's transaction function runs (src/datasources), inside a workflow or outside one. */
export const transactionStorage = new AsyncLocalStorage<{ dataSource: string }>();

export function currentFrame(): ExecutionFrame | undefined {
  return executionStorage.getStore();
}

// JSON log lines made inside a workflow carry its ID, name, executor and the step running.
setLogFieldsSource(() => {
  const frame = executionStorage.getStore();
  if (!frame) return undefined;
  const { workflow, step } = frame;
  return {
    workflowID: workflow.workflowID,
    workflowName: workflow.workflowName,
    executorID: frame.executor.spanIdentity(workflow).executorID,
    ...(step ? { step: step.name, functionID: step.functionID } : {}),
  };
});

/** Options that apply to the next workflow started on this async path (withNextWorkflowID and friends). */
export interface NextStartOptions {
  workflowID?: string;
  timeoutMS?: number | null;
  queueName?: string;
  authenticatedUser?: string;
  authenticatedRoles?: string[];
}

export const nextStartStorage = new AsyncLocalStorage<NextStartOptions>();

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); longer waits are taken in pieces. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` at `epochMs`, however far away; returns a cancel function. */
export function callAt(epochMs: number, fn: () => void): () => void {
  const clock = installedClock(); // a test's virtual clock (clock.ts) keeps its own timers
  if (clock) return clock.callAt(epochMs, fn);
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = epochMs - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
    timer.unref?.();
  };
  arm();
  return () => clearTimeout(timer);
}

/** Sleeps until `ms` have passed or the signal fires; a stopped run throws at its next durable operation. */
export function sleepUnlessStopped(ms: number, signal?: AbortSignal): Promise<void> {
  return ms <= 0 ? Promise.resolve() : sleepUntil(engineNow() + ms, signal);
}

/**
 * Sleeps until the engine's clock reads `epochMs` (a recorded wake-up time: waiting for the difference instead would
 * end a little past it, by however long it took to compute) or the signal fires.
 */
export function sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (epochMs <= engineNow() || signal?.aborted) return resolve();
    // Held by a ref'd handle so a sleeping workflow keeps the process alive, as a plain setTimeout would.
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    const done = () => {
      cancel();
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = callAt(epochMs, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
