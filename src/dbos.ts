// The DBOS facade: the static API users call, source-compatible with @dbos-inc/dbos-sdk. It stays thin: it checks
// arguments, finds the running engine and forwards to it.

import {
  DBOSConflictingRegistrationError,
  DBOSError,
  DBOSExecutorNotInitializedError,
  DBOSInitializationError,
  DBOSInvalidWorkflowInputError,
  DBOSInvalidScheduleError,
  DBOSNotRegisteredError,
} from './errors.js';
import { classOf, dualMethodDecorator, setClassName, type DualMethodDecorator } from './decorators.js';
import { registerNativeRecipe, type SerializationRecipe } from './serialization/native.js';
import { getEvent, setEvent } from './messaging/events.js';
import { recv, send } from './messaging/messages.js';
import type { RuntimeMessagingEnv } from './messaging/operation.js';
import type {
  GetEventOptions,
  ReadStreamOffsetOptions,
  ReadStreamOptions,
  RecvOptions,
  SendOptions,
  SetEventOptions,
  WriteStreamOptions,
} from './messaging/options.js';
import { closeStream, readStream, readStreamOffset, writeStream } from './messaging/streams.js';
import type { QueueService } from './queues/service.js';
import type { RegisterQueueOptions, WorkflowQueue } from './queues/workflow-queue.js';
import {
  cancelWorkflows,
  deleteWorkflows,
  forkWorkflow,
  latestApplicationVersion,
  listApplicationVersions,
  resumeWorkflows,
  rewindWorkflow,
  setLatestApplicationVersion,
  setWorkflowDelay,
  setWorkflowPriority,
  type ForkOptions,
  type RewindOptions,
  type VersionInfo,
  type WorkflowDelay,
} from './management/control.js';
import {
  getWorkflowStatus as readWorkflowStatus,
  listWorkflowStatuses,
  listWorkflowSteps as readWorkflowSteps,
  type GetWorkflowsInput,
  type ListWorkflowStepsOptions,
  type StepInfo,
} from './management/inspect.js';
import { executorIDOf, logLevelOf, systemDatabaseLocation, type DBOSConfig } from './runtime/config.js';
import { currentFrame, nextStartStorage, type NextStartOptions, type RunExecutor } from './runtime/context.js';
import type { Executor, StartOptions } from './runtime/executor.js';
import { checkpointedResult, RuntimeWorkflowHandle, type WorkflowHandle } from './runtime/handle.js';
import { ConsoleLogger, type Logger } from './logger.js';
import { allInstances, clearInstances } from './runtime/instances.js';
import { ConfiguredInstance } from './configured-instance.js';
import { Registry, type AnyFunction, type RegisteredWorkflow, type StepConfig, type WorkflowConfig } from './runtime/registry.js';
import { builtinSteps, durableSleep, runEngineStep, runStep } from './runtime/steps.js';
import { deprecatePatch, patch } from './runtime/patching.js';
import type { WorkflowStatus } from './runtime/workflow-status.js';
import type { DriverStats } from './sysdb/driver.js';
import type { Span, Tracer } from './tracing/public.js';
import { launchRuntime, stopRuntime, type Runtime } from './launch.js';
import { enqueueByName, type EnqueueWorkflowOptions } from './runtime/enqueue-by-name.js';
import { migrateSystemDatabase } from './sysdb/open.js';
import { checkSchedulerConfig, declareScheduled, forgetDeclaredSchedules, type ScheduledArgs, type SchedulerConfig } from './scheduler/declared.js';
import * as schedules from './scheduler/schedules.js';
import type { ListSchedulesFilters, ScheduleEnv, ScheduleOptions, ScheduleUpdate, WorkflowSchedule } from './scheduler/schedules.js';
import { INTERNAL_QUEUE } from './sysdb/rows.js';
import { checkClassName, checkFunctionName, checkSleepMs, checkStepConfig } from './validation.js';
import { toStartOptions, type StartWorkflowParams } from './runtime/start-params.js';

export type { StartWorkflowParams } from './runtime/start-params.js';
import { clearAlertHandler, setAlertHandler, settleAlerts, type AlertHandler } from './alerts/alerts.js';
import { forgetDeclaredQueues } from './queues/workflow-queue.js';
import * as info from './registry-info.js';

/** `DBOS.startWorkflow(SomeClass)` turns each workflow method into one that starts it and returns a handle. */
export type WorkflowStarters<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<unknown> ? K : never]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<WorkflowHandle<R>>
    : never;
};

export type RegisterWorkflowOptions = WorkflowConfig & { name?: string; className?: string; ctorOrProto?: object };

/** A workflow a 5.x schedule runs: `(scheduledDate, context)`. */
export type ScheduledWorkflowFn = (scheduledDate: Date, context: never) => Promise<unknown>;

/** One schedule for DBOS.applySchedules. */
export interface ScheduleDefinition extends ScheduleOptions {
  scheduleName: string;
  workflowFn: ScheduledWorkflowFn;
  schedule: string;
  context?: unknown;
}

/** An add-on (an event receiver, say) that starts once the engine is launched and stops before it shuts down. */
export interface DBOSLifecycleCallback {
  initialize?(): Promise<void>;
  destroy?(): Promise<void>;
  logRegisteredEndpoints?(): void;
}

const registry = new Registry();
let config: DBOSConfig = {};
let runtime: Runtime | undefined;
/** Every runtime by its engine, so a workflow's durable calls reach the engine running it (see current()). */
const runtimesByExecutor = new WeakMap<RunExecutor, Runtime>();

/**
 * The runtime serving this call: inside a workflow, the one running it (also while launch or shutdown is under way,
 * when the facade holds none); elsewhere, the launched one.
 */
function current(): Runtime | undefined {
  const executor = currentFrame()?.executor;
  return (executor && runtimesByExecutor.get(executor)) ?? runtime;
}
let launching: Promise<void> | undefined;
/** Event receivers and other add-ons started after launch and stopped before shutdown (registerLifecycleCallback). */
const lifecycleCallbacks = new Set<DBOSLifecycleCallback>();
const defaultLogger = new ConsoleLogger();
let logger: Logger = defaultLogger;

/** The engine for a durable call here: inside a workflow the one running it (never none), elsewhere the launched one. */
function executorHere(): RunExecutor | undefined {
  return currentFrame()?.executor ?? current()?.executor;
}

function engine(what?: string): Executor {
  const rt = current();
  if (!rt) throw new DBOSExecutorNotInitializedError(what);
  return rt.executor;
}

/** Runs a messaging operation on the launched runtime; a failure to start it is a rejected promise, as in DBOS. */
function withMessaging<R>(what: string, operation: (rt: RuntimeMessagingEnv) => Promise<R>): Promise<R> {
  try {
    const rt = current();
    if (!rt) throw new DBOSExecutorNotInitializedError(what);
    return operation(rt.messaging);
  } catch (err) {
    return Promise.reject(err);
  }
}

function queueService(what: string): QueueService {
  const rt = current();
  if (!rt) throw new DBOSExecutorNotInitializedError(what);
  return rt.queues;
}

function workflowWrapper(reg: RegisteredWorkflow): AnyFunction {
  // Calling a workflow function is starting it and waiting for its result; inside a workflow both are checkpointed.
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const executor = engine(`Calling workflow ${reg.name}`);
    return checkpointedResult(executor, executor.start(reg, args, instanceOption(reg, this)));
  };
  Object.defineProperty(wrapper, 'name', { value: reg.name });
  return wrapper;
}

/** `this` of an instance workflow's call, when it is a configured instance (the executor rejects anything else). */
function instanceOption(reg: RegisteredWorkflow, self: unknown): StartOptions {
  return reg.instanceMethod && self instanceof ConfiguredInstance ? { instance: self } : {};
}

function stepWrapper(fn: AnyFunction, name: string, stepConfig: StepConfig): AnyFunction {
  checkStep(name, stepConfig);
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // Inside a workflow the engine running it records the step, whatever the facade holds at this moment.
    const executor = executorHere();
    if (!executor) return Promise.resolve().then(() => fn.apply(this, args));
    return runStep(executor, () => fn.apply(this, args), name, stepConfig);
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  info.noteStep(fn, wrapper, name, stepConfig);
  return wrapper;
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** Stops the add-ons, last started first; one that fails to stop is logged and does not keep the others running. */
async function destroyCallbacks(): Promise<void> {
  for (const callback of [...lifecycleCallbacks].reverse()) {
    try {
      await callback.destroy?.();
    } catch (err) {
      logger.warn('A lifecycle callback failed to stop:', err);
    }
  }
}

/** Each configured instance's `initialize()`, in creation order; a failure fails the launch. */
async function initializeInstances(): Promise<void> {
  for (const instance of allInstances()) await instance.initialize?.();
}

/** A step's name and configuration, checked where it is declared (or run, for DBOS.runStep). */
function checkStep(name: string, stepConfig: StepConfig): void {
  if (name) checkFunctionName('step name', name);
  checkStepConfig(name || 'step', stepConfig);
}

/** Runs `fn` as a checkpointed step inside a workflow (management calls are recorded, dbos-spec §3.1). */
function asStep<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const frame = currentFrame();
  if (!frame) return fn();
  return runEngineStep(frame.executor, fn, name);
}

export class DBOS {
  // ------------------------------------------------------------------------------------------- lifecycle

  static setConfig(newConfig: DBOSConfig): void {
    config = { ...newConfig };
    logger = newConfig.logger ?? defaultLogger;
    if (!newConfig.logger) defaultLogger.setLevel(logLevelOf(newConfig));
  }

  static getConfig(): DBOSConfig {
    return { ...config };
  }

  static async launch(): Promise<void> {
    if (runtime) return;
    if (launching) return launching;
    info.sealRegistrations(true); // from here on, a workflow registered now would be unknown to recovery
    // Configured instances are set up before anything runs: recovery and dispatch may call their workflows at once.
    launching = initializeInstances()
      .then(() => launchRuntime(config, registry, logger, (ready) => runtimesByExecutor.set(ready.executor, ready)))
      .then(async (launched) => {
        runtime = launched;
        try {
          for (const callback of lifecycleCallbacks) await callback.initialize?.();
        } catch (err) {
          // Half-started add-ons are stopped with the engine, so a failed launch leaves nothing running.
          await destroyCallbacks();
          runtime = undefined;
          await stopRuntime(launched, 0);
          throw err;
        }
        DBOS.logRegisteredEndpoints();
      })
      .catch((err) => {
        info.sealRegistrations(false);
        throw err;
      })
      .finally(() => (launching = undefined));
    return launching;
  }

  static async shutdown(options: { deregister?: boolean; workflowCompletionTimeoutMS?: number } = {}): Promise<void> {
    if (launching) await launching.catch(() => {});
    const stopping = runtime;
    if (stopping) await destroyCallbacks(); // receivers stop taking events while the engine can still record them
    runtime = undefined;
    if (stopping) await stopRuntime(stopping, options.workflowCompletionTimeoutMS ?? 0);
    if (stopping) await settleAlerts();
    if (!runtime && !launching) info.sealRegistrations(false);
    if (options.deregister) forgetRegistrations(false);
  }

  /**
   * Forgets every registration (workflows, configured instances, queues declared in code, schedules declared in code,
   * add-ons, registration info, the alert handler); for tests and development, never while launched. Functions
   * registered before may not be used afterwards; register the original functions again instead.
   */
  static clearRegistry(): void {
    if (runtime || launching) throw new DBOSError('DBOS.clearRegistry cannot be called while DBOS is launched: shut down first');
    forgetRegistrations(true);
  }

  /** Registers an add-on to start after each launch (`initialize`) and stop before each shutdown (`destroy`). */
  static registerLifecycleCallback(callback: DBOSLifecycleCallback): void {
    lifecycleCallbacks.add(callback);
  }

  /**
   * Creates or migrates a system database without launching (typically as a privileged role), and optionally grants
   * `applicationRole` what the application needs at run time, for processes launched with `runMigrations: false`.
   * PostgreSQL or `sqlite:` URLs; SQLite has no roles, so a role is ignored there.
   */
  static async migrate(systemDatabaseUrl: string, options: { schemaName?: string; applicationRole?: string } = {}): Promise<void> {
    const location = systemDatabaseLocation({ systemDatabaseUrl, systemDatabaseSchemaName: options.schemaName }, 'migrate');
    await migrateSystemDatabase(location, { applicationRole: options.applicationRole });
  }

  static isInitialized(): boolean {
    return runtime !== undefined;
  }

  /** The tracer of this process's workflow and step spans, for spans of the application's own; undefined when tracing is off. */
  static get tracer(): Tracer | undefined {
    return current()?.executor.tracing?.tracer;
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
      instanceMethod: owner ? !owner.isStatic : false,
      config: workflowConfig,
      wrapper: undefined as never,
    };
    if (!reg.name) throw new DBOSError('registerWorkflow needs a named function or a name option');
    checkFunctionName('workflow name', reg.name);
    if (reg.className) checkClassName('class name', reg.className);
    info.ensureRegistrationOpen(`Workflow ${reg.className ? `${reg.className}.` : ''}${reg.name}`);
    reg.wrapper = workflowWrapper(reg);
    registry.add(reg);
    info.noteWorkflow(reg, { ctorOrProto, className });
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
    try {
      checkStep(name, options);
    } catch (err) {
      return Promise.reject(err);
    }
    const executor = executorHere();
    if (!executor) return Promise.resolve().then(fn);
    return runStep(executor, fn, name, options);
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
        checkFunctionName('workflow name', reg.name);
        reg.wrapper = workflowWrapper(reg);
        info.noteWorkflow(reg);
        return reg.wrapper;
      },
      (method, owner) => {
        const cls = classOf(owner);
        info.ensureBindingOpen(`Workflow ${cls.name ? `${cls.name}.` : ''}${reg!.name}`, owner);
        info.placeRegistered(method.fn, owner);
        reg!.className = cls.name;
        reg!.thisArg = cls.isStatic ? owner : undefined;
        reg!.instanceMethod = !cls.isStatic;
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

  /**
   * `@DBOS.className(name)` on a class: its workflows are registered (and recorded) under `name` instead of the
   * constructor's name, which minifiers and bundlers change. Both decorator styles.
   */
  static className(name: string): <T extends new (...args: any[]) => object>(ctor: T, context?: unknown) => void {
    if (!name) throw new DBOSInitializationError('DBOS.className needs a non-empty name');
    return (ctor) => setClassName(ctor, name);
  }

  /**
   * Teaches the native format a type of your own (call before launch): values for which `isApplicable` holds are
   * stored as `serialize(value)` under `name`, and read back with `deserialize`. DBOS's recipe shape.
   */
  static registerSerialization<T, S>(recipe: SerializationRecipe<T, S>): void {
    registerNativeRecipe(recipe);
  }

  /** Logs what each add-on (event receiver) listens to; launch does this once. */
  static logRegisteredEndpoints(): void {
    for (const callback of lifecycleCallbacks) callback.logRegisteredEndpoints?.();
  }

  /** An add-on's (`external`'s) config object for class `cls` (created empty on first use), as in DBOS. */
  static associateClassWithInfo(external: info.RegistrationOwner, cls: (new (...args: any[]) => object) | string): object { // eslint-disable-line @typescript-eslint/no-explicit-any
    return info.associateClassWithInfo(external, cls);
  }

  /** An add-on's config object for function `func` (its registration is shared with @DBOS.workflow / registerWorkflow). */
  static associateFunctionWithInfo<This, Args extends unknown[], Return>(
    external: info.RegistrationOwner,
    func: (this: This, ...args: Args) => Promise<Return>,
    target: info.FunctionName,
  ): { registration: info.MethodRegistrationBase; regInfo: object } {
    return info.associateFunctionWithInfo(external, func, target);
  }

  /** The functions an add-on configured (within class `cls`, and named `funcName`, when given), with its configs. */
  static getAssociatedInfo(external: info.RegistrationOwner, cls?: object | string, funcName?: string): readonly info.ExternalRegistration[] {
    return info.getAssociatedInfo(external, cls, funcName);
  }

  /**
   * The handler of this process's alerts (one, set before launch): a workflow dead-lettered after too many recovery
   * attempts, and executors whose lease lapsed and whose work this process took over (see src/alerts/alerts.ts).
   */
  static setAlertHandler(handler: AlertHandler): void {
    setAlertHandler(handler, runtime !== undefined || launching !== undefined);
  }

  /** `@DBOS.step()`: works with legacy experimentalDecorators and with standard decorators. */
  static step(stepConfig: StepConfig = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) => stepWrapper(method.fn, stepConfig.name ?? method.name, stepConfig),
      (method, owner) => info.placeRegistered(method.fn, owner),
    );
  }

  // ------------------------------------------------------------------------------------------- starting

  static startWorkflow<Args extends unknown[], Return>(
    target: (...args: Args) => Promise<Return>,
    params?: StartWorkflowParams,
  ): (...args: Args) => Promise<WorkflowHandle<Return>>;
  static startWorkflow<T extends object>(target: T, params?: StartWorkflowParams): WorkflowStarters<T>;
  static startWorkflow(target: unknown, params?: StartWorkflowParams): unknown {
    const starter = (fn: AnyFunction, self?: unknown) => {
      return (...args: unknown[]): Promise<WorkflowHandle<unknown>> => {
        try {
          const reg = registry.forFunction(fn);
          if (!reg) throw new DBOSNotRegisteredError(fn.name || 'anonymous function');
          const executor = engine('DBOS.startWorkflow');
          const options = { ...toStartOptions(params), ...instanceOption(reg, self) };
          return executor.start(reg, args, options).then((id) => new RuntimeWorkflowHandle(executor, id));
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
        return starter(member as AnyFunction, obj);
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

  /** The first of these workflows to finish (leave PENDING, ENQUEUED and DELAYED); checkpointed in a workflow. */
  static async waitFirst(handles: WorkflowHandle<unknown>[], options: { pollingIntervalMs?: number } = {}): Promise<WorkflowHandle<unknown>> {
    if (handles.length === 0) throw new DBOSInvalidWorkflowInputError('DBOS.waitFirst needs at least one workflow handle');
    const executor = engine('DBOS.waitFirst');
    const ids = handles.map((h) => h.workflowID);
    const first = await asStep('DBOS.waitFirst', () => executor.awaitFinished(ids, false, options.pollingIntervalMs));
    return handles.find((h) => h.workflowID === first)!;
  }

  /** Waits until every one of these workflows has finished; returns the handles, in order. */
  static async waitAll<R>(handles: WorkflowHandle<R>[], options: { pollingIntervalMs?: number } = {}): Promise<WorkflowHandle<R>[]> {
    const executor = engine('DBOS.waitAll');
    const ids = handles.map((h) => h.workflowID);
    if (ids.length > 0) await asStep('DBOS.waitAll', () => executor.awaitFinished(ids, true, options.pollingIntervalMs));
    return handles;
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

  /** Runs `callback`. DBOS keeps the caller's name for its logs; Transact does not use it. */
  static withNamedContext<R>(_callerName: string, callback: () => Promise<R>): Promise<R> {
    return callback();
  }

  static withAuthedContext<R>(authenticatedUser: string, authenticatedRoles: string[], callback: () => Promise<R>): Promise<R> {
    return withNextStart({ authenticatedUser, authenticatedRoles }, callback);
  }

  // ------------------------------------------------------------------------------------------- durable time and values

  static sleepms(ms: number): Promise<void> {
    try {
      checkSleepMs('The sleep duration', ms);
    } catch (err) {
      return Promise.reject(err);
    }
    const executor = executorHere();
    if (!executor) return new Promise((r) => setTimeout(r, Math.max(0, ms)));
    return durableSleep(executor, ms);
  }

  static sleep(ms: number): Promise<void> {
    return DBOS.sleepms(ms);
  }

  static sleepSeconds(seconds: number): Promise<void> {
    return DBOS.sleepms(seconds * 1000);
  }

  static now(): Promise<number> {
    const executor = executorHere();
    if (!executor) return Promise.resolve(Date.now());
    return builtinSteps.now(executor);
  }

  /**
   * In workflow code, with `enablePatching: true`: whether this execution runs the code past patch `patchName`. False
   * only for an execution that had already got past this point under the unpatched code (dbos-spec §3.6).
   */
  static patch(patchName: string): Promise<boolean> {
    return patch(patchName, patchingEnabled());
  }

  /** `patch` for code whose unpatched executions have all finished: always true, and it records nothing. */
  static deprecatePatch(patchName: string): Promise<boolean> {
    return deprecatePatch(patchName, patchingEnabled());
  }

  static randomUUID(): Promise<string> {
    const executor = executorHere();
    if (!executor) return Promise.resolve(crypto.randomUUID());
    return builtinSteps.randomUUID(executor);
  }

  // ------------------------------------------------------------------------------------------- messages, events, streams

  /** Sends `message` to workflow `destinationID` (from anywhere); with an idempotency key it is delivered once. */
  static send<T>(destinationID: string, message: T, topic?: string, idempotencyKey?: string, options?: SendOptions): Promise<void> {
    return withMessaging('DBOS.send', (rt) => send(rt, destinationID, message, topic, idempotencyKey, options));
  }

  /** In a workflow: the oldest unconsumed message on `topic`, or null at the timeout (default 60 s). */
  static recv<T>(topic?: string, options?: number | RecvOptions): Promise<T | null> {
    return withMessaging('DBOS.recv', (rt) => recv<T>(rt, topic, options));
  }

  /** In a workflow: publishes `value` under `key` (the last value wins). */
  static setEvent<T>(key: string, value: T, options?: SetEventOptions): Promise<void> {
    return withMessaging('DBOS.setEvent', (rt) => setEvent(rt, key, value, options));
  }

  /** The value of workflow `workflowID`'s event `key`, waiting for it to be set; null at the timeout (default 60 s). */
  static getEvent<T>(workflowID: string, key: string, options?: number | GetEventOptions): Promise<T | null> {
    return withMessaging('DBOS.getEvent', (rt) => getEvent<T>(rt, workflowID, key, options));
  }

  /** From a workflow or a step: appends `value` to the workflow's stream `key`. */
  static writeStream<T>(key: string, value: T, options?: WriteStreamOptions): Promise<void> {
    return withMessaging('DBOS.writeStream', (rt) => writeStream(rt, key, value, options));
  }

  /** From a workflow or a step: closes the workflow's stream `key`; readers stop there. */
  static closeStream(key: string): Promise<void> {
    return withMessaging('DBOS.closeStream', (rt) => closeStream(rt, key));
  }

  /** The values of workflow `workflowID`'s stream `key`, in order, until it is closed or the workflow is done. */
  static readStream<T>(workflowID: string, key: string, options?: ReadStreamOptions): AsyncGenerator<T, void, unknown> {
    const rt = current();
    if (!rt) {
      return (async function* (): AsyncGenerator<T, void, unknown> {
        throw new DBOSExecutorNotInitializedError('DBOS.readStream');
      })();
    }
    return readStream<T>(rt.messaging, workflowID, key, options);
  }

  /** The value at `offset` of a stream, waiting for it; DBOSStreamTimeoutError if it never comes. */
  static readStreamOffset<T>(workflowID: string, key: string, offset: number, options?: ReadStreamOffsetOptions): Promise<T> {
    return withMessaging('DBOS.readStreamOffset', (rt) => readStreamOffset<T>(rt, workflowID, key, offset, options));
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

  /** The tracing span of the current step or workflow (when tracing is on). */
  static get span(): Span | undefined {
    const frame = currentFrame();
    return frame?.step?.span ?? frame?.workflow.span;
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

  // ------------------------------------------------------------------------------------------- queues

  /**
   * Registers a queue in the system database (after launch), shared by every process of the application: each serves
   * it within a second, and enqueueing to it works everywhere. The returned queue's `set*` methods change the row.
   */
  static async registerQueue(name: string, options: RegisterQueueOptions = {}): Promise<WorkflowQueue> {
    return queueService('DBOS.registerQueue').register(name, options);
  }

  /** A registered queue, or null if no row of that name exists. */
  static async retrieveQueue(name: string): Promise<WorkflowQueue | null> {
    return queueService('DBOS.retrieveQueue').retrieve(name);
  }

  /** Deletes a registered queue; workflows still waiting on it stay ENQUEUED. */
  static async deleteQueue(name: string): Promise<void> {
    return queueService('DBOS.deleteQueue').delete(name);
  }

  /** Registered queues of these applications (default: this one) and unclaimed ones. */
  /**
   * Enqueues a workflow by name, with DBOSClient.enqueue's options and row (the function may live in another process
   * or language, so the registry is not consulted; `appVersion` is left unset unless given). The queue must be one of
   * this application's unless `applicationName` names another. Inside a workflow it is a checkpointed child start.
   */
  static enqueueWorkflowWithOptions<T = unknown>(options: EnqueueWorkflowOptions, ...args: unknown[]): Promise<WorkflowHandle<T>> {
    try {
      const rt = current();
      if (!rt) throw new DBOSExecutorNotInitializedError('DBOS.enqueueWorkflowWithOptions');
      const queueExists = (name: string, partitionKey: string | undefined) => rt.queues.queueExists(name, partitionKey);
      return enqueueByName(rt.executor, queueExists, options, args).then((id) => new RuntimeWorkflowHandle<T>(rt.executor, id));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Enqueues by name with portable (cross-language) arguments, as DBOSClient.enqueuePortable does. */
  static enqueueWorkflowWithOptionsPortable<T = unknown>(
    options: EnqueueWorkflowOptions,
    positionalArgs: unknown[],
    namedArgs?: Record<string, unknown>,
  ): Promise<WorkflowHandle<T>> {
    const args = namedArgs && Object.keys(namedArgs).length > 0 ? [...positionalArgs, namedArgs] : positionalArgs;
    return DBOS.enqueueWorkflowWithOptions<T>({ ...options, serializationType: 'portable' }, ...args);
  }

  static async listQueues(applicationName?: string | string[]): Promise<WorkflowQueue[]> {
    return queueService('DBOS.listQueues').list(applicationName);
  }

  // ------------------------------------------------------------------------------------------- schedules

  /**
   * `@DBOS.scheduled({ crontab, mode?, queueName? })` above `@DBOS.workflow()` (DBOS 4.x): the workflow runs at every
   * tick as `(scheduledTime, startTime)`, once per tick however many processes run, under the ID
   * `sched-<Class.method>-<tick ISO>`. Static methods only.
   */
  static scheduled(schedulerConfig: SchedulerConfig): DualMethodDecorator {
    checkSchedulerConfig(schedulerConfig);
    return dualMethodDecorator(
      (method) => method.fn,
      (method, owner) => {
        if (typeof owner !== 'function') {
          throw new DBOSInvalidScheduleError(`@DBOS.scheduled needs a static method; ${method.name} is an instance method`);
        }
        declareScheduled(method.fn, schedulerConfig);
      },
    );
  }

  /** The decorator-free form of `@DBOS.scheduled`: `workflow` is a registered workflow. Call it before launch. */
  static registerScheduled<This, Return>(
    workflow: (this: This, ...args: ScheduledArgs) => Promise<Return>,
    schedulerConfig: SchedulerConfig,
  ): void {
    if (!registry.forFunction(workflow)) {
      throw new DBOSNotRegisteredError(
        workflow.name || 'anonymous function',
        `${workflow.name || 'This function'} is not a registered workflow: pass the function DBOS.registerWorkflow returned`,
      );
    }
    if (runtime || launching) throw new DBOSInitializationError('DBOS.registerScheduled must be called before DBOS.launch()');
    declareScheduled(workflow, schedulerConfig);
  }

  /**
   * Stores a schedule (DBOS 5.x): every process of the application runs `workflowFn(tick, context)` at each tick, once
   * per tick, under the ID `sched-<scheduleName>-<tick ISO>`. Checked before anything is written.
   */
  static async createSchedule(definition: {
    scheduleName: string;
    workflowFn: ScheduledWorkflowFn;
    schedule: string;
    context?: unknown;
    options?: ScheduleOptions;
  }): Promise<void> {
    const { rt, env } = scheduleRuntime('DBOS.createSchedule');
    const record = await checkedScheduleRecord(rt, { ...definition, ...definition.options });
    await asStep('DBOS.createSchedule', () => schedules.createSchedule(env, record));
  }

  /** Creates or redefines these schedules, all or nothing; the ones already there keep their status and history. */
  static async applySchedules(definitions: ScheduleDefinition[]): Promise<void> {
    const { rt, env } = scheduleRuntime('DBOS.applySchedules');
    if (currentFrame()) throw new DBOSError('applySchedules cannot be called from within a workflow');
    const records = [];
    for (const d of definitions) records.push(await checkedScheduleRecord(rt, d));
    await schedules.applySchedules(env, records);
  }

  /** Schedules of this application (and unclaimed ones), or of the applications named. */
  static async listSchedules(filters: ListSchedulesFilters = {}): Promise<WorkflowSchedule[]> {
    const { env } = scheduleRuntime('DBOS.listSchedules');
    return asStep('DBOS.listSchedules', () => schedules.listSchedules(env, filters));
  }

  static async getSchedule(name: string): Promise<WorkflowSchedule | null> {
    const { env } = scheduleRuntime('DBOS.getSchedule');
    return asStep('DBOS.getSchedule', () => schedules.getSchedule(env, name));
  }

  /** Deletes a schedule; the workflows it already started are left alone. */
  static async deleteSchedule(name: string): Promise<void> {
    const { env } = scheduleRuntime('DBOS.deleteSchedule');
    return asStep('DBOS.deleteSchedule', () => schedules.deleteSchedule(env, name));
  }

  /** Stops a schedule's ticks in every process until it is resumed. */
  static async pauseSchedule(name: string): Promise<void> {
    const { env } = scheduleRuntime('DBOS.pauseSchedule');
    return asStep('DBOS.pauseSchedule', () => schedules.setStatus(env, name, 'PAUSED'));
  }

  static async resumeSchedule(name: string): Promise<void> {
    const { env } = scheduleRuntime('DBOS.resumeSchedule');
    return asStep('DBOS.resumeSchedule', () => schedules.setStatus(env, name, 'ACTIVE'));
  }

  /** Changes a schedule's definition (only the fields given; null clears cronTimezone or queueName). */
  static async updateSchedule(name: string, updates: ScheduleUpdate): Promise<void> {
    const { rt, env } = scheduleRuntime('DBOS.updateSchedule');
    if (updates.queueName) await checkScheduleQueue(rt, updates.queueName);
    await asStep('DBOS.updateSchedule', () => schedules.updateSchedule(env, name, updates));
  }

  /** Runs the schedule's workflow now, off its cron, as `(now, context)`, under `sched-<name>-trigger-<now ISO>`. */
  static async triggerSchedule(name: string): Promise<WorkflowHandle<unknown>> {
    const { rt, env } = scheduleRuntime('DBOS.triggerSchedule');
    if (currentFrame()) throw new DBOSError('triggerSchedule cannot be called from within a workflow');
    return new RuntimeWorkflowHandle(rt.executor, await schedules.triggerSchedule(env, name));
  }

  /** Enqueues the workflows of the ticks `t` with start <= t < end (a tick that already ran is not run again). */
  static async backfillSchedule(name: string, start: Date, end: Date): Promise<WorkflowHandle<unknown>[]> {
    const { rt, env } = scheduleRuntime('DBOS.backfillSchedule');
    if (currentFrame()) throw new DBOSError('backfillSchedule cannot be called from within a workflow');
    const ids = await schedules.backfillSchedule(env, name, start, end);
    return ids.map((id) => new RuntimeWorkflowHandle(rt.executor, id));
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

  static listWorkflowSteps(workflowID: string, options: ListWorkflowStepsOptions = {}): Promise<StepInfo[] | undefined> {
    const executor = engine('DBOS.listWorkflowSteps');
    return asStep('DBOS.listWorkflowSteps', () => readWorkflowSteps(executor.db, workflowID, options));
  }

  static getWorkflow(workflowID: string): Promise<WorkflowStatus | null> {
    const executor = engine('DBOS.getWorkflow');
    return readWorkflowStatus(executor.db, workflowID);
  }

  static cancelWorkflow(workflowID: string, options: { cancelChildren?: boolean } = {}): Promise<void> {
    return DBOS.cancelWorkflows([workflowID], options);
  }

  /** Cancels workflows: they stop at their next durable operation, and waiters get DBOSAwaitedWorkflowCancelledError. */
  static cancelWorkflows(workflowIDs: string[], options: { cancelChildren?: boolean } = {}): Promise<void> {
    const executor = engine('DBOS.cancelWorkflow');
    return asStep('DBOS.cancelWorkflow', async () => {
      for (const id of await cancelWorkflows(executor.db, workflowIDs, options)) executor.stopLocal(id);
    });
  }

  /** Puts an unfinished (e.g. cancelled) workflow back on a queue; it resumes after its last recorded step. */
  static async resumeWorkflow<T = unknown>(workflowID: string, options: { queueName?: string } = {}): Promise<WorkflowHandle<T>> {
    await DBOS.resumeWorkflows([workflowID], options);
    return DBOS.retrieveWorkflow<T>(workflowID);
  }

  static resumeWorkflows(workflowIDs: string[], options: { queueName?: string } = {}): Promise<void> {
    const executor = engine('DBOS.resumeWorkflow');
    return asStep('DBOS.resumeWorkflow', async () => {
      await resumeWorkflows(executor.db, workflowIDs, options);
      executor.enqueueListener?.workflowEnqueued(options.queueName ?? INTERNAL_QUEUE);
    });
  }

  /** Starts a copy of a workflow that keeps its first `startStep` steps and runs the rest again. */
  static async forkWorkflow<T = unknown>(workflowID: string, startStep: number, options: ForkOptions = {}): Promise<WorkflowHandle<T>> {
    const executor = engine('DBOS.forkWorkflow');
    const forkID = await asStep('DBOS.forkWorkflow', async () => {
      const id = await forkWorkflow(executor.db, workflowID, startStep, options);
      executor.enqueueListener?.workflowEnqueued(options.queueName ?? INTERNAL_QUEUE);
      return id;
    });
    return DBOS.retrieveWorkflow<T>(forkID);
  }

  /** Runs a finished workflow again under its own ID from `startStep` (default 0); earlier steps keep their records. */
  static async rewindWorkflow<T = unknown>(workflowID: string, options: RewindOptions = {}): Promise<WorkflowHandle<T>> {
    const executor = engine('DBOS.rewindWorkflow');
    await asStep('DBOS.rewindWorkflow', async () => {
      await rewindWorkflow(executor.db, workflowID, options);
      executor.enqueueListener?.workflowEnqueued(options.queueName ?? INTERNAL_QUEUE);
    });
    return DBOS.retrieveWorkflow<T>(workflowID);
  }

  static deleteWorkflow(workflowID: string, deleteChildren = false): Promise<void> {
    return DBOS.deleteWorkflows([workflowID], deleteChildren);
  }

  /** Deletes workflows (and, with deleteChildren, their descendants) with everything recorded for them. */
  static deleteWorkflows(workflowIDs: string[], deleteChildren = false): Promise<void> {
    const executor = engine('DBOS.deleteWorkflow');
    return asStep('DBOS.deleteWorkflow', async () => {
      // A run of a deleted workflow here stops: its fenced writes could record nothing anyway.
      for (const id of await deleteWorkflows(executor.db, workflowIDs, { deleteChildren })) executor.stopLocal(id);
    });
  }

  /** Changes the priority of an ENQUEUED or DELAYED workflow (lower runs first). */
  static setWorkflowPriority(workflowID: string, priority: number): Promise<void> {
    const executor = engine('DBOS.setWorkflowPriority');
    return asStep('DBOS.setWorkflowPriority', () => setWorkflowPriority(executor.db, workflowID, priority));
  }

  /** Moves the start of a DELAYED workflow: seconds from now, or `{ delaySeconds }` or `{ delayUntilEpochMS }`. */
  static setWorkflowDelay(workflowID: string, delay: WorkflowDelay): Promise<void> {
    const executor = engine('DBOS.setWorkflowDelay');
    return asStep('DBOS.setWorkflowDelay', async () => {
      await setWorkflowDelay(executor.db, workflowID, delay);
    });
  }

  /** This application's versions (and unclaimed ones), the latest first. */
  static listApplicationVersions(): Promise<VersionInfo[]> {
    const executor = engine('DBOS.listApplicationVersions');
    return asStep('DBOS.listApplicationVersions', () => listApplicationVersions(executor.db, executor.identity.applicationName));
  }

  static getLatestApplicationVersion(): Promise<VersionInfo | null> {
    const executor = engine('DBOS.getLatestApplicationVersion');
    return asStep(
      'DBOS.getLatestApplicationVersion',
      async () => (await latestApplicationVersion(executor.db, executor.identity.applicationName)) ?? null,
    );
  }

  /** Makes a known version the latest (its timestamp becomes now): only the latest runs workflows enqueued without one. */
  static setLatestApplicationVersion(versionName: string): Promise<void> {
    const executor = engine('DBOS.setLatestApplicationVersion');
    return asStep('DBOS.setLatestApplicationVersion', async () => {
      await setLatestApplicationVersion(executor.db, versionName, executor.identity.applicationName);
      // This process's dispatcher takes unversioned work only while it runs the latest version.
      const rt = runtimesByExecutor.get(executor);
      if (rt) rt.latestVersion = versionName === executor.identity.applicationVersion;
    });
  }
}

/**
 * @internal
 * For event receivers (src/receivers/): starts registered workflow `fn` with engine-level options that the public
 * StartWorkflowParams do not carry (an explicit creation time, which orders a queue). Not part of the public API.
 */
export function startForReceiver(fn: AnyFunction, args: unknown[], options: StartOptions): Promise<string> {
  const reg = registry.forFunction(fn);
  if (!reg) return Promise.reject(new DBOSNotRegisteredError(fn.name || 'anonymous function'));
  try {
    return engine('an event receiver').start(reg, args, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** @internal The name and class a function is registered under as a workflow, if it is one. Not part of the public API. */
export function registeredWorkflowName(fn: AnyFunction): { name: string; className: string } | undefined {
  const reg = registry.forFunction(fn);
  return reg ? { name: reg.name, className: reg.className } : undefined;
}

/**
 * @internal
 * The engine serving this call (inside a workflow, the one running it; elsewhere, the launched one), for facade-level
 * add-ons such as the Debouncer; DBOSExecutorNotInitializedError before launch. Not part of the public API.
 */
export function engineForAddOn(what: string): Executor {
  return engine(what);
}

/** @internal Round trips issued by this process's system database so far (benchmarks and tests; not part of the public API). */
export function systemDatabaseStats(): DriverStats | undefined {
  return runtime?.db.stats;
}

function scheduleRuntime(what: string): { rt: Runtime; env: ScheduleEnv } {
  const rt = current();
  if (!rt) throw new DBOSExecutorNotInitializedError(what);
  return { rt, env: rt.scheduler.env };
}

/** A 5.x schedule of a registered workflow, on a queue this application has, under a name no in-code schedule has. */
async function checkedScheduleRecord(
  rt: Runtime,
  d: { scheduleName: string; workflowFn: ScheduledWorkflowFn; schedule: string; context?: unknown } & ScheduleOptions,
) {
  const reg = registry.forFunction(d.workflowFn as AnyFunction);
  if (!reg) {
    const name = d.workflowFn?.name || 'anonymous function';
    throw new DBOSNotRegisteredError(name, `${name} is not a registered workflow: schedule a function registered with @DBOS.workflow() or DBOS.registerWorkflow`);
  }
  const options: ScheduleOptions = { automaticBackfill: d.automaticBackfill, cronTimezone: d.cronTimezone, queueName: d.queueName };
  const record = schedules.scheduleRecordOf({
    scheduleName: d.scheduleName,
    workflowName: reg.name,
    workflowClassName: reg.className,
    schedule: d.schedule,
    context: d.context,
    options,
    applicationName: rt.executor.identity.applicationName,
  });
  if (rt.scheduler.codeScheduleNames.has(d.scheduleName)) {
    throw new DBOSConflictingRegistrationError(`${d.scheduleName} is the name of a schedule declared with @DBOS.scheduled; choose another`);
  }
  if (d.queueName) await checkScheduleQueue(rt, d.queueName);
  return record;
}

async function checkScheduleQueue(rt: Runtime, queueName: string): Promise<void> {
  let usable: boolean;
  try {
    usable = await rt.queues.queueExists(queueName, undefined);
  } catch (err) {
    throw new DBOSInvalidScheduleError(`Scheduled workflows cannot use queue ${queueName}: ${(err as Error).message}`, { cause: err });
  }
  if (!usable) {
    throw new DBOSInvalidScheduleError(`Queue ${queueName} does not exist: declare it or register it with DBOS.registerQueue first`);
  }
}

/** `enablePatching` of the engine serving this call (or of the configuration, before launch). */
function patchingEnabled(): boolean {
  const rt = current();
  return rt ? rt.executor.patchingEnabled : config.enablePatching === true;
}

/** What shutdown({ deregister }) and clearRegistry forget (the latter also queues, add-on info and the alert handler). */
function forgetRegistrations(everything: boolean): void {
  registry.clear();
  clearInstances();
  lifecycleCallbacks.clear();
  forgetDeclaredSchedules();
  if (!everything) return;
  forgetDeclaredQueues();
  info.clearRegistrationInfo();
  clearAlertHandler();
}

function withNextStart<R>(options: NextStartOptions, callback: () => Promise<R>): Promise<R> {
  const outer = nextStartStorage.getStore();
  return nextStartStorage.run({ ...outer, ...options }, callback);
}
