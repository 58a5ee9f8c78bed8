// The Debouncer of a process that runs no workflows (dbos-spec §1.9): the workflow is named, not passed, and its
// arguments are encoded here in the format asked for. The semantics are the facade Debouncer's
// (src/queues/debounce.ts); the row is written the way a client enqueue writes it (no executor, and no application
// version unless one is given, so the latest version of the application runs it).

import { DBOSError } from '../errors.js';
import type { StartWorkflowParams } from '../runtime/start-params.js';
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
