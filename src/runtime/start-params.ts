// DBOS's StartWorkflowParams (DBOS.startWorkflow, the Debouncer, the DebouncerClient) and how they become the
// engine's StartOptions, checked as every start is (src/validation.ts).

import { DBOSError } from '../errors.js';
import { checkStartOptions } from '../validation.js';
import type { StartOptions } from './executor.js';
import type { WorkflowHandle } from './handle.js';

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
    /** The application whose processes run it (default: this one). */
    applicationName?: string;
  };
  /** When the deduplication ID is taken: throw DBOSQueueDuplicatedError (`reject`, the default) or return the holder. */
  duplicationPolicy?: 'reject' | 'return-existing';
  workflowIDReusePolicy?: 'return-existing' | 'reject';
  authenticatedUser?: string;
  authenticatedRoles?: string[];
  workflowAttributes?: Record<string, unknown>;
}

/** @internal The engine's options for a start with these parameters; throws for parameters no start accepts. */
export function toStartOptions(params: StartWorkflowParams = {}): StartOptions {
  const enqueue = params.enqueueOptions;
  if (enqueue && !params.queueName) {
    throw new DBOSError('enqueueOptions need a queueName: they only apply to workflows started on a queue');
  }
  const priority = enqueue?.priority;
  return checkStartOptions({
    workflowID: params.workflowID,
    queueName: params.queueName,
    timeoutMS: params.timeoutMS,
    deduplicationID: enqueue?.deduplicationID,
    priority,
    queuePartitionKey: enqueue?.queuePartitionKey,
    delaySeconds: enqueue?.delaySeconds,
    applicationVersion: enqueue?.applicationVersion,
    applicationName: enqueue?.applicationName,
    duplicationPolicy: params.duplicationPolicy,
    workflowIDReusePolicy: params.workflowIDReusePolicy,
    authenticatedUser: params.authenticatedUser,
    authenticatedRoles: params.authenticatedRoles,
    attributes: params.workflowAttributes,
  });
}

/** `DBOS.startWorkflow(SomeClass)` turns each workflow method into one that starts it and returns a handle. */
export type WorkflowStarters<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<unknown> ? K : never]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<WorkflowHandle<R>>
    : never;
};
