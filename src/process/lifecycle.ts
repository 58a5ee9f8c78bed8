// Launch and shutdown in order: registrations are sealed, configured instances initialized, the engine launched
// (src/process/launch.ts), then the add-ons started; a launch that fails part-way takes down what it started. Shutdown
// stops the add-ons first, while the engine can still record what they do.

import { clearAlertHandler, setAlertHandler as installAlertHandler, settleAlerts, type AlertHandler } from '../alerts/alerts.js';
import { DBOSError } from '../errors.js';
import { forgetDeclaredQueues } from '../queues/workflow-queue.js';
import { systemDatabaseLocation } from '../runtime/config.js';
import { migrateSystemDatabase } from '../sysdb/open.js';
import { allInstances, clearInstances } from '../runtime/instances.js';
import { forgetDeclaredSchedules } from '../scheduler/declared.js';
import * as info from '../registry-info.js';
import { launchEngine, stopEngine } from './launch.js';
import { currentLogger, getConfig, launchedEngine, launchedOrLaunching, lifecycleState, registry } from './state.js';

/** An add-on (an event receiver, say) that starts once the engine is launched and stops before it shuts down. */
export interface DBOSLifecycleCallback {
  initialize?(): Promise<void>;
  destroy?(): Promise<void>;
  logRegisteredEndpoints?(): void;
}

/** Add-ons started after launch and stopped before shutdown, in registration order. */
const lifecycleCallbacks = new Set<DBOSLifecycleCallback>();

/** DBOS.registerLifecycleCallback: an add-on to start after each launch and stop before each shutdown. */
export function registerLifecycleCallback(callback: DBOSLifecycleCallback): void {
  lifecycleCallbacks.add(callback);
}

export function launch(): Promise<void> {
  if (launchedEngine()) return Promise.resolve();
  if (lifecycleState.launching) return lifecycleState.launching;
  info.sealRegistrations(true); // from here on, a workflow registered now would be unknown to recovery
  // Configured instances are set up before anything runs: recovery and dispatch may call their workflows at once.
  const launching = initializeInstances()
    .then(() => launchEngine(getConfig(), registry, currentLogger(), (ready) => lifecycleState.ready(ready)))
    .then(async (launched) => {
      lifecycleState.setLaunched(launched);
      try {
        for (const callback of lifecycleCallbacks) await callback.initialize?.();
      } catch (err) {
        // Half-started add-ons are stopped with the engine, so a failed launch leaves nothing running.
        await destroyCallbacks();
        lifecycleState.setLaunched(undefined);
        await stopEngine(launched, 0);
        throw err;
      }
      logRegisteredEndpoints();
    })
    .catch((err) => {
      info.sealRegistrations(false);
      throw err;
    })
    .finally(() => (lifecycleState.launching = undefined));
  lifecycleState.launching = launching;
  return launching;
}

export async function shutdown(options: { deregister?: boolean; workflowCompletionTimeoutMS?: number } = {}): Promise<void> {
  if (lifecycleState.launching) await lifecycleState.launching.catch(() => {});
  const stopping = launchedEngine();
  if (stopping) await destroyCallbacks(); // receivers stop taking events while the engine can still record them
  lifecycleState.setLaunched(undefined);
  if (stopping) await stopEngine(stopping, options.workflowCompletionTimeoutMS ?? 0);
  if (stopping) await settleAlerts();
  if (!launchedOrLaunching()) info.sealRegistrations(false);
  if (options.deregister) forgetRegistrations(false);
}

/** DBOS.migrate: creates or migrates a system database without launching, and grants `applicationRole` its use. */
export async function migrate(systemDatabaseUrl: string, options: { schemaName?: string; applicationRole?: string }): Promise<void> {
  const location = systemDatabaseLocation({ systemDatabaseUrl, systemDatabaseSchemaName: options.schemaName }, 'migrate');
  await migrateSystemDatabase(location, { applicationRole: options.applicationRole });
}

/**
 * DBOS.clearRegistry: forgets every registration (workflows, configured instances, queues declared in code, schedules
 * declared in code, add-ons, registration info, the alert handler); for tests and development, never while launched.
 * Functions registered before may not be used afterwards; register the original functions again instead.
 */
export function clearRegistry(): void {
  if (launchedOrLaunching()) throw new DBOSError('DBOS.clearRegistry cannot be called while DBOS is launched: shut down first');
  forgetRegistrations(true);
}

/** Logs what each add-on (event receiver) listens to; launch does this once. */
export function logRegisteredEndpoints(): void {
  for (const callback of lifecycleCallbacks) callback.logRegisteredEndpoints?.();
}

/** The handler of this process's alerts (one, set before launch). */
export function setAlertHandler(handler: AlertHandler): void {
  installAlertHandler(handler, launchedOrLaunching());
}

/** Stops the add-ons, last started first; one that fails to stop is logged and does not keep the others running. */
async function destroyCallbacks(): Promise<void> {
  for (const callback of [...lifecycleCallbacks].reverse()) {
    try {
      await callback.destroy?.();
    } catch (err) {
      currentLogger().warn('A lifecycle callback failed to stop:', err);
    }
  }
}

/** Each configured instance's `initialize()`, in creation order; a failure fails the launch. */
async function initializeInstances(): Promise<void> {
  for (const instance of allInstances()) await instance.initialize?.();
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
