// DBOS.enqueueWorkflowWithOptions: an application enqueues a workflow by name, with the client's options, without a
// reference to its function (it may be implemented by another process, or in another language). The row is the one a
// DBOSClient writes (src/runtime/enqueue.ts), stamped with this process and, inside a workflow, with its parent.

import { checkClientEnqueueOptions, enqueueByNameRow, type ClientEnqueueOptions } from './enqueue.js';
import { currentFrame, nextStartStorage, type WorkflowContext } from './context.js';
import type { Executor } from './executor.js';
import { childStart, startChild } from './child-start.js';
import { warnIfUndeclared } from './undeclared-queue.js';

/** DBOS's EnqueueWorkflowOptions: the options of DBOSClient.enqueue. */
export type EnqueueWorkflowOptions = ClientEnqueueOptions;

/** Whether this application has the queue (declared in code or registered); may throw for an unusable enqueue. */
export type QueueCheck = (queueName: string, partitionKey: string | undefined) => boolean | Promise<boolean>;

/**
 * Enqueues and returns the workflow's ID. Inside workflow code the enqueue is a child start: it takes a function ID
 * now (synchronously, as every durable call does), its row is written together with the parent's step row (named
 * after the workflow, with `child_workflow_id`), and without an explicit ID the child is `<parentID>-<functionID>`,
 * so a replay finds the same child instead of enqueueing another. A failure the database decided (a duplicate
 * deduplication ID, an ID in use) is recorded too, and a replay throws it again.
 * @internal
 */
export function enqueueByName(
  executor: Executor,
  queueExists: QueueCheck,
  options: EnqueueWorkflowOptions,
  args: unknown[],
): Promise<string> {
  checkClientEnqueueOptions(options); // before a function ID is taken or anything is read
  const frame = currentFrame();
  const parent = frame && !frame.step ? frame.workflow : undefined;
  const functionID = parent?.nextFunctionID();
  // The caller's identity (withAuthedContext, or the calling workflow's) unless the options name one.
  const ambient = nextStartStorage.getStore();
  const parentRoles = parent?.authenticatedRoles.length ? parent.authenticatedRoles : undefined;
  const withDefaults: EnqueueWorkflowOptions = {
    ...options,
    authenticatedUser: options.authenticatedUser ?? ambient?.authenticatedUser ?? parent?.authenticatedUser ?? undefined,
    authenticatedRoles: options.authenticatedRoles ?? ambient?.authenticatedRoles ?? parentRoles,
    applicationName: options.applicationName ?? executor.identity.applicationName,
  };
  return parent && functionID !== undefined
    ? enqueueAsChild(executor, queueExists, withDefaults, args, parent, functionID)
    : enqueueChecked(executor, queueExists, withDefaults, args);
}

async function enqueueChecked(
  executor: Executor,
  queueExists: QueueCheck,
  options: EnqueueWorkflowOptions,
  args: unknown[],
  parent?: { ctx: WorkflowContext; functionID: number; startedAtEpochMs: number },
): Promise<string> {
  // Another application's queues are its own business; one of ours that no process declared yet waits for one to.
  if (options.queueName && options.applicationName === executor.identity.applicationName) {
    await warnIfUndeclared(executor, queueExists, executor.logger, options.queueName, options.queuePartitionKey);
  }
  const { identity } = executor;
  const workflowID = await enqueueByNameRow(executor.db, options, args, undefined, {
    executorID: identity.executorID,
    applicationID: identity.applicationID,
    parent: parent && {
      workflowID: parent.ctx.workflowID,
      ownerXid: parent.ctx.ownerXid,
      functionID: parent.functionID,
      functionName: options.workflowName,
      startedAtEpochMs: parent.startedAtEpochMs,
      rejectExisting: options.workflowIDReusePolicy === 'reject',
    },
  });
  // The row is committed: this process's dispatcher claims it at once, and the others are told (coalesced).
  executor.enqueueListener?.workflowEnqueued(options.queueName, (options.delaySeconds ?? 0) > 0);
  return workflowID;
}

async function enqueueAsChild(
  executor: Executor,
  queueExists: QueueCheck,
  options: EnqueueWorkflowOptions,
  args: unknown[],
  ctx: WorkflowContext,
  functionID: number,
): Promise<string> {
  return childStart(ctx, functionID, options.workflowName, (settle) => {
    const startedAtEpochMs = Date.now();
    const workflowID = options.workflowID ?? `${ctx.workflowID}-${functionID}`;
    const asChild = { ctx, functionID, startedAtEpochMs };
    return startChild(executor, ctx, functionID, options.workflowName, startedAtEpochMs, settle, () =>
      enqueueChecked(executor, queueExists, { ...options, workflowID }, args, asChild),
    );
  }, options.workflowID);
}
