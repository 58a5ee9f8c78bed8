// Workflow handles. Inside a workflow, waiting for another workflow's result is itself checkpointed
// (`DBOS.getResult`, with the child's ID), so a replay gets the same answer without waiting again.

import { NATIVE_SERIALIZATION, deserializeArgs, serializeError, serializeValue } from '../serialization/index.js';
import { getWorkflow } from '../sysdb/workflows.js';
import { currentFrame } from './context.js';
import type { Executor } from './executor.js';
import { durably, replayRecorded } from './replay.js';
import { checkpoint, runEngineStep } from './steps.js';
import { decodeStored } from './corruption.js';
import { checkText } from '../validation.js';
import { toWorkflowStatus, type WorkflowStatus } from './workflow-status.js';

export interface WorkflowHandle<R> {
  readonly workflowID: string;
  getStatus(): Promise<WorkflowStatus | null>;
  getResult(options?: { pollingIntervalMs?: number }): Promise<R>;
  getWorkflowInputs<T extends unknown[] = unknown[]>(): Promise<T>;
}

/** @internal The handle the runtime gives out (users see WorkflowHandle). */
export class RuntimeWorkflowHandle<R> implements WorkflowHandle<R> {
  constructor(
    private readonly executor: Executor,
    readonly workflowID: string,
  ) {}

  getStatus(): Promise<WorkflowStatus | null> {
    return runEngineStep(this.executor, () => readStatus(this.executor, this.workflowID), 'getStatus');
  }

  getResult(options: { pollingIntervalMs?: number } = {}): Promise<R> {
    return checkpointedResult<R>(this.executor, this.workflowID, options.pollingIntervalMs);
  }

  async getWorkflowInputs<T extends unknown[] = unknown[]>(): Promise<T> {
    checkText('workflowID', this.workflowID);
    const row = await getWorkflow(this.executor.db, this.workflowID);
    return (row ? decodeStored(this.workflowID, 'workflow_input.inputs', () => deserializeArgs(row.inputs, row.serialization)) : []) as T;
  }
}

async function readStatus(executor: Executor, workflowID: string): Promise<WorkflowStatus | null> {
  checkText('workflowID', workflowID);
  const row = await getWorkflow(executor.db, workflowID);
  return row ? toWorkflowStatus(row) : null;
}

/**
 * A workflow's result; inside a workflow the wait takes a function ID (synchronously, at call time) and its outcome
 * is checkpointed. The ID may still be on its way (a workflow called directly: start, then wait).
 * @internal
 */
export function checkpointedResult<R>(executor: Executor, id: string | Promise<string>, pollIntervalMs?: number): Promise<R> {
  const frame = currentFrame();
  if (!frame || frame.step) {
    return Promise.resolve(id).then((workflowID) => executor.getResult<R>(workflowID, { pollIntervalMs }) as Promise<R>);
  }
  const ctx = frame.workflow;
  const functionID = ctx.nextFunctionID();
  return Promise.resolve(id).then((workflowID) =>
    durably<R>(ctx, functionID, 'DBOS.getResult', replayRecorded, async (settle) => {
      const startedAtEpochMs = Date.now();
      let outcome: { value: R } | { error: unknown };
      try {
        outcome = { value: (await executor.getResult<R>(workflowID, { pollIntervalMs, signal: ctx.signal })) as R };
      } catch (error) {
        outcome = { error };
      }
      ctx.throwIfStopped();
      const adopted = await checkpoint(executor, ctx, functionID, 'DBOS.getResult', {
        ...('error' in outcome
          ? { error: serializeError(outcome.error).text }
          : { output: serializeValue(outcome.value, 'native', `the result of workflow ${workflowID}`).text }),
        serialization: NATIVE_SERIALIZATION,
        childWorkflowID: workflowID,
        startedAtEpochMs,
      });
      return settle(adopted, () => {
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      });
    }),
  );
}
