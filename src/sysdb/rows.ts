// Typed shapes of the rows the engine reads, and the mapping from raw database rows (which differ by dialect:
// SQLite returns 0/1 for booleans and text for JSONB) to them.

export type WorkflowStatusString =
  | 'PENDING'
  | 'ENQUEUED'
  | 'DELAYED'
  | 'SUCCESS'
  | 'ERROR'
  | 'CANCELLED'
  | 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';

export const INTERNAL_QUEUE = '_dbos_internal_queue';

/** One `workflow_status` row, with its payloads from `workflow_input` / `workflow_output` when they were read. */
export interface WorkflowRow {
  workflowID: string;
  status: WorkflowStatusString;
  name: string;
  className: string | null;
  configName: string | null;
  authenticatedUser: string | null;
  assumedRole: string | null;
  authenticatedRoles: string | null;
  executorID: string | null;
  createdAt: number;
  updatedAt: number;
  applicationVersion: string | null;
  applicationID: string | null;
  applicationName: string | null;
  recoveryAttempts: number;
  queueName: string | null;
  timeoutMS: number | null;
  deadlineEpochMS: number | null;
  startedAtEpochMs: number | null;
  deduplicationID: string | null;
  priority: number;
  queuePartitionKey: string | null;
  forkedFrom: string | null;
  wasForkedFrom: boolean;
  parentWorkflowID: string | null;
  serialization: string | null;
  delayUntilEpochMS: number | null;
  completedAt: number | null;
  attributes: Record<string, unknown> | null;
  scheduleName: string | null;
  ownerXid: string | null;
  creatorXid: string | null;
  inputs?: string | null;
  output?: string | null;
  error?: string | null;
  /** Columns of this row that could not be read (empty for a healthy row); see toWorkflowRow. */
  problems: RowProblem[];
}

/**
 * A value of a `workflow_status` row this process cannot read (written by hand, by another tool, or by an older
 * version). The row is still returned, with that field null (or as stored, when it is a number), so a listing shows
 * it; whether the row can run is the runtime's decision (src/runtime/corruption.ts).
 */
export interface RowProblem {
  /** The column, e.g. `authenticated_roles`. */
  column: string;
  problem: string;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set([
  'PENDING',
  'ENQUEUED',
  'DELAYED',
  'SUCCESS',
  'ERROR',
  'CANCELLED',
  'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
]);

/** The serialization names the engine reads (NULL: written before the column existed). */
export const KNOWN_SERIALIZATIONS: ReadonlySet<string> = new Set(['js_superjson', 'portable_json']);

/** Epoch milliseconds a JavaScript Date can hold (±8.64e15). */
const MAX_EPOCH_MS = 8.64e15;

/**
 * Never throws: every column the engine interprets is checked, and what cannot be read is reported in `problems`
 * (empty for a healthy row) instead of failing the claim, the listing or the lookup that met it.
 */
export function toWorkflowRow(r: Record<string, unknown>): WorkflowRow {
  const problems: RowProblem[] = [];
  const rawStatus = r.status === 'RETRIES_EXCEEDED' ? 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' : r.status;
  if (typeof rawStatus !== 'string' || !KNOWN_STATUSES.has(rawStatus)) {
    problems.push({ column: 'status', problem: `unknown status ${describeRaw(rawStatus)}` });
  }
  const serialization = textOrNull(r.serialization);
  if (serialization !== null && !KNOWN_SERIALIZATIONS.has(serialization)) {
    const origin = serialization === 'py_pickle' ? ' (written by DBOS for Python)' : '';
    problems.push({ column: 'serialization', problem: `unknown serialization format ${describeRaw(serialization)}${origin}` });
  }
  const epoch = (column: string) => epochColumn(r[column], column, problems);
  const authenticatedRoles = textOrNull(r.authenticated_roles);
  if (authenticatedRoles !== null) checkRolesText(authenticatedRoles, problems);
  return {
    workflowID: r.workflow_uuid as string,
    status: (typeof rawStatus === 'string' ? rawStatus : String(rawStatus)) as WorkflowStatusString,
    name: r.name as string,
    className: (r.class_name as string | null) ?? null,
    configName: (r.config_name as string | null) ?? null,
    authenticatedUser: (r.authenticated_user as string | null) ?? null,
    assumedRole: (r.assumed_role as string | null) ?? null,
    authenticatedRoles,
    executorID: (r.executor_id as string | null) ?? null,
    createdAt: epoch('created_at') ?? Number.NaN,
    updatedAt: epoch('updated_at') ?? Number.NaN,
    applicationVersion: (r.application_version as string | null) ?? null,
    applicationID: (r.application_id as string | null) ?? null,
    applicationName: (r.application_name as string | null) ?? null,
    recoveryAttempts: integerColumn(r.recovery_attempts, 'recovery_attempts', problems),
    queueName: (r.queue_name as string | null) ?? null,
    timeoutMS: durationColumn(r.workflow_timeout_ms, 'workflow_timeout_ms', problems),
    deadlineEpochMS: epoch('workflow_deadline_epoch_ms'),
    startedAtEpochMs: epoch('started_at_epoch_ms'),
    deduplicationID: (r.deduplication_id as string | null) ?? null,
    priority: integerColumn(r.priority, 'priority', problems),
    queuePartitionKey: (r.queue_partition_key as string | null) ?? null,
    forkedFrom: (r.forked_from as string | null) ?? null,
    wasForkedFrom: Boolean(r.was_forked_from),
    parentWorkflowID: (r.parent_workflow_id as string | null) ?? null,
    serialization,
    delayUntilEpochMS: epoch('delay_until_epoch_ms'),
    completedAt: epoch('completed_at'),
    attributes: attributesColumn(r.attributes, problems),
    scheduleName: (r.schedule_name as string | null) ?? null,
    ownerXid: (r.owner_xid as string | null) ?? null,
    creatorXid: (r.creator_xid as string | null) ?? null,
    inputs: r.inputs as string | null | undefined,
    output: r.output as string | null | undefined,
    error: r.error as string | null | undefined,
    problems,
  };
}

function textOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

function describeRaw(v: unknown): string {
  const text = typeof v === 'string' ? v : String(v);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** A number as stored (bigint columns may come back as strings or numbers), or NaN if it is none. */
function numeric(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

/**
 * An epoch-ms column: null stays null; a number a Date can hold is returned; anything else is a problem, and the
 * value is the stored number (so a listing shows it as it is) or null when it is not a number at all.
 */
function epochColumn(v: unknown, column: string, problems: RowProblem[]): number | null {
  if (v === null || v === undefined) return null;
  const n = numeric(v);
  if (Number.isFinite(n) && Math.abs(n) <= MAX_EPOCH_MS) return n;
  problems.push({ column, problem: Number.isFinite(n) ? `${n} is not a time a Date can hold` : `${describeRaw(v)} is not a number` });
  return Number.isFinite(n) ? n : null;
}

function durationColumn(v: unknown, column: string, problems: RowProblem[]): number | null {
  if (v === null || v === undefined) return null;
  const n = numeric(v);
  if (Number.isFinite(n) && n >= 0 && n <= MAX_EPOCH_MS) return n;
  problems.push({ column, problem: `${describeRaw(v)} is not a duration in milliseconds` });
  return null;
}

function integerColumn(v: unknown, column: string, problems: RowProblem[]): number {
  if (v === null || v === undefined) return 0;
  const n = numeric(v);
  if (Number.isSafeInteger(n)) return n;
  problems.push({ column, problem: `${describeRaw(v)} is not an integer` });
  return 0;
}

/** Roles are a JSON array of strings (DBOS writes `[]` or `["admin"]`). */
function checkRolesText(text: string, problems: RowProblem[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push({ column: 'authenticated_roles', problem: `${describeRaw(text)} is not JSON` });
    return;
  }
  if (!Array.isArray(parsed) || parsed.some((role) => typeof role !== 'string')) {
    problems.push({ column: 'authenticated_roles', problem: `${describeRaw(text)} is not a JSON array of strings` });
  }
}

/** Attributes are a JSON object (JSONB on PostgreSQL, text on SQLite). */
function attributesColumn(v: unknown, problems: RowProblem[]): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  let parsed: unknown = v;
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v);
    } catch {
      problems.push({ column: 'attributes', problem: `${describeRaw(v)} is not JSON` });
      return null;
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push({ column: 'attributes', problem: `${describeRaw(typeof v === 'string' ? v : JSON.stringify(v))} is not a JSON object` });
    return null;
  }
  return parsed as Record<string, unknown>;
}

/** One `operation_outputs` row. */
export interface StepRow {
  functionID: number;
  name: string;
  output: string | null;
  error: string | null;
  childWorkflowID: string | null;
  startedAtEpochMs: number | null;
  completedAtEpochMs: number | null;
  serialization: string | null;
}

export function toStepRow(r: Record<string, unknown>): StepRow {
  return {
    functionID: Number(r.function_id),
    name: r.function_name as string,
    output: (r.output as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    childWorkflowID: (r.child_workflow_id as string | null) ?? null,
    startedAtEpochMs: numberOrNull(r.started_at_epoch_ms),
    completedAtEpochMs: numberOrNull(r.completed_at_epoch_ms),
    serialization: (r.serialization as string | null) ?? null,
  };
}

export function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
