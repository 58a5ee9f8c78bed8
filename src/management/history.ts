// A workflow's recorded execution as a JSON document: its row (input, outcome, identity) and every step it recorded,
// each value exactly as stored. Exported by the client (DBOSClient.exportWorkflowHistory), the command line
// (`transact workflow export <id>`) and the console; replayed against new code by replayTest (transact/testing).

import type { Queryable } from '../sysdb/driver.js';
import { listSteps } from '../sysdb/steps.js';
import { getWorkflow } from '../sysdb/workflows.js';
import { checkText } from '../validation.js';

export const HISTORY_FORMAT = 'transact.workflow-history';

export interface HistoryStep {
  functionID: number;
  name: string;
  /** The stored text (in `serialization`), null when none. */
  output: string | null;
  error: string | null;
  childWorkflowID: string | null;
  serialization: string | null;
  startedAtEpochMs: number | null;
  completedAtEpochMs: number | null;
}

export interface WorkflowHistory {
  format: typeof HISTORY_FORMAT;
  version: 1;
  exportedAt: string;
  workflow: {
    workflowID: string;
    name: string;
    className: string | null;
    configName: string | null;
    status: string;
    applicationName: string | null;
    applicationVersion: string | null;
    executorID: string | null;
    parentWorkflowID: string | null;
    queueName: string | null;
    createdAt: number;
    updatedAt: number;
    authenticatedUser: string | null;
    authenticatedRoles: string[];
    assumedRole: string | null;
    /** The name of the format `inputs`, `output` and `error` are stored in. */
    serialization: string | null;
    inputs: string | null;
    output: string | null;
    error: string | null;
  };
  steps: HistoryStep[];
}

/** The workflow's history, or undefined when there is no such workflow. */
export async function exportHistory(db: Queryable, workflowID: string): Promise<WorkflowHistory | undefined> {
  checkText('workflowID', workflowID);
  const row = await getWorkflow(db, workflowID);
  if (!row) return undefined;
  const steps = await listSteps(db, workflowID);
  let roles: string[] = [];
  try {
    roles = row.authenticatedRoles ? (JSON.parse(row.authenticatedRoles) as string[]) : [];
  } catch {
    roles = [];
  }
  return {
    format: HISTORY_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    workflow: {
      workflowID: row.workflowID,
      name: row.name,
      className: row.className,
      configName: row.configName,
      status: row.status,
      applicationName: row.applicationName,
      applicationVersion: row.applicationVersion,
      executorID: row.executorID,
      parentWorkflowID: row.parentWorkflowID,
      queueName: row.queueName,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      authenticatedUser: row.authenticatedUser,
      authenticatedRoles: roles,
      assumedRole: row.assumedRole,
      serialization: row.serialization,
      inputs: row.inputs ?? null,
      output: row.output ?? null,
      error: row.error ?? null,
    },
    steps: steps.map((s) => ({
      functionID: s.functionID,
      name: s.name,
      output: s.output,
      error: s.error,
      childWorkflowID: s.childWorkflowID,
      serialization: s.serialization,
      startedAtEpochMs: s.startedAtEpochMs,
      completedAtEpochMs: s.completedAtEpochMs,
    })),
  };
}

/** Checks that a parsed document is a workflow history this version reads; returns it typed. */
export function checkHistory(value: unknown): WorkflowHistory {
  const h = value as Partial<WorkflowHistory> | null;
  if (!h || typeof h !== 'object' || h.format !== HISTORY_FORMAT) {
    throw new TypeError(`not a workflow history: expected "format": "${HISTORY_FORMAT}" (export one with \`transact workflow export <id>\`)`);
  }
  if (h.version !== 1) throw new TypeError(`workflow history version ${String(h.version)} is not supported (this version reads version 1)`);
  if (!h.workflow || typeof h.workflow.workflowID !== 'string' || typeof h.workflow.name !== 'string' || !Array.isArray(h.steps)) {
    throw new TypeError('not a workflow history: it needs a workflow (with workflowID and name) and steps');
  }
  for (const s of h.steps) {
    if (typeof s?.functionID !== 'number' || typeof s.name !== 'string') throw new TypeError('not a workflow history: every step needs a functionID and a name');
  }
  return h as WorkflowHistory;
}
