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
//   WorkflowFailedInfrastructure         a workflow was failed by the engine, not by its own code: its row could not be
//                                        read, its workflow is not registered in the process that claimed it, or its
//                                        input could not be decoded (metadata: workflowID, workflowName, reason,
//                                        executorID)
//   QueueWaitExceeded                    a queue's oldest waiting workflow has waited longer than the threshold
//                                        (`alerts.queueWaitThresholdMs`); raised once until the queue drains below it
//                                        (metadata: queueName, oldestWaitMs, thresholdMs, waiting)
//   EventReceiverCrashed                 an event receiver's client (a Kafka consumer, a Redis or NATS connection, a
//                                        PostgreSQL listener) failed; it is being rebuilt with backoff (metadata:
//                                        source, consumer, group, error, crashes, rebuildInMs)
//
// The engine logs each of these events either way; a handler is an addition, never a replacement. A handler that
// throws or rejects is logged and does not disturb the engine. One handler per process, set before launch.

import { DBOSError } from '../errors.js';
import type { Logger } from '../logger.js';
import { alertsRaised } from '../metrics/instruments.js';

/** DBOS's AlertHandler: `name` is the alert's kind, `message` says what happened, `metadata` the particulars. */
export type AlertHandler = (name: string, message: string, metadata: Record<string, string>) => Promise<void>;

export const ALERT_WORKFLOW_DEAD_LETTERED = 'WorkflowMaxRecoveryAttemptsExceeded';
export const ALERT_EXECUTOR_LEASE_LAPSED = 'ExecutorLeaseLapsed';
export const ALERT_WORKFLOW_FAILED_INFRASTRUCTURE = 'WorkflowFailedInfrastructure';
export const ALERT_QUEUE_WAIT_EXCEEDED = 'QueueWaitExceeded';
export const ALERT_EVENT_RECEIVER_CRASHED = 'EventReceiverCrashed';

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
  alertsRaised.inc(name);
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

/** The engine failed a workflow for a reason outside its code (src/runtime/executor.ts); the caller logs the error. */
export function alertWorkflowFailedInfrastructure(
  logger: Logger,
  row: { workflowID: string; name: string; className: string | null },
  reason: string,
  executorID: string,
): void {
  raiseAlert(
    logger,
    ALERT_WORKFLOW_FAILED_INFRASTRUCTURE,
    `Workflow ${row.workflowID} (${row.className ? `${row.className}.` : ''}${row.name}) was failed by the engine: ${reason}`,
    { workflowID: row.workflowID, workflowName: row.name, workflowClassName: row.className, reason, executorID },
  );
}

/** A queue's oldest waiting workflow waited past the threshold (src/ops/queue-watch.ts); logged here, once. */
export function alertQueueWaitExceeded(logger: Logger, queueName: string, oldestWaitMs: number, thresholdMs: number, waiting: number): void {
  const message =
    `Queue ${queueName}: its oldest waiting workflow has waited ${Math.round(oldestWaitMs / 1000)} s, longer than the ` +
    `threshold of ${Math.round(thresholdMs / 1000)} s (${waiting} waiting)`;
  logger.warn(message);
  raiseAlert(logger, ALERT_QUEUE_WAIT_EXCEEDED, message, { queueName, oldestWaitMs: Math.round(oldestWaitMs), thresholdMs, waiting });
}

/**
 * An event receiver's client crashed (src/receivers/status.ts), and is being rebuilt in `rebuildInMs`. Logged here,
 * with the error and its cause; receivers call this instead of logging themselves.
 */
export function alertReceiverCrashed(
  logger: Logger,
  c: { source: string; consumer: string; group: string; error: string; crashes: number; rebuildInMs: number },
  error: unknown,
): void {
  const message = `${c.source} consumer ${c.consumer} (${c.group}) crashed: ${c.error}; rebuilding it in ${c.rebuildInMs} ms`;
  logger.error(message, error);
  raiseAlert(logger, ALERT_EVENT_RECEIVER_CRASHED, message, {
    source: c.source,
    consumer: c.consumer,
    group: c.group,
    error: c.error,
    crashes: c.crashes,
    rebuildInMs: c.rebuildInMs,
  });
}
