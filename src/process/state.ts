// This process's DBOS: what it has registered and configured, and the launched engine each call goes to. One copy per
// process (the CommonJS entry loads this ES module build, see README), shared by the facade (src/dbos.ts) and the
// add-ons written against it (the Debouncer, event receivers).

import { DBOSExecutorNotInitializedError, DBOSNotRegisteredError } from '../errors.js';
import { ConsoleLogger, type Logger } from '../logger.js';
import type { RuntimeMessagingEnv } from '../messaging/operation.js';
import type { Operations } from '../ops/operations.js';
import type { QueueService } from '../queues/service.js';
import { logFormatOf, logLevelOf, type DBOSConfig } from '../runtime/config.js';
import { currentFrame, type RunExecutor } from '../runtime/context.js';
import type { Executor, StartOptions } from '../runtime/executor.js';
import { Registry, type AnyFunction } from '../runtime/registry.js';
import { runEngineStep } from '../runtime/steps.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { DriverStats, SqlDriver } from '../sysdb/driver.js';

/** What launch() built around the engine (src/process/launch.ts), and shutdown() takes apart. */
export interface Launched {
  executor: Executor;
  db: SqlDriver;
  queues: QueueService;
  scheduler: Scheduler;
  messaging: RuntimeMessagingEnv;
  /** The periodic sweep (deadlines, cancellations, the latest version). */
  sweep: NodeJS.Timeout;
  /** Retention, alerts, readiness, the health and metrics server (src/ops/). */
  ops?: Operations;
  /** Whether this process runs the latest application version, so takes the work enqueued without one. */
  latestVersion: boolean;
  /** Records an operator's (or this process's) choice of the latest version, and reacts to it. */
  noteLatestVersion(latest: boolean): void;
}

/** Every workflow registered in this process, by function and by name. */
export const registry = new Registry();

let config: DBOSConfig = {};
const defaultLogger = new ConsoleLogger();
let logger: Logger = defaultLogger;
let launched: Launched | undefined;
let launching: Promise<void> | undefined;
/** Every launched engine's services by its executor, so a workflow's durable calls reach the engine running it. */
const launchedByExecutor = new WeakMap<RunExecutor, Launched>();

export function setConfig(newConfig: DBOSConfig): void {
  const format = newConfig.logger ? undefined : logFormatOf(newConfig); // refused before anything changes
  config = { ...newConfig };
  logger = newConfig.logger ?? defaultLogger;
  if (format !== undefined) {
    defaultLogger.setLevel(logLevelOf(newConfig));
    defaultLogger.setFormat(format);
  }
}

export function getConfig(): DBOSConfig {
  return config;
}

export function currentLogger(): Logger {
  return logger;
}

/** The launched engine (not the one a workflow runs on: see current()). */
export function launchedEngine(): Launched | undefined {
  return launched;
}

/** Whether a launch is done or under way: registrations and settings that launch reads are closed then. */
export function launchedOrLaunching(): boolean {
  return launched !== undefined || launching !== undefined;
}

/** For src/process/lifecycle.ts only. */
export const lifecycleState = {
  get launching(): Promise<void> | undefined {
    return launching;
  },
  set launching(value: Promise<void> | undefined) {
    launching = value;
  },
  setLaunched(value: Launched | undefined): void {
    launched = value;
  },
  /** An engine that can serve workflows (before recovery and dispatch start them). */
  ready(value: Launched): void {
    launchedByExecutor.set(value.executor, value);
  },
};

/**
 * The engine serving this call: inside a workflow, the one running it (also while launch or shutdown is under way,
 * when none is launched); elsewhere, the launched one.
 */
export function current(): Launched | undefined {
  const executor = currentFrame()?.executor;
  return (executor && launchedByExecutor.get(executor)) ?? launched;
}

/** current(), or DBOSExecutorNotInitializedError naming the call (`what`). */
export function currentOrThrow(what?: string): Launched {
  const here = current();
  if (!here) throw new DBOSExecutorNotInitializedError(what);
  return here;
}

/** The executor serving this call; DBOSExecutorNotInitializedError before launch. */
export function engine(what?: string): Executor {
  return currentOrThrow(what).executor;
}

/** The executor for a durable call here: inside a workflow the one running it (never none), elsewhere the launched one. */
export function executorHere(): RunExecutor | undefined {
  return currentFrame()?.executor ?? current()?.executor;
}

/** `enablePatching` of the engine serving this call (or of the configuration, before launch). */
export function patchingEnabled(): boolean {
  const here = current();
  return here ? here.executor.patchingEnabled : config.enablePatching === true;
}

/** @internal This process's readiness (the /readyz answer), or not ready when it is not launched. */
export async function processReadiness(): Promise<import('../ops/http.js').Readiness> {
  const ops = launched?.ops;
  if (!ops) return { ready: false, checks: { engine: { ok: false, detail: 'not launched' } } };
  return ops.readiness();
}

/** Runs an operation on the engine serving this call; a failure to start it is a rejected promise, as in DBOS. */
export function withEngine<R>(what: string, operation: (here: Launched) => Promise<R>): Promise<R> {
  try {
    return operation(currentOrThrow(what));
  } catch (err) {
    return Promise.reject(err);
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
  return withEngine('an event receiver', (here) => here.executor.start(reg, args, options));
}

/** @internal The name and class a function is registered under as a workflow, if it is one. Not part of the public API. */
export function registeredWorkflowName(fn: AnyFunction): { name: string; className: string } | undefined {
  const reg = registry.forFunction(fn);
  return reg ? { name: reg.name, className: reg.className } : undefined;
}

/** @internal Round trips issued by this process's system database so far (benchmarks and tests; not part of the public API). */
export function systemDatabaseStats(): DriverStats | undefined {
  return launched?.db.stats;
}

/** @internal The launched engine (the data sources' retention sweep reads its system database). Not part of the public API. */
export function launchedExecutor(): Executor | undefined {
  return launched?.executor;
}

/** Runs `fn` as a checkpointed step inside a workflow (management calls are recorded, dbos-spec §3.1); plainly elsewhere. */
export function asStep<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const frame = currentFrame();
  if (!frame) return fn();
  return runEngineStep(frame.executor, fn, name);
}
