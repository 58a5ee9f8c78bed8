// Starting workflows and waiting for them from the facade: DBOS.startWorkflow (a function, or every workflow method of
// a class or instance), enqueue by name, getResult with a timeout, waitFirst and waitAll. Inside a workflow each wait
// is checkpointed, so a replay gets the same answer without waiting again.

import { DBOSInvalidWorkflowInputError, DBOSNotRegisteredError } from '../errors.js';
import { nextStartStorage, type NextStartOptions } from '../runtime/context.js';
import { enqueueByName, type EnqueueWorkflowOptions } from '../runtime/enqueue-by-name.js';
import { checkpointedResult, RuntimeWorkflowHandle, type WorkflowHandle } from '../runtime/handle.js';
import type { AnyFunction } from '../runtime/registry.js';
import { toStartOptions, type StartWorkflowParams } from '../runtime/start-params.js';
import { instanceOption } from './registration.js';
import { asStep, engine, registry, withEngine } from './state.js';

/** A registered workflow function's starter, or a proxy whose methods are starters (a class or an instance). */
export function starters(target: unknown, params: StartWorkflowParams | undefined): unknown {
  if (typeof target === 'function' && (registry.forFunction(target as AnyFunction) || !isClass(target))) {
    return starter(target as AnyFunction, params);
  }
  return new Proxy(target as object, {
    get(obj, prop) {
      const member = (obj as Record<string | symbol, unknown>)[prop];
      if (typeof member !== 'function') return member;
      return starter(member as AnyFunction, params, obj);
    },
  });
}

function starter(fn: AnyFunction, params: StartWorkflowParams | undefined, self?: unknown) {
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
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/**
 * DBOS.enqueueWorkflowWithOptions (and its portable form): the function may live in another process or language, so
 * the registry is not consulted, and `appVersion` is left unset unless given. The queue must be one of this
 * application's unless `applicationName` names another. One path with the client's enqueue and a child start
 * (src/runtime/enqueue-by-name.ts).
 */
export function enqueueWorkflow<T>(options: EnqueueWorkflowOptions, args: unknown[]): Promise<WorkflowHandle<T>> {
  return withEngine('DBOS.enqueueWorkflowWithOptions', (here) => {
    const queueExists = (name: string, partitionKey: string | undefined) => here.queues.queueExists(name, partitionKey);
    return enqueueByName(here.executor, queueExists, options, args).then((id) => new RuntimeWorkflowHandle<T>(here.executor, id));
  });
}

/** The workflow's result; with `timeoutSeconds`, null if it does not finish by then (checkpointed in a workflow). */
export async function getResult<T>(
  workflowID: string,
  timeout: number | { timeoutSeconds?: number; pollingIntervalMs?: number } | undefined,
): Promise<T | null> {
  const executor = engine('DBOS.getResult');
  const options = typeof timeout === 'number' ? { timeoutSeconds: timeout } : (timeout ?? {});
  if (options.timeoutSeconds === undefined) return checkpointedResult<T>(executor, workflowID, options.pollingIntervalMs);
  const deadlineEpochMS = Date.now() + options.timeoutSeconds * 1000;
  return asStep('DBOS.getResult', async () => {
    const result = await executor.getResult<T>(workflowID, { deadlineEpochMS, pollIntervalMs: options.pollingIntervalMs });
    return result === undefined ? null : result;
  });
}

/** The first of these workflows to finish (leave PENDING, ENQUEUED and DELAYED); checkpointed in a workflow. */
export async function waitFirst(handles: WorkflowHandle<unknown>[], pollingIntervalMs?: number): Promise<WorkflowHandle<unknown>> {
  if (handles.length === 0) throw new DBOSInvalidWorkflowInputError('DBOS.waitFirst needs at least one workflow handle');
  const executor = engine('DBOS.waitFirst');
  const ids = handles.map((h) => h.workflowID);
  const first = await asStep('DBOS.waitFirst', () => executor.awaitFinished(ids, false, pollingIntervalMs));
  return handles.find((h) => h.workflowID === first)!;
}

/** Waits until every one of these workflows has finished; returns the handles, in order. */
export async function waitAll<R>(handles: WorkflowHandle<R>[], pollingIntervalMs?: number): Promise<WorkflowHandle<R>[]> {
  const executor = engine('DBOS.waitAll');
  const ids = handles.map((h) => h.workflowID);
  if (ids.length > 0) await asStep('DBOS.waitAll', () => executor.awaitFinished(ids, true, pollingIntervalMs));
  return handles;
}

/** Runs `callback` with these options applying to the next workflow it starts (withNextWorkflowID and friends). */
export function withNextStart<R>(options: NextStartOptions, callback: () => Promise<R>): Promise<R> {
  const outer = nextStartStorage.getStore();
  return nextStartStorage.run({ ...outer, ...options }, callback);
}
