// The read side of workflow management, written once on the system database and used by the DBOS facade, the
// client and the operator tools: list workflows with filters, get one, list a workflow's steps.

import { deserializeError, deserializeValue } from '../serialization/index.js';
import type { Queryable } from '../sysdb/driver.js';
import { countWorkflows, listWorkflows as listWorkflowRows, type WorkflowFilter } from '../sysdb/listing.js';
import { listSteps } from '../sysdb/steps.js';
import { getWorkflow } from '../sysdb/workflows.js';
import { toWorkflowStatus, type WorkflowStatus } from '../runtime/workflow-status.js';
import { checkAttributes, checkText } from '../validation.js';

type OneOrMany = string | string[];
type TimeInput = string | number | Date;

/** DBOS's GetWorkflowsInput: every filter takes one value or several. */
export interface GetWorkflowsInput {
  workflowIDs?: string[];
  workflowName?: OneOrMany;
  status?: OneOrMany;
  workflow_id_prefix?: OneOrMany;
  workflowIDPrefix?: OneOrMany;
  authenticatedUser?: OneOrMany;
  applicationVersion?: OneOrMany;
  executorId?: OneOrMany;
  queueName?: OneOrMany;
  queuesOnly?: boolean;
  parentWorkflowID?: OneOrMany;
  forkedFrom?: OneOrMany;
  scheduleName?: OneOrMany;
  startTime?: TimeInput;
  endTime?: TimeInput;
  completedAfter?: TimeInput;
  completedBefore?: TimeInput;
  /** When a queue's dispatcher took the workflow (started_at_epoch_ms). */
  dequeuedAfter?: TimeInput;
  dequeuedBefore?: TimeInput;
  /** Workflows that were (or were not) forked. */
  wasForkedFrom?: boolean;
  /** Workflows that are (or are not) forks. */
  isFork?: boolean;
  /** Child workflows (or top-level ones). */
  hasParent?: boolean;
  /** Workflows whose ID or name contains this text (ASCII letters in either case). Transact only. */
  search?: string;
  /** Workflows whose attributes contain these. */
  attributes?: Record<string, unknown>;
  /** Workflows of these applications (default: your own and unclaimed ones). */
  applicationName?: OneOrMany;
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
  loadInput?: boolean;
  loadOutput?: boolean;
}

export interface StepInfo {
  readonly functionID: number;
  readonly name: string;
  readonly output: unknown;
  readonly error: unknown;
  readonly childWorkflowID: string | null;
  readonly startedAtEpochMs?: number;
  readonly completedAtEpochMs?: number;
}

/** One filter value or several, as a list; each a text the database can compare (no NUL). */
const many = (v: OneOrMany | undefined, what = 'A listing filter'): string[] | undefined => {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  for (const value of list) checkText(what, value);
  return list;
};

function epochMs(v: TimeInput | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new TypeError(`Not a valid time: ${String(v)}`);
  return ms;
}

export function toFilter(input: GetWorkflowsInput, applicationName?: string): WorkflowFilter {
  for (const key of ['limit', 'offset'] as const) {
    const value = input[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
  }
  if (input.attributes !== undefined) checkAttributes(input.attributes);
  return {
    workflowIDs: many(input.workflowIDs, 'workflowIDs'),
    workflowName: many(input.workflowName),
    status: many(input.status),
    workflowIDPrefix: many(input.workflowIDPrefix ?? input.workflow_id_prefix),
    authenticatedUser: many(input.authenticatedUser),
    applicationVersion: many(input.applicationVersion),
    executorID: many(input.executorId),
    queueName: many(input.queueName),
    queuesOnly: input.queuesOnly,
    parentWorkflowID: many(input.parentWorkflowID),
    forkedFrom: many(input.forkedFrom),
    scheduleName: many(input.scheduleName),
    startTime: epochMs(input.startTime),
    endTime: epochMs(input.endTime),
    completedAfter: epochMs(input.completedAfter),
    completedBefore: epochMs(input.completedBefore),
    dequeuedAfter: epochMs(input.dequeuedAfter),
    dequeuedBefore: epochMs(input.dequeuedBefore),
    wasForkedFrom: input.wasForkedFrom,
    isFork: input.isFork,
    hasParent: input.hasParent,
    search: input.search === undefined || input.search === '' ? undefined : checkText('search', input.search),
    attributes: input.attributes,
    applicationName,
    applicationNames: many(input.applicationName),
    limit: input.limit,
    offset: input.offset,
    sortDesc: input.sortDesc,
    loadInput: input.loadInput,
    loadOutput: input.loadOutput,
  };
}

export async function listWorkflowStatuses(db: Queryable, input: GetWorkflowsInput, applicationName?: string): Promise<WorkflowStatus[]> {
  return (await listWorkflowRows(db, toFilter(input, applicationName))).map(toWorkflowStatus);
}

/** How many workflows match (limit and offset aside). */
export async function countWorkflowStatuses(db: Queryable, input: GetWorkflowsInput, applicationName?: string): Promise<number> {
  return countWorkflows(db, toFilter({ ...input, limit: undefined, offset: undefined }, applicationName));
}

export async function getWorkflowStatus(db: Queryable, workflowID: string): Promise<WorkflowStatus | null> {
  checkText('workflowID', workflowID);
  const row = await getWorkflow(db, workflowID);
  return row ? toWorkflowStatus(row) : null;
}

/** DBOS's paging of listWorkflowSteps. */
export interface ListWorkflowStepsOptions {
  limit?: number;
  offset?: number;
}

/** The workflow's steps in function-ID order; undefined when the workflow does not exist. */
export async function listWorkflowSteps(db: Queryable, workflowID: string, options: ListWorkflowStepsOptions = {}): Promise<StepInfo[] | undefined> {
  checkText('workflowID', workflowID);
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
  }
  const [row, steps] = await Promise.all([getWorkflow(db, workflowID), listSteps(db, workflowID, options)]);
  if (!row) return undefined;
  return steps.map((s) => ({
    functionID: s.functionID,
    name: s.name,
    output: s.output === null ? null : decodeOrRaw(() => deserializeValue(s.output, s.serialization), s.output),
    error: s.error === null ? null : decodeOrRaw(() => deserializeError(s.error!, s.serialization), s.error),
    childWorkflowID: s.childWorkflowID,
    startedAtEpochMs: s.startedAtEpochMs ?? undefined,
    completedAtEpochMs: s.completedAtEpochMs ?? undefined,
  }));
}

function decodeOrRaw(decode: () => unknown, raw: string): unknown {
  try {
    return decode();
  } catch {
    return raw;
  }
}
