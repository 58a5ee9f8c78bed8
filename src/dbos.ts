// The DBOS facade: the static API users call, source-compatible with @dbos-inc/dbos-sdk. It only checks arguments and
// forwards: to this process's state, launch and registrations (src/process/), to the engine running the calling
// workflow or the launched one (src/runtime/), and to messaging, queues and schedules.

import type { AlertHandler } from './alerts/alerts.js';
import { setClassName, type DualMethodDecorator } from './decorators.js';
import { DBOSExecutorNotInitializedError, DBOSInitializationError } from './errors.js';
import type { Logger } from './logger.js';
import { getEvent, setEvent } from './messaging/events.js';
import { recv, send } from './messaging/messages.js';
import type { GetEventOptions, ReadStreamOffsetOptions, ReadStreamOptions, RecvOptions, SendOptions } from './messaging/options.js';
import type { SetEventOptions, WriteStreamOptions } from './messaging/options.js';
import { closeStream, readStream, readStreamOffset, writeStream } from './messaging/streams.js';
import type { ForkOptions, RewindOptions, VersionInfo, WorkflowDelay } from './management/control.js';
import type { GetWorkflowsInput, ListWorkflowStepsOptions, StepInfo } from './management/inspect.js';
import * as durable from './process/durable.js';
import * as lifecycle from './process/lifecycle.js';
import type { DBOSLifecycleCallback } from './process/lifecycle.js';
import * as management from './process/management.js';
import * as registration from './process/registration.js';
import * as schedules from './process/schedules.js';
import * as starting from './process/starting.js';
import * as state from './process/state.js';
import type { RegisterQueueOptions, WorkflowQueue } from './queues/workflow-queue.js';
import * as info from './registry-info.js';
import { executorIDOf, type DBOSConfig } from './runtime/config.js';
import { currentFrame, transactionStorage } from './runtime/context.js';
import type { EnqueueWorkflowOptions } from './runtime/enqueue-by-name.js';
import { RuntimeWorkflowHandle, type WorkflowHandle } from './runtime/handle.js';
import { deprecatePatch, patch } from './runtime/patching.js';
import type { RegisterWorkflowOptions, StepConfig, WorkflowConfig } from './runtime/registry.js';
import type { StartWorkflowParams, WorkflowStarters } from './runtime/start-params.js';
import type { WorkflowStatus } from './runtime/workflow-status.js';
import type { ScheduledArgs, SchedulerConfig } from './scheduler/declared.js';
import type { ListSchedulesFilters, ScheduleUpdate, WorkflowSchedule } from './scheduler/schedules.js';
import { registerNativeRecipe, type SerializationRecipe } from './serialization/native.js';
import type { Span, Tracer } from './tracing/public.js';

export type { StartWorkflowParams } from './runtime/start-params.js';
export type { DBOSLifecycleCallback } from './process/lifecycle.js';
export type { RegisterWorkflowOptions } from './runtime/registry.js';
export type { WorkflowStarters } from './runtime/start-params.js';
export type { ScheduledWorkflowFn, ScheduleDefinition } from './process/schedules.js';

type Fn<This, Args extends unknown[], Return> = (this: This, ...args: Args) => Promise<Return>;
type StepFn<This, Args extends unknown[], Return> = (this: This, ...args: Args) => Promise<Return> | Return;
type Starter<Args extends unknown[], Return> = (...args: Args) => Promise<WorkflowHandle<Return>>;
type Polling = { pollingIntervalMs?: number };
type Owner = info.RegistrationOwner;
type Associated = { registration: info.MethodRegistrationBase; regInfo: object };

export class DBOS {
  static setConfig(newConfig: DBOSConfig): void {
    state.setConfig(newConfig);
  }

  static getConfig(): DBOSConfig {
    return { ...state.getConfig() };
  }

  /** Seals registrations, initializes configured instances, launches the engine (recovery, queues), starts add-ons. */
  static async launch(): Promise<void> {
    return lifecycle.launch();
  }

  static async shutdown(options: { deregister?: boolean; workflowCompletionTimeoutMS?: number } = {}): Promise<void> {
    return lifecycle.shutdown(options);
  }

  /** Forgets every registration (workflows, instances, in-code queues and schedules, add-ons); never while launched. */
  static clearRegistry(): void {
    lifecycle.clearRegistry();
  }

  /** Registers an add-on to start after each launch (`initialize`) and stop before each shutdown (`destroy`). */
  static registerLifecycleCallback(callback: DBOSLifecycleCallback): void {
    lifecycle.registerLifecycleCallback(callback);
  }

  /** Creates or migrates a system database without launching, and optionally grants `applicationRole` its use. */
  static async migrate(systemDatabaseUrl: string, options: { schemaName?: string; applicationRole?: string } = {}): Promise<void> {
    return lifecycle.migrate(systemDatabaseUrl, options);
  }

  static isInitialized(): boolean {
    return state.launchedEngine() !== undefined;
  }

  /** The tracer of this process's workflow and step spans, for spans of the application's own; undefined when tracing is off. */
  static get tracer(): Tracer | undefined {
    return state.current()?.executor.tracing?.tracer;
  }

  static get logger(): Logger {
    return state.currentLogger();
  }

  static get executorID(): string {
    return state.launchedEngine()?.executor.identity.executorID ?? executorIDOf(state.getConfig());
  }

  static get applicationVersion(): string {
    return state.engine('DBOS.applicationVersion').identity.applicationVersion;
  }

  static registerWorkflow<This, Args extends unknown[], Return>(fn: Fn<This, Args, Return>, options: RegisterWorkflowOptions = {}): Fn<This, Args, Return> {
    return registration.registerWorkflow(fn, options) as Fn<This, Args, Return>;
  }

  static registerStep<This, Args extends unknown[], Return>(fn: StepFn<This, Args, Return>, options: StepConfig = {}): Fn<This, Args, Return> {
    return registration.registerStep(fn, options) as Fn<This, Args, Return>;
  }

  static runStep<Return>(fn: () => Promise<Return> | Return, options: StepConfig = {}): Promise<Return> {
    return registration.runStep(fn, options);
  }

  /** `@DBOS.workflow()`: works with legacy experimentalDecorators and with standard decorators. */
  static workflow(workflowConfig: WorkflowConfig = {}): DualMethodDecorator {
    return registration.workflowDecorator(workflowConfig);
  }

  /** `@DBOS.step()`: works with legacy experimentalDecorators and with standard decorators. */
  static step(stepConfig: StepConfig = {}): DualMethodDecorator {
    return registration.stepDecorator(stepConfig);
  }

  /** `@DBOS.className(name)`: the class's workflows are recorded under `name`, which bundlers do not change. */
  static className(name: string): <T extends new (...args: any[]) => object>(ctor: T, context?: unknown) => void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!name) throw new DBOSInitializationError('DBOS.className needs a non-empty name');
    return (ctor) => setClassName(ctor, name);
  }

  /** Teaches the native format a type of your own (before launch), with DBOS's recipe shape. */
  static registerSerialization<T, S>(recipe: SerializationRecipe<T, S>): void {
    registerNativeRecipe(recipe);
  }

  static logRegisteredEndpoints(): void {
    lifecycle.logRegisteredEndpoints();
  }

  /** An add-on's (`external`'s) config object for class `cls` (created empty on first use), as in DBOS. */
  static associateClassWithInfo(external: Owner, cls: (new (...args: any[]) => object) | string): object { // eslint-disable-line @typescript-eslint/no-explicit-any
    return info.associateClassWithInfo(external, cls);
  }

  /** An add-on's config object for function `func` (its registration is shared with @DBOS.workflow / registerWorkflow). */
  static associateFunctionWithInfo<This, Args extends unknown[], Return>(external: Owner, func: Fn<This, Args, Return>, target: info.FunctionName): Associated {
    return info.associateFunctionWithInfo(external, func, target);
  }

  /** The functions an add-on configured (within class `cls`, and named `funcName`, when given), with its configs. */
  static getAssociatedInfo(external: Owner, cls?: object | string, funcName?: string): readonly info.ExternalRegistration[] {
    return info.getAssociatedInfo(external, cls, funcName);
  }

  /** The handler of this process's alerts (one, set before launch; see src/alerts/alerts.ts). */
  static setAlertHandler(handler: AlertHandler): void {
    lifecycle.setAlertHandler(handler);
  }

  static startWorkflow<Args extends unknown[], Return>(target: (...args: Args) => Promise<Return>, params?: StartWorkflowParams): Starter<Args, Return>;
  static startWorkflow<T extends object>(target: T, params?: StartWorkflowParams): WorkflowStarters<T>;
  static startWorkflow(target: unknown, params?: StartWorkflowParams): unknown {
    return starting.starters(target, params);
  }

  static retrieveWorkflow<T = unknown>(workflowID: string): WorkflowHandle<T> {
    return new RuntimeWorkflowHandle<T>(state.engine('DBOS.retrieveWorkflow'), workflowID);
  }

  static getWorkflowStatus(workflowID: string): Promise<WorkflowStatus | null> {
    return new RuntimeWorkflowHandle(state.engine('DBOS.getWorkflowStatus'), workflowID).getStatus();
  }

  /** The workflow's result; null if it does not finish within `timeoutSeconds`. */
  static async getResult<T = unknown>(workflowID: string, timeout?: number | (Polling & { timeoutSeconds?: number })): Promise<T | null> {
    return starting.getResult<T>(workflowID, timeout);
  }

  /** The first of these workflows to finish (leave PENDING, ENQUEUED and DELAYED); checkpointed in a workflow. */
  static async waitFirst(handles: WorkflowHandle<unknown>[], options: Polling = {}): Promise<WorkflowHandle<unknown>> {
    return starting.waitFirst(handles, options.pollingIntervalMs);
  }

  /** Waits until every one of these workflows has finished; returns the handles, in order. */
  static async waitAll<R>(handles: WorkflowHandle<R>[], options: Polling = {}): Promise<WorkflowHandle<R>[]> {
    return starting.waitAll(handles, options.pollingIntervalMs);
  }

  static withNextWorkflowID<R>(workflowID: string, callback: () => Promise<R>): Promise<R> {
    return starting.withNextStart({ workflowID }, callback);
  }

  static withWorkflowTimeout<R>(timeoutMS: number | null, callback: () => Promise<R>): Promise<R> {
    return starting.withNextStart({ timeoutMS }, callback);
  }

  static withWorkflowQueue<R>(queueName: string, callback: () => Promise<R>): Promise<R> {
    return starting.withNextStart({ queueName }, callback);
  }

  /** Runs `callback`. DBOS keeps the caller's name for its logs; Transact does not use it. */
  static withNamedContext<R>(_callerName: string, callback: () => Promise<R>): Promise<R> {
    return callback();
  }

  static withAuthedContext<R>(authenticatedUser: string, authenticatedRoles: string[], callback: () => Promise<R>): Promise<R> {
    return starting.withNextStart({ authenticatedUser, authenticatedRoles }, callback);
  }

  static sleepms(ms: number): Promise<void> {
    return durable.sleepms(ms);
  }

  static sleep(ms: number): Promise<void> {
    return DBOS.sleepms(ms);
  }

  static sleepSeconds(seconds: number): Promise<void> {
    return DBOS.sleepms(seconds * 1000);
  }

  static now(): Promise<number> {
    return durable.now();
  }

  /** With `enablePatching`: whether this execution runs the code past patch `patchName` (dbos-spec §3.6). */
  static patch(patchName: string): Promise<boolean> {
    return patch(patchName, state.patchingEnabled());
  }

  /** `patch` for code whose unpatched executions have all finished: always true, and it records nothing. */
  static deprecatePatch(patchName: string): Promise<boolean> {
    return deprecatePatch(patchName, state.patchingEnabled());
  }

  static randomUUID(): Promise<string> {
    return durable.randomUUID();
  }

  /** Sends `message` to workflow `destinationID` (from anywhere); with an idempotency key it is delivered once. */
  static send<T>(destinationID: string, message: T, topic?: string, idempotencyKey?: string, options?: SendOptions): Promise<void> {
    return state.withEngine('DBOS.send', (here) => send(here.messaging, destinationID, message, topic, idempotencyKey, options));
  }

  /** In a workflow: the oldest unconsumed message on `topic`, or null at the timeout (default 60 s). */
  static recv<T>(topic?: string, options?: number | RecvOptions): Promise<T | null> {
    return state.withEngine('DBOS.recv', (here) => recv<T>(here.messaging, topic, options));
  }

  /** In a workflow: publishes `value` under `key` (the last value wins). */
  static setEvent<T>(key: string, value: T, options?: SetEventOptions): Promise<void> {
    return state.withEngine('DBOS.setEvent', (here) => setEvent(here.messaging, key, value, options));
  }

  /** The value of workflow `workflowID`'s event `key`, waiting for it to be set; null at the timeout (default 60 s). */
  static getEvent<T>(workflowID: string, key: string, options?: number | GetEventOptions): Promise<T | null> {
    return state.withEngine('DBOS.getEvent', (here) => getEvent<T>(here.messaging, workflowID, key, options));
  }

  /** From a workflow or a step: appends `value` to the workflow's stream `key`. */
  static writeStream<T>(key: string, value: T, options?: WriteStreamOptions): Promise<void> {
    return state.withEngine('DBOS.writeStream', (here) => writeStream(here.messaging, key, value, options));
  }

  /** From a workflow or a step: closes the workflow's stream `key`; readers stop there. */
  static closeStream(key: string): Promise<void> {
    return state.withEngine('DBOS.closeStream', (here) => closeStream(here.messaging, key));
  }

  /** The values of workflow `workflowID`'s stream `key`, in order, until it is closed or the workflow is done. */
  static readStream<T>(workflowID: string, key: string, options?: ReadStreamOptions): AsyncGenerator<T, void, unknown> {
    const here = state.current();
    if (here) return readStream<T>(here.messaging, workflowID, key, options);
    return (async function* (): AsyncGenerator<T, void, unknown> {
      throw new DBOSExecutorNotInitializedError('DBOS.readStream');
    })();
  }

  /** The value at `offset` of a stream, waiting for it; DBOSStreamTimeoutError if it never comes. */
  static readStreamOffset<T>(workflowID: string, key: string, offset: number, options?: ReadStreamOffsetOptions): Promise<T> {
    return state.withEngine('DBOS.readStreamOffset', (here) => readStreamOffset<T>(here.messaging, workflowID, key, offset, options));
  }

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

  static isInWorkflow(): boolean {
    const frame = currentFrame();
    return frame !== undefined && frame.step === undefined;
  }

  static isWithinWorkflow(): boolean {
    return currentFrame() !== undefined;
  }

  static isInStep(): boolean {
    const step = currentFrame()?.step;
    return step !== undefined && !step.transaction;
  }

  /** Inside a data source's transaction function (transact/datasources/…), in a workflow or not. */
  static isInTransaction(): boolean {
    return transactionStorage.getStore() !== undefined;
  }

  /** Registers a queue (after launch), shared by every process of the application; its `set*` methods change the row. */
  static async registerQueue(name: string, options: RegisterQueueOptions = {}): Promise<WorkflowQueue> {
    return state.currentOrThrow('DBOS.registerQueue').queues.register(name, options);
  }

  static async retrieveQueue(name: string): Promise<WorkflowQueue | null> {
    return state.currentOrThrow('DBOS.retrieveQueue').queues.retrieve(name);
  }

  static async deleteQueue(name: string): Promise<void> {
    return state.currentOrThrow('DBOS.deleteQueue').queues.delete(name);
  }

  static async listQueues(applicationName?: string | string[]): Promise<WorkflowQueue[]> {
    return state.currentOrThrow('DBOS.listQueues').queues.list(applicationName);
  }

  /** Enqueues a workflow by name, as DBOSClient.enqueue does; inside a workflow it is a checkpointed child start. */
  static enqueueWorkflowWithOptions<T = unknown>(options: EnqueueWorkflowOptions, ...args: unknown[]): Promise<WorkflowHandle<T>> {
    return starting.enqueueWorkflow<T>(options, args);
  }

  static enqueueWorkflowWithOptionsPortable<T = unknown>(
    options: EnqueueWorkflowOptions,
    positionalArgs: unknown[],
    namedArgs?: Record<string, unknown>,
  ): Promise<WorkflowHandle<T>> {
    const args = namedArgs && Object.keys(namedArgs).length > 0 ? [...positionalArgs, namedArgs] : positionalArgs;
    return starting.enqueueWorkflow<T>({ ...options, serializationType: 'portable' }, args);
  }

  /** `@DBOS.scheduled({ crontab, mode?, queueName? })` above `@DBOS.workflow()` (DBOS 4.x; static methods only). */
  static scheduled(schedulerConfig: SchedulerConfig): DualMethodDecorator {
    return schedules.scheduledDecorator(schedulerConfig);
  }

  /** The decorator-free form of `@DBOS.scheduled`: `workflow` is a registered workflow. Call it before launch. */
  static registerScheduled<This, Return>(workflow: Fn<This, ScheduledArgs, Return>, schedulerConfig: SchedulerConfig): void {
    schedules.registerScheduled(workflow, schedulerConfig);
  }

  /** Stores a schedule (DBOS 5.x): `workflowFn(tick, context)` runs once per tick as `sched-<scheduleName>-<tick ISO>`. */
  static async createSchedule(definition: schedules.NewSchedule): Promise<void> {
    return schedules.createSchedule(definition);
  }

  /** Creates or redefines these schedules, all or nothing; the ones already there keep their status and history. */
  static async applySchedules(definitions: schedules.ScheduleDefinition[]): Promise<void> {
    return schedules.applySchedules(definitions);
  }

  static async listSchedules(filters: ListSchedulesFilters = {}): Promise<WorkflowSchedule[]> {
    return schedules.listSchedules(filters);
  }

  static async getSchedule(name: string): Promise<WorkflowSchedule | null> {
    return schedules.getSchedule(name);
  }

  /** Deletes a schedule; the workflows it already started are left alone. */
  static async deleteSchedule(name: string): Promise<void> {
    return schedules.deleteSchedule(name);
  }

  static async pauseSchedule(name: string): Promise<void> {
    return schedules.pauseSchedule(name);
  }

  static async resumeSchedule(name: string): Promise<void> {
    return schedules.resumeSchedule(name);
  }

  /** Changes a schedule's definition (only the fields given; null clears cronTimezone or queueName). */
  static async updateSchedule(name: string, updates: ScheduleUpdate): Promise<void> {
    return schedules.updateSchedule(name, updates);
  }

  /** Runs the schedule's workflow now, off its cron, as `(now, context)`, under `sched-<name>-trigger-<now ISO>`. */
  static async triggerSchedule(name: string): Promise<WorkflowHandle<unknown>> {
    return schedules.triggerSchedule(name);
  }

  /** Enqueues the workflows of the ticks `t` with start <= t < end (a tick that already ran is not run again). */
  static async backfillSchedule(name: string, start: Date, end: Date): Promise<WorkflowHandle<unknown>[]> {
    return schedules.backfillSchedule(name, start, end);
  }

  static listWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    return management.listWorkflows(input);
  }

  static listQueuedWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    return management.listQueuedWorkflows(input);
  }

  static listWorkflowSteps(workflowID: string, options: ListWorkflowStepsOptions = {}): Promise<StepInfo[] | undefined> {
    return management.listWorkflowSteps(workflowID, options);
  }

  static getWorkflow(workflowID: string): Promise<WorkflowStatus | null> {
    return management.getWorkflow(workflowID);
  }

  static cancelWorkflow(workflowID: string, options: { cancelChildren?: boolean } = {}): Promise<void> {
    return management.cancelWorkflows([workflowID], options);
  }

  /** Cancels workflows: they stop at their next durable operation, and waiters get DBOSAwaitedWorkflowCancelledError. */
  static cancelWorkflows(workflowIDs: string[], options: { cancelChildren?: boolean } = {}): Promise<void> {
    return management.cancelWorkflows(workflowIDs, options);
  }

  /** Puts an unfinished (e.g. cancelled) workflow back on a queue; it resumes after its last recorded step. */
  static async resumeWorkflow<T = unknown>(workflowID: string, options: { queueName?: string } = {}): Promise<WorkflowHandle<T>> {
    await management.resumeWorkflows([workflowID], options);
    return DBOS.retrieveWorkflow<T>(workflowID);
  }

  static resumeWorkflows(workflowIDs: string[], options: { queueName?: string } = {}): Promise<void> {
    return management.resumeWorkflows(workflowIDs, options);
  }

  /** Starts a copy of a workflow that keeps its first `startStep` steps and runs the rest again. */
  static async forkWorkflow<T = unknown>(workflowID: string, startStep: number, options: ForkOptions = {}): Promise<WorkflowHandle<T>> {
    return DBOS.retrieveWorkflow<T>(await management.forkWorkflow(workflowID, startStep, options));
  }

  /** Runs a finished workflow again under its own ID from `startStep` (default 0); earlier steps keep their records. */
  static async rewindWorkflow<T = unknown>(workflowID: string, options: RewindOptions = {}): Promise<WorkflowHandle<T>> {
    await management.rewindWorkflow(workflowID, options);
    return DBOS.retrieveWorkflow<T>(workflowID);
  }

  static deleteWorkflow(workflowID: string, deleteChildren = false): Promise<void> {
    return management.deleteWorkflows([workflowID], deleteChildren);
  }

  /** Deletes workflows (and, with deleteChildren, their descendants) with everything recorded for them. */
  static deleteWorkflows(workflowIDs: string[], deleteChildren = false): Promise<void> {
    return management.deleteWorkflows(workflowIDs, deleteChildren);
  }

  /** Changes the priority of an ENQUEUED or DELAYED workflow (lower runs first). */
  static setWorkflowPriority(workflowID: string, priority: number): Promise<void> {
    return management.setWorkflowPriority(workflowID, priority);
  }

  /** Moves the start of a DELAYED workflow: seconds from now, or `{ delaySeconds }` or `{ delayUntilEpochMS }`. */
  static setWorkflowDelay(workflowID: string, delay: WorkflowDelay): Promise<void> {
    return management.setWorkflowDelay(workflowID, delay);
  }

  static listApplicationVersions(): Promise<VersionInfo[]> {
    return management.listApplicationVersions();
  }

  static getLatestApplicationVersion(): Promise<VersionInfo | null> {
    return management.getLatestApplicationVersion();
  }

  /** Makes a known version the latest (its timestamp becomes now): only the latest runs workflows enqueued without one. */
  static setLatestApplicationVersion(versionName: string): Promise<void> {
    return management.setLatestApplicationVersion(versionName);
  }
}
