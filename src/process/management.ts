// The facade's management calls (src/management/ holds what they do, shared with the client): each runs on the
// engine serving the call, is a checkpointed step inside a workflow (dbos-spec §3.1), and tells this process what it
// changed: a workflow put back on a queue wakes the dispatcher, a cancelled or deleted one stops its local run.

import {
  cancelWorkflows as cancelRows,
  deleteWorkflows as deleteRows,
  forkWorkflow as forkRow,
  latestApplicationVersion,
  listApplicationVersions as listVersions,
  resumeWorkflows as resumeRows,
  rewindWorkflow as rewindRow,
  setLatestApplicationVersion as setLatestVersion,
  setWorkflowDelay as setDelay,
  setWorkflowPriority as setPriority,
  type ForkOptions,
  type RewindOptions,
  type VersionInfo,
  type WorkflowDelay,
} from '../management/control.js';
import {
  getWorkflowStatus as readWorkflowStatus,
  listWorkflowStatuses,
  listWorkflowSteps as readWorkflowSteps,
  type GetWorkflowsInput,
  type ListWorkflowStepsOptions,
  type StepInfo,
} from '../management/inspect.js';
import type { Executor } from '../runtime/executor.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import { asStep, current, engine } from './state.js';

/** `fn` on the engine serving the call, recorded as step `DBOS.<name>` inside a workflow. */
function managed<T>(name: string, fn: (executor: Executor) => Promise<T>): Promise<T> {
  const executor = engine(`DBOS.${name}`);
  return asStep(`DBOS.${name}`, () => fn(executor));
}

/** Work was put back on `queueName` (the internal queue by default): this process's dispatcher claims it at once. */
function wakeDispatcher(executor: Executor, queueName: string | undefined): void {
  executor.enqueueListener?.workflowEnqueued(queueName ?? INTERNAL_QUEUE);
}

export function listWorkflows(input: GetWorkflowsInput): Promise<WorkflowStatus[]> {
  return managed('listWorkflows', (executor) => listWorkflowStatuses(executor.db, input, executor.identity.applicationName));
}

export function listQueuedWorkflows(input: GetWorkflowsInput): Promise<WorkflowStatus[]> {
  const queued = { ...input, queuesOnly: true, status: input.status ?? ['ENQUEUED', 'PENDING', 'DELAYED'], loadOutput: false };
  return managed('listQueuedWorkflows', (executor) => listWorkflowStatuses(executor.db, queued, executor.identity.applicationName));
}

export function listWorkflowSteps(workflowID: string, options: ListWorkflowStepsOptions): Promise<StepInfo[] | undefined> {
  return managed('listWorkflowSteps', (executor) => readWorkflowSteps(executor.db, workflowID, options));
}

/** Not checkpointed (as in DBOS). */
export function getWorkflow(workflowID: string): Promise<WorkflowStatus | null> {
  return readWorkflowStatus(engine('DBOS.getWorkflow').db, workflowID);
}

export function cancelWorkflows(workflowIDs: string[], options: { cancelChildren?: boolean }): Promise<void> {
  return managed('cancelWorkflow', async (executor) => {
    for (const id of await cancelRows(executor.db, workflowIDs, options)) executor.stopLocal(id);
  });
}

export function resumeWorkflows(workflowIDs: string[], options: { queueName?: string }): Promise<void> {
  return managed('resumeWorkflow', async (executor) => {
    await resumeRows(executor.db, workflowIDs, options);
    wakeDispatcher(executor, options.queueName);
  });
}

/** The fork's workflow ID. */
export function forkWorkflow(workflowID: string, startStep: number, options: ForkOptions): Promise<string> {
  return managed('forkWorkflow', async (executor) => {
    const id = await forkRow(executor.db, workflowID, startStep, options);
    wakeDispatcher(executor, options.queueName);
    return id;
  });
}

export function rewindWorkflow(workflowID: string, options: RewindOptions): Promise<void> {
  return managed('rewindWorkflow', async (executor) => {
    await rewindRow(executor.db, workflowID, options);
    wakeDispatcher(executor, options.queueName);
  });
}

export function deleteWorkflows(workflowIDs: string[], deleteChildren: boolean): Promise<void> {
  return managed('deleteWorkflow', async (executor) => {
    // A run of a deleted workflow here stops: its fenced writes could record nothing anyway.
    for (const id of await deleteRows(executor.db, workflowIDs, { deleteChildren })) executor.stopLocal(id);
  });
}

export function setWorkflowPriority(workflowID: string, priority: number): Promise<void> {
  return managed('setWorkflowPriority', (executor) => setPriority(executor.db, workflowID, priority));
}

export function setWorkflowDelay(workflowID: string, delay: WorkflowDelay): Promise<void> {
  return managed('setWorkflowDelay', async (executor) => {
    await setDelay(executor.db, workflowID, delay);
  });
}

/** This application's versions (and unclaimed ones), the latest first. */
export function listApplicationVersions(): Promise<VersionInfo[]> {
  return managed('listApplicationVersions', (executor) => listVersions(executor.db, executor.identity.applicationName));
}

export function getLatestApplicationVersion(): Promise<VersionInfo | null> {
  return managed('getLatestApplicationVersion', async (executor) => (await latestApplicationVersion(executor.db, executor.identity.applicationName)) ?? null);
}

export function setLatestApplicationVersion(versionName: string): Promise<void> {
  const here = current();
  return managed('setLatestApplicationVersion', async (executor) => {
    await setLatestVersion(executor.db, versionName, executor.identity.applicationName);
    // This process's dispatcher takes unversioned work only while it runs the latest version.
    here?.noteLatestVersion(versionName === executor.identity.applicationVersion);
  });
}
