// Alerts: events an operator should hear about, delivered to the handler an application gives DBOS.setAlertHandler
// (DBOS's signature: name, message, string metadata). DBOS receives alerts from its Conductor service; Transact has
// none, so these are Transact's own, raised where the engine notices them:
//
//   WorkflowMaxRecoveryAttemptsExceeded  a workflow was started too many times without finishing and was dead-lettered
//                                        (metadata: workflowID, workflowName, workflowClassName, maxRecoveryAttempts,
//                                        executorID)
//   ExecutorLeaseLapsed                  executors stopped renewing their heartbeat lease (or their process is gone)
//                                        and this executor took their unfinished workflows back to the queues
//                                        (metadata: executorIDs (comma-separated), requeuedWorkflows, takenOverBy)
//
// The engine logs each of these events either way; a handler is an addition, never a replacement. A handler that
// throws or rejects is logged and does not disturb the engine. One handler per process, set before launch.

import { DBOSError } from '../errors.js';
import type { Logger } from '../logger.js';

/** DBOS's AlertHandler: `name` is the alert's kind, `message` says what happened, `metadata` the particulars. */
export type AlertHandler = (name: string, message: string, metadata: Record<string, string>) => Promise<void>;

export const ALERT_WORKFLOW_DEAD_LETTERED = 'WorkflowMaxRecoveryAttemptsExceeded';
export const ALERT_EXECUTOR_LEASE_LAPSED = 'ExecutorLeaseLapsed';

let handler: AlertHandler | undefined;
const inFlight = new Set<Promise<void>>();

/** DBOS.setAlertHandler: one handler, set before launch (`launched` says whether the runtime is up). */
export function setAlertHandler(newHandler: AlertHandler, launched: boolean): void {
  if (typeof newHandler !== 'function') throw new DBOSError('DBOS.setAlertHandler needs a function (name, message, metadata) => Promise<void>');
  if (launched) throw new DBOSError('DBOS.setAlertHandler must be called before DBOS.launch()');
  if (handler) throw new DBOSError('An alert handler is already set; only one is allowed per process');
  handler = newHandler;
}

export function clearAlertHandler(): void {
  handler = undefined;
}

/** Delivers an alert to the application's handler, if it set one; never throws, never blocks the caller. */
export function raiseAlert(logger: Logger, name: string, message: string, metadata: Record<string, string | number | undefined | null>): void {
  const target = handler;
  if (!target) return;
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) if (value !== undefined && value !== null) strings[key] = String(value);
  const delivery = Promise.resolve()
    .then(() => target(name, message, strings))
    .catch((err) => logger.warn(`The alert handler failed on alert ${name}:`, err))
    .finally(() => inFlight.delete(delivery));
  inFlight.add(delivery);
}

/** Waits (up to `maxWaitMs`) for the alerts being delivered: shutdown does not cut a handler off mid-way. */
export async function settleAlerts(maxWaitMs = 5000): Promise<void> {
  if (inFlight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
  await Promise.race([Promise.allSettled([...inFlight]), gaveUp]);
  clearTimeout(timer);
}

/** The engine dead-lettered a workflow (MAX_RECOVERY_ATTEMPTS_EXCEEDED): src/runtime/executor.ts. */
export function alertWorkflowDeadLettered(
  logger: Logger,
  row: { workflowID: string; name: string; className: string | null },
  maxRecoveryAttempts: number,
  executorID: string,
): void {
  raiseAlert(
    logger,
    ALERT_WORKFLOW_DEAD_LETTERED,
    `Workflow ${row.workflowID} (${row.className ? `${row.className}.` : ''}${row.name}) was started more than ${maxRecoveryAttempts} ` +
      'times without completing and is now MAX_RECOVERY_ATTEMPTS_EXCEEDED; it runs again only when resumed',
    { workflowID: row.workflowID, workflowName: row.name, workflowClassName: row.className, maxRecoveryAttempts, executorID },
  );
}

/** This executor took over the work of executors whose lease lapsed: src/queues/heartbeat.ts. */
export function alertExecutorsTakenOver(logger: Logger, executorIDs: string[], requeued: number, takenOverBy: string): void {
  raiseAlert(
    logger,
    ALERT_EXECUTOR_LEASE_LAPSED,
    `Executor(s) ${executorIDs.join(', ')} stopped renewing their lease (or their process is gone); executor ${takenOverBy} ` +
      `put ${requeued} of their unfinished workflow(s) back on their queues`,
    { executorIDs: executorIDs.join(','), requeuedWorkflows: requeued, takenOverBy },
  );
}
