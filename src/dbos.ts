// The DBOS facade: the static API users call, source-compatible with @dbos-inc/dbos-sdk. It stays thin: it checks
// arguments, finds the running engine and forwards to it.

import {
  DBOSError,
  DBOSExecutorNotInitializedError,
  DBOSInvalidQueuePriorityError,
  DBOSNotRegisteredError,
} from './errors.js';
import { classOf, dualMethodDecorator, type DualMethodDecorator } from './decorators.js';
import { Dispatcher } from './queues/dispatcher.js';
import { findQueue, internalQueue } from './queues/workflow-queue.js';
import {
  getWorkflowStatus as readWorkflowStatus,
  listWorkflowStatuses,
  listWorkflowSteps as readWorkflowSteps,
  type GetWorkflowsInput,
  type StepInfo,
} from './management/inspect.js';
import {
  applicationNameOf,
  applicationVersionOf,
  executorIDOf,
  systemDatabaseLocation,
  type DBOSConfig,
} from './runtime/config.js';
import { currentFrame, nextStartStorage, type NextStartOptions } from './runtime/context.js';
import { Executor, type StartOptions } from './runtime/executor.js';
import { checkpointedResult, RuntimeWorkflowHandle, type WorkflowHandle } from './runtime/handle.js';
import { ConsoleLogger, type Logger } from './runtime/logger.js';
import { outcomeKey } from './runtime/outcome.js';
import { Registry, type AnyFunction, type RegisteredWorkflow, type StepConfig, type WorkflowConfig } from './runtime/registry.js';
import { builtinSteps, durableSleep, runStep } from './runtime/steps.js';
import type { WorkflowStatus } from './runtime/workflow-status.js';
import type { DriverStats, SqlDriver } from './sysdb/driver.js';
import { openSystemDatabase } from './sysdb/open.js';
import { INTERNAL_QUEUE } from './sysdb/rows.js';
import { getLatestApplicationVersion, registerApplicationVersion } from './sysdb/versions.js';
import { CANCEL_CHANNEL, cancelExpiredWorkflows, OUTCOME_CHANNEL, QUEUE_CHANNEL, requeuePendingWorkflows } from './sysdb/workflows.js';

export interface StartWorkflowParams {
  workflowID?: string;
  queueName?: string;
  /** A deadline for the workflow; null detaches a child from its parent's deadline. */
  timeoutMS?: number | null;
  enqueueOptions?: {
    deduplicationID?: string;
    priority?: number;
    queuePartitionKey?: string;
    delaySeconds?: number;
    applicationVersion?: string;
  };
  workflowIDReusePolicy?: 'return-existing' | 'reject';
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  workflowAttributes?: Record<string, unknown>;
}

/** `DBOS.startWorkflow(SomeClass)` turns each workflow method into one that starts it and returns a handle. */
export type WorkflowStarters<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<unknown> ? K : never]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<WorkflowHandle<R>>
    : never;
};

export type RegisterWorkflowOptions = WorkflowConfig & { name?: string; className?: string; ctorOrProto?: object };

interface Runtime {
  executor: Executor;
  db: SqlDriver;
  dispatcher: Dispatcher;
  sweep: NodeJS.Timeout;
  latestVersion: boolean;
}

const registry = new Registry();
let config: DBOSConfig = {};
let runtime: Runtime | undefined;
let launching: Promise<void> | undefined;
const defaultLogger = new ConsoleLogger();
let logger: Logger = defaultLogger;

function engine(what?: string): Executor {
  if (!runtime) throw new DBOSExecutorNotInitializedError(what);
  return runtime.executor;
}

function workflowWrapper(reg: RegisteredWorkflow): AnyFunction {
  // Calling a workflow function is starting it and waiting for its result; inside a workflow both are checkpointed.
  const wrapper = function (...args: unknown[]): Promise<unknown> {
    const executor = engine(`Calling workflow ${reg.name}`);
    return checkpointedResult(executor, executor.start(reg, args));
  };
  Object.defineProperty(wrapper, 'name', { value: reg.name });
  return wrapper;
}

function stepWrapper(fn: AnyFunction, name: string, stepConfig: StepConfig): AnyFunction {
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    if (!runtime) return Promise.resolve().then(() => fn.apply(this, args));
    return runStep(runtime.executor, () => fn.apply(this, args), name, stepConfig);
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  return wrapper;
}

function toStartOptions(params: StartWorkflowParams = {}): StartOptions {
  const enqueue = params.enqueueOptions;
  if (enqueue && !params.queueName) {
    throw new DBOSError('enqueueOptions need a queueName: they only apply to workflows started on a queue');
  }
  const priority = enqueue?.priority;
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 2147483647)) {
    throw new DBOSInvalidQueuePriorityError(priority);
  }
  return {
    workflowID: params.workflowID,
    queueName: params.queueName,
    timeoutMS: params.timeoutMS,
    deduplicationID: enqueue?.deduplicationID,
    priority,
    queuePartitionKey: enqueue?.queuePartitionKey,
    delaySeconds: enqueue?.delaySeconds,
    workflowIDReusePolicy: params.workflowIDReusePolicy,
    authenticatedUser: params.authenticatedUser,
    authenticatedRoles: params.authenticatedRoles,
    attributes: params.workflowAttributes,
  };
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** Runs `fn` as a checkpointed step inside a workflow (management calls are recorded, dbos-spec §3.1). */
function asStep<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!runtime || !currentFrame()) return fn();
  return runStep(runtime.executor, fn, name, {});
}

export class DBOS {
  // ------------------------------------------------------------------------------------------- lifecycle

  static setConfig(newConfig: DBOSConfig): void {
    config = { ...newConfig };
    logger = newConfig.logger ?? defaultLogger;
    if (!newConfig.logger) defaultLogger.setLevel(newConfig.logLevel ?? 'info');
  }

  static getConfig(): DBOSConfig {
    return { ...config };
  }

  static async launch(): Promise<void> {
    if (runtime) return;
    if (launching) return launching;
    launching = launchRuntime().finally(() => (launching = undefined));
    return launching;
  }

  static async shutdown(options: { deregister?: boolean; workflowCompletionTimeoutMS?: number } = {}): Promise<void> {
    if (launching) await launching.catch(() => {});
    const current = runtime;
    runtime = undefined;
    if (current) {
      clearInterval(current.sweep);
      await current.dispatcher.stop();
      await current.executor.stopAll(options.workflowCompletionTimeoutMS ?? 0);
      await current.db.close();
    }
    if (options.deregister) registry.clear();
  }

  static isInitialized(): boolean {
    return runtime !== undefined;
  }

  static get logger(): Logger {
    return logger;
  }

  static get executorID(): string {
    return runtime?.executor.identity.executorID ?? executorIDOf(config);
  }

  static get applicationVersion(): string {
    return engine('DBOS.applicationVersion').identity.applicationVersion;
  }

  // ------------------------------------------------------------------------------------------- registration

  static registerWorkflow<This, Args extends unknown[], Return>(
    fn: (this: This, ...args: Args) => Promise<Return>,
    options: RegisterWorkflowOptions = {},
  ): (this: This, ...args: Args) => Promise<Return> {
    const { name, className, ctorOrProto, ...workflowConfig } = options;
    const owner = ctorOrProto ? classOf(ctorOrProto) : undefined;
    const reg: RegisteredWorkflow = {
      name: name ?? fn.name,
      className: className ?? owner?.name ?? '',
      fn,
      thisArg: owner?.isStatic ? ctorOrProto : undefined,
      config: workflowConfig,
      wrapper: undefined as never,
    };
    if (!reg.name) throw new DBOSError('registerWorkflow needs a named function or a name option');
    reg.wrapper = workflowWrapper(reg);
    registry.add(reg);
    return reg.wrapper as (this: This, ...args: Args) => Promise<Return>;
  }

  static registerStep<This, Args extends unknown[], Return>(
    fn: (this: This, ...args: Args) => Promise<Return> | Return,
    options: StepConfig = {},
  ): (this: This, ...args: Args) => Promise<Return> {
    const name = options.name ?? fn.name;
    return stepWrapper(fn, name, options) as (this: This, ...args: Args) => Promise<Return>;
  }

  static runStep<Return>(fn: () => Promise<Return> | Return, options: StepConfig = {}): Promise<Return> {
    const name = options.name ?? fn.name ?? 'step';
    if (!runtime) return Promise.resolve().then(fn);
    return runStep(runtime.executor, fn, name, options);
  }

  /** `@DBOS.workflow()`: works with legacy experimentalDecorators and with standard decorators. */
  static workflow(workflowConfig: WorkflowConfig = {}): DualMethodDecorator {
    let reg: RegisteredWorkflow | undefined;
    return dualMethodDecorator(
      (method) => {
        reg = {
          name: workflowConfig.name ?? method.name,
          className: '',
          fn: method.fn,
          thisArg: undefined,
          config: workflowConfig,
          wrapper: undefined as never,
        };
        reg.wrapper = workflowWrapper(reg);
        return reg.wrapper;
      },
      (_method, owner) => {
        const cls = classOf(owner);
        reg!.className = cls.name;
        reg!.thisArg = cls.isStatic ? owner : undefined;
        registry.add(reg!);
        // Compilers that lower standard decorators (esbuild, so tsx) run initializers while the class still has a
        // temporary name, and give it its real name when the definition ends: record the name it ends up with.
        queueMicrotask(() => {
          const final = classOf(owner).name;
          if (final === reg!.className) return;
          const provisional = reg!.className;
          reg!.className = final;
          registry.rekey(reg!, provisional);
        });
      },
    );
  }

  /** `@DBOS.step()`: works with legacy experimentalDecorators and with standard decorators. */
  static step(stepConfig: StepConfig = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => stepWrapper(method.fn, stepConfig.name ?? method.name, stepConfig),
      () => {},
    );
  }

  // ------------------------------------------------------------------------------------------- starting

  static startWorkflow<Args extends unknown[], Return>(
    target: (...args: Args) => Promise<Return>,
    params?: StartWorkflowParams,
  ): (...args: Args) => Promise<WorkflowHandle<Return>>;
  static startWorkflow<T extends object>(target: T, params?: StartWorkflowParams): WorkflowStarters<T>;
  static startWorkflow(target: unknown, params?: StartWorkflowParams): unknown {
    const starter = (fn: AnyFunction) => {
      return (...args: unknown[]): Promise<WorkflowHandle<unknown>> => {
        try {
          const reg = registry.forFunction(fn);
          if (!reg) throw new DBOSNotRegisteredError(fn.name || 'anonymous function');
          const executor = engine('DBOS.startWorkflow');
          return executor.start(reg, args, toStartOptions(params)).then((id) => new RuntimeWorkflowHandle(executor, id));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    };
    if (typeof target === 'function' && (registry.forFunction(target as AnyFunction) || !isClass(target))) {
      return starter(target as AnyFunction);
    }
    return new Proxy(target as object, {
      get(obj, prop) {
        const member = (obj as Record<string | symbol, unknown>)[prop];
        if (typeof member !== 'function') return member;
        return starter(member as AnyFunction);
      },
    });
  }

  static retrieveWorkflow<T = unknown>(workflowID: string): WorkflowHandle<T> {
    return new RuntimeWorkflowHandle<T>(engine('DBOS.retrieveWorkflow'), workflowID);
  }

  static getWorkflowStatus(workflowID: string): Promise<WorkflowStatus | null> {
    return new RuntimeWorkflowHandle(engine('DBOS.getWorkflowStatus'), workflowID).getStatus();
  }

  /** The workflow's result; null if it does not finish within `timeoutSeconds`. */
  static async getResult<T = unknown>(
    workflowID: string,
    timeout?: number | { timeoutSeconds?: number; pollingIntervalMs?: number },
  ): Promise<T | null> {
    const executor = engine('DBOS.getResult');
    const options = typeof timeout === 'number' ? { timeoutSeconds: timeout } : (timeout ?? {});
    if (options.timeoutSeconds === undefined) return checkpointedResult<T>(executor, workflowID, options.pollingIntervalMs);
    const deadlineEpochMS = Date.now() + options.timeoutSeconds * 1000;
    const value = await asStep('DBOS.getResult', async () => {
      const result = await executor.getResult<T>(workflowID, { deadlineEpochMS, pollIntervalMs: options.pollingIntervalMs });
      return result === undefined ? null : result;
    });
    return value;
  }

  static withNextWorkflowID<R>(workflowID: string, callback: () => Promise<R>): Promise<R> {
    return withNextStart({ workflowID }, callback);
  }

  static withWorkflowTimeout<R>(timeoutMS: number | null, callback: () => Promise<R>): Promise<R> {
    return withNextStart({ timeoutMS }, callback);
  }

  static withWorkflowQueue<R>(queueName: string, callback: () => Promise<R>): Promise<R> {
    return withNextStart({ queueName }, callback);
  }

  static withAuthedContext<R>(authenticatedUser: string, authenticatedRoles: string[], callback: () => Promise<R>): Promise<R> {
    return withNextStart({ authenticatedUser, authenticatedRoles }, callback);
  }

  // ------------------------------------------------------------------------------------------- durable time and values

  static sleepms(ms: number): Promise<void> {
    if (!runtime) return new Promise((r) => setTimeout(r, Math.max(0, ms)));
    return durableSleep(runtime.executor, ms);
  }

  static sleep(ms: number): Promise<void> {
    return DBOS.sleepms(ms);
  }

  static sleepSeconds(seconds: number): Promise<void> {
    return DBOS.sleepms(seconds * 1000);
  }

  static now(): Promise<number> {
    if (!runtime) return Promise.resolve(Date.now());
    return builtinSteps.now(runtime.executor);
  }

  static randomUUID(): Promise<string> {
    if (!runtime) return Promise.resolve(crypto.randomUUID());
    return builtinSteps.randomUUID(runtime.executor);
  }

  // ------------------------------------------------------------------------------------------- context

  static get workflowID(): string | undefined {
    return currentFrame()?.workflow.workflowID;
  }

  static get stepID(): number | undefined {
    return currentFrame()?.step?.functionID;
  }

  static get stepStatus(): { stepID: number; currentAttempt: number; maxAttempts: number } | undefined {
    const step = currentFrame()?.step;
    return step ? { stepID: step.functionID, currentAttempt: step.currentAttempt, maxAttempts: step.maxAttempts } : undefined;
  }

  static get authenticatedUser(): string {
    return currentFrame()?.workflow.authenticatedUser ?? '';
  }

  static get authenticatedRoles(): string[] {
    return currentFrame()?.workflow.authenticatedRoles ?? [];
  }

  static get assumedRole(): string {
    return currentFrame()?.workflow.assumedRole ?? '';
  }

  /** In workflow code itself (not inside one of its steps). */
  static isInWorkflow(): boolean {
    const frame = currentFrame();
    return frame !== undefined && frame.step === undefined;
  }

  /** Anywhere within a workflow, steps included. */
  static isWithinWorkflow(): boolean {
    return currentFrame() !== undefined;
  }

  static isInStep(): boolean {
    return currentFrame()?.step !== undefined;
  }

  static isInTransaction(): boolean {
    return false;
  }

  // ------------------------------------------------------------------------------------------- management

  static listWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    const executor = engine('DBOS.listWorkflows');
    return asStep('DBOS.listWorkflows', () => listWorkflowStatuses(executor.db, input, executor.identity.applicationName));
  }

  static listQueuedWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    const executor = engine('DBOS.listQueuedWorkflows');
    const queued = { ...input, queuesOnly: true, status: input.status ?? ['ENQUEUED', 'PENDING', 'DELAYED'], loadOutput: false };
    return asStep('DBOS.listQueuedWorkflows', () => listWorkflowStatuses(executor.db, queued, executor.identity.applicationName));
  }

  static listWorkflowSteps(workflowID: string): Promise<StepInfo[] | undefined> {
    const executor = engine('DBOS.listWorkflowSteps');
    return asStep('DBOS.listWorkflowSteps', () => readWorkflowSteps(executor.db, workflowID));
  }

  static getWorkflow(workflowID: string): Promise<WorkflowStatus | null> {
    const executor = engine('DBOS.getWorkflow');
    return readWorkflowStatus(executor.db, workflowID);
  }

  static cancelWorkflow(workflowID: string): Promise<void> {
    const executor = engine('DBOS.cancelWorkflow');
    return asStep('DBOS.cancelWorkflow', async () => {
      await executor.cancel(workflowID);
    });
  }
}

/** Round trips issued by this process's system database so far (benchmarks and tests; not part of the public API). */
export function systemDatabaseStats(): DriverStats | undefined {
  return runtime?.db.stats;
}

function withNextStart<R>(options: NextStartOptions, callback: () => Promise<R>): Promise<R> {
  const outer = nextStartStorage.getStore();
  return nextStartStorage.run({ ...outer, ...options }, callback);
}

async function launchRuntime(): Promise<void> {
  const appName = applicationNameOf(config);
  const location = systemDatabaseLocation(config, appName);
  const executorID = executorIDOf(config);
  const applicationVersion = applicationVersionOf(config, appName, registry.all());
  const db = await openSystemDatabase(location, {
    migrate: config.runMigrations ?? true,
    poolSize: config.systemDatabasePoolSize,
    applicationName: `dbos_transact_${executorID}_${applicationVersion}`.slice(0, 63),
    retryTimeoutMs: config.databaseRetryTimeoutMs,
    sqliteSynchronous: config.sqliteSynchronous,
  });
  try {
    const pollIntervalMs = config.pollingIntervalMs ?? (location.kind === 'postgres' ? 1000 : 250);
    const executor = new Executor(
      db,
      registry,
      { executorID, applicationVersion, applicationName: appName, applicationID: process.env.DBOS__APPID ?? null },
      logger,
      pollIntervalMs,
      (name) => findQueue(name) !== undefined,
    );
    const state: Runtime = { executor, db, dispatcher: undefined as never, sweep: undefined as never, latestVersion: true };
    state.dispatcher = new Dispatcher(executor, () => state.latestVersion);
    executor.enqueueListener = { workflowEnqueued: (queue) => state.dispatcher.wake(queue) };

    if (config.useListenNotify !== false) {
      await db.listen([OUTCOME_CHANNEL, CANCEL_CHANNEL, QUEUE_CHANNEL], {
        onNotification(channel, payload) {
          if (channel === OUTCOME_CHANNEL) executor.wakeups.wake(outcomeKey(payload));
          else if (channel === CANCEL_CHANNEL) executor.stopLocal(payload);
          else if (channel === QUEUE_CHANNEL) state.dispatcher.wake(payload);
        },
        onReconnect() {
          executor.wakeups.wakeAll();
          state.dispatcher.wakeAll();
        },
      });
    }

    await registerApplicationVersion(db, applicationVersion, appName);
    state.latestVersion = (await getLatestApplicationVersion(db, appName)) === applicationVersion;
    if (!state.latestVersion) {
      logger.warn(`Application version ${applicationVersion} is not the latest; it will not take workflows enqueued without a version`);
    }

    const recovered = await requeuePendingWorkflows(db, executorID, applicationVersion, appName);
    if (recovered.length > 0) logger.info(`Recovering ${recovered.length} workflow(s) left unfinished by executor ${executorID}`);

    void internalQueue; // declared at module load; the dispatcher always serves it
    state.dispatcher.start();
    state.sweep = setInterval(() => {
      cancelExpiredWorkflows(db, appName)
        .then((ids) => ids.forEach((id) => executor.stopLocal(id)))
        .catch((err) => logger.debug('Deadline sweep failed:', err));
    }, 1000);
    state.sweep.unref();
    runtime = state;
    if (recovered.length > 0) state.dispatcher.wake(INTERNAL_QUEUE);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
