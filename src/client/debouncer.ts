// The Debouncer of a process that runs no workflows (dbos-spec §1.9): the workflow is named, not passed, and its
// arguments are encoded here in the format asked for. The semantics are the facade Debouncer's
// (src/queues/debounce.ts); the row is written the way a client enqueue writes it (no executor, and no application
// version unless one is given, so the latest version of the application runs it).

import type { StartWorkflowParams } from '../dbos.js';
import { randomUUID } from 'node:crypto';
import { DBOSConflictingWorkflowError, DBOSError, DBOSInvalidQueuePriorityError, DBOSQueueDuplicatedError } from '../errors.js';
import { debounceWorkflowRow, type DebouncedWorkflow } from '../sysdb/debounce.js';
import type { SqlDriver } from '../sysdb/driver.js';
import type { ClientEnqueueOptions } from './enqueue.js';
import type { WorkflowSerializationFormat } from '../messaging/options.js';
import { checkDebounceCall } from '../queues/debounce.js';
import type { WorkflowHandle } from '../runtime/handle.js';
import { serializeArgs } from '../serialization/index.js';
import type { DBOSClient } from './client.js';

export interface DebouncerClientConfig {
  workflowName: string;
  workflowClassName?: string;
  /** How each debounced workflow starts (its queue, ID, timeout, …); the key decides its deduplication ID and delay. */
  startWorkflowParams?: StartWorkflowParams;
  /** However often it is pushed back, a debounced workflow starts at most this long after its first call. */
  debounceTimeoutMs?: number;
  /** The format of the arguments (default native; `portable` for a workflow written in another language). */
  serializationType?: WorkflowSerializationFormat;
  /** The application this debounce acts for. Defaults to the client's own. */
  applicationName?: string;
}

export class DebouncerClient {
  private readonly cfg: DebouncerClientConfig;

  constructor(
    readonly client: DBOSClient,
    params: DebouncerClientConfig,
  ) {
    this.cfg = { ...params };
  }

  /** As Debouncer.debounce: starts `workflowName` later, or moves a waiting start of this key and gives it `args`. */
  async debounce(debounceKey: string, debouncePeriodMs: number, ...args: unknown[]): Promise<WorkflowHandle<unknown>> {
    checkDebounceCall(debounceKey, debouncePeriodMs, this.cfg.debounceTimeoutMs);
    const workflowName = this.cfg.workflowName;
    if (!workflowName) throw new DBOSError('DebouncerClient needs the workflowName of the workflow it starts');
    const inputs = serializeArgs(args, this.cfg.serializationType ?? 'native', `the arguments of workflow ${workflowName}`);
    return this.client.debounceWorkflow({
      key: debounceKey,
      periodMs: debouncePeriodMs,
      debounceTimeoutMs: this.cfg.debounceTimeoutMs,
      workflowName,
      workflowClassName: this.cfg.workflowClassName ?? '',
      params: this.cfg.startWorkflowParams ?? {},
      inputs,
      placement: {
        executorID: '',
        applicationVersion: null,
        applicationID: '',
        applicationName: this.cfg.applicationName ?? this.client.applicationName ?? null,
      },
    });
  }
}

/**
 * DBOSClient.enqueueDebounced (DBOS's DebouncerClient calls it once no waiting workflow holds the key): enqueues
 * `options.workflowName` DELAYED by `options.delaySeconds` as a debounced workflow holding `options.deduplicationID`,
 * whose start later calls may push back until `debounceDeadlineEpochMS`. If a waiting debounced start of the same
 * workflow already holds the deduplication ID, that start is moved and takes these arguments (what DBOS's
 * DebouncerClient does next when this call finds the key taken) and its ID is returned. Returns the workflow ID.
 */
export async function enqueueDebounced(
  db: SqlDriver,
  options: ClientEnqueueOptions,
  debounceDeadlineEpochMS: number | undefined,
  args: unknown[],
): Promise<string> {
  if (!options.queueName || !options.workflowName) throw new DBOSError('enqueueDebounced needs a queueName and a workflowName');
  if (!options.deduplicationID) throw new DBOSError('enqueueDebounced needs the deduplicationID its debounce key maps to');
  const priority = options.priority ?? 0;
  if (!(Number.isInteger(priority) && priority >= 0 && priority <= 2147483647)) throw new DBOSInvalidQueuePriorityError(priority);
  const inputs = serializeArgs(args, options.serializationType ?? 'native', `the arguments of workflow ${options.workflowName}`);
  const periodMs = Math.max(0, Math.round((options.delaySeconds ?? 0) * 1000));
  const w: DebouncedWorkflow = {
    workflowID: options.workflowID ?? randomUUID(),
    name: options.workflowName,
    className: options.workflowClassName || null,
    queueName: options.queueName,
    deduplicationID: options.deduplicationID,
    periodMs,
    debounceTimeoutMs: debounceDeadlineEpochMS === undefined ? null : Math.max(0, Math.round(debounceDeadlineEpochMS - Date.now())),
    inputs: inputs.text,
    serialization: inputs.serialization,
    applicationName: options.applicationName ?? null,
    executorID: '',
    applicationVersion: options.appVersion ?? null,
    applicationID: '',
    timeoutMS: options.workflowTimeoutMS ?? null,
    priority,
    queuePartitionKey: options.queuePartitionKey ?? null,
    authenticatedUser: options.authenticatedUser ?? null,
    authenticatedRoles: options.authenticatedRoles ? JSON.stringify(options.authenticatedRoles) : null,
    attributes: options.attributes ? JSON.stringify(options.attributes) : null,
  };
  const outcome = await debounceWorkflowRow(db, w);
  switch (outcome.kind) {
    case 'created':
    case 'extended':
    case 'exists':
      return outcome.workflowID;
    case 'id-conflict':
      throw new DBOSConflictingWorkflowError(outcome.workflowID, `it runs ${outcome.name}, not ${options.workflowName}`);
    case 'held':
      throw new DBOSQueueDuplicatedError(w.workflowID, w.queueName, w.deduplicationID);
    default:
      throw new DBOSError(`Unexpected debounce outcome ${outcome.kind}`);
  }
}
