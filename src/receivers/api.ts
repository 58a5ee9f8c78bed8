// The receiver API (`transact/eventreceiver`), for anyone writing an event receiver: the surface of DBOS's
// `@dbos-inc/dbos-sdk/eventreceiver`, so a receiver written against DBOS runs here unchanged, and the ground Transact's
// own receivers (Kafka, Redis Streams, NATS JetStream, PostgreSQL table changes) stand on.
//
//   prepareEnqueuedWorkflow(fn, args, {queueName, workflowID, queuePartitionKey?})  an ENQUEUED row, not yet stored
//   enqueueWorkflows(prepared)       stores a batch in one statement; IDs that exist already are skipped, so a batch
//                                    delivered again changes nothing; returns the IDs this call stored. Throws when the
//                                    database is away (after the usual retry budget): retry the same batch, and
//                                    acknowledge nothing to the source until it succeeds
//   registerPollerQueue(name)        this process feeds the queue, so it dispatches it even under listenQueues
//   registerInternalQueue(name, o)   declares (or finds) a queue of this process's own
//   isPartitionedQueue(queue)        whether a queue only runs rows that carry a partition key
//   getQueue(name)                   a queue declared in this process, else one registered in the database, else null
//
// Rows of one batch are created in the order given (each a millisecond or more after the one before, never before
// the last row this process created), which is the order a queue runs them in: a receiver that promises order per
// partition key gets it by giving its messages in order.

import { engine as engineForAddOn } from '../process/state.js';
import { DBOSInvalidWorkflowInputError, DBOSNotRegisteredError } from '../errors.js';
import { NATIVE_SERIALIZATION, PORTABLE_SERIALIZATION, serializeArgs } from '../serialization/index.js';
import { insertQueuedBatch } from '../sysdb/batch-enqueue.js';
import { attachRow, stampedRows } from './prepared.js';
import { DBOS } from '../dbos.js';
import { checkStartOptions } from '../validation.js';
import { findQueue, registerPollerQueue as markPollerQueue, WorkflowQueue, type QueueParameters } from '../queues/workflow-queue.js';
import { describe as describeWorkflow } from '../runtime/registry.js';
import { randomUUID } from 'node:crypto';

export interface PrepareEnqueuedWorkflowOptions {
  /** The queue the workflow is enqueued on. */
  readonly queueName: string;
  /** The workflow ID: also what makes a second delivery of the same event harmless, so it must be deterministic. */
  readonly workflowID: string;
  /** The partition key, for a partitioned queue. */
  readonly queuePartitionKey?: string;
}

/** An ENQUEUED workflow, built by prepareEnqueuedWorkflow, stored by enqueueWorkflows. */
export interface PreparedWorkflow {
  readonly workflowUUID: string;
  readonly status: 'ENQUEUED';
  readonly workflowName: string;
  readonly workflowClassName: string;
  readonly queueName: string;
  readonly queuePartitionKey?: string;
}


/**
 * Builds, without storing, the ENQUEUED row of registered workflow `workflow` with `args`. The row inherits nothing
 * from the caller's context (no parent, no authenticated user). Throws DBOSInvalidWorkflowInputError when this
 * message's own content cannot be stored (its arguments do not serialize, an ID too long): a receiver may drop that
 * one message. Any other error (not launched, not a registered workflow) is the same for every message.
 */
export async function prepareEnqueuedWorkflow<Args extends unknown[], Return>(
  workflow: (...args: Args) => Promise<Return>,
  args: Args,
  options: PrepareEnqueuedWorkflowOptions,
): Promise<PreparedWorkflow> {
  const engine = engineForAddOn('prepareEnqueuedWorkflow');
  const reg = engine.registry.forFunction(workflow as never);
  if (!reg) throw new DBOSNotRegisteredError(workflow?.name || 'anonymous function', `${workflow?.name || 'anonymous function'} is not a registered workflow`);
  const name = describeWorkflow(reg.className, reg.name);
  if (reg.instanceMethod) {
    throw new DBOSNotRegisteredError(name, `${name} is an instance method: a receiver can only enqueue static methods and functions`);
  }
  if (typeof options?.queueName !== 'string' || typeof options.workflowID !== 'string') {
    throw new DBOSInvalidWorkflowInputError(`${name}: prepareEnqueuedWorkflow needs a queueName and a workflowID`);
  }
  checkStartOptions({ workflowID: options.workflowID, queueName: options.queueName, queuePartitionKey: options.queuePartitionKey });
  await engine.requireQueue(options.queueName, options.queuePartitionKey);
  const format = reg.config.serialization ?? 'native';
  const inputs = serializeArgs(engine.validateArgs(reg, args), format, `the arguments of workflow ${name}`);
  const prepared: PreparedWorkflow = {
    workflowUUID: options.workflowID,
    status: 'ENQUEUED',
    workflowName: reg.name,
    workflowClassName: reg.className,
    queueName: options.queueName,
    ...(options.queuePartitionKey !== undefined ? { queuePartitionKey: options.queuePartitionKey } : {}),
  };
  attachRow(prepared, {
    workflowID: options.workflowID,
    name: reg.name,
    className: reg.className || null,
    queueName: options.queueName,
    queuePartitionKey: options.queuePartitionKey ?? null,
    applicationVersion: engine.identity.applicationVersion,
    serialization: format === 'portable' ? PORTABLE_SERIALIZATION : NATIVE_SERIALIZATION,
    inputs: inputs.text,
    createdAtEpochMs: null,
    creatorXid: randomUUID(),
  });
  return prepared;
}

/**
 * Stores prepared workflows in one statement (one transaction on SQLite), in the order given. A workflow whose ID
 * exists already is skipped, whatever it runs. Returns the IDs stored by this call.
 */
export async function enqueueWorkflows(workflows: readonly PreparedWorkflow[]): Promise<Set<string>> {
  const engine = engineForAddOn('enqueueWorkflows');
  const stamped = stampedRows(workflows, 'enqueueWorkflows');
  if (stamped.length === 0) return new Set();
  const inserted = await insertQueuedBatch(engine.db, stamped, engine.identity);
  for (const queueName of new Set(stamped.filter((r) => inserted.has(r.workflowID)).map((r) => r.queueName))) {
    engine.enqueueListener?.workflowEnqueued(queueName);
  }
  return inserted;
}

/** This process feeds `name` with a poller of its own: it dispatches that queue even when listenQueues names others. */
export function registerPollerQueue(name: string): void {
  markPollerQueue(name);
}

/** The queue of this name declared in this process, or a new one declared with `params` (before launch, normally). */
export function registerInternalQueue(name: string, params: QueueParameters = {}): WorkflowQueue {
  return findQueue(name) ?? new WorkflowQueue(name, params);
}

/** Whether the queue runs only rows that carry a partition key. */
export function isPartitionedQueue(queue: WorkflowQueue): boolean {
  return queue.partitionQueue;
}

/** A queue declared in this process under `name`, else one registered in the system database, else null. */
export async function getQueue(name: string): Promise<WorkflowQueue | null> {
  return findQueue(name) ?? (await DBOS.retrieveQueue(name));
}

export { receiverStatuses, type ReceiverStatus, type ReceiverState } from './status.js';
