// What the console and the CLI do for an operator, written once over DBOSClient: each action says what happened, or
// refuses with the reason, or says the workflow does not exist; never a silent no-op. Both tools map the three
// outcomes to their own forms (HTTP 200/409/404; exit codes 0/4/3).

import type { DBOSClient } from '../client/client.js';
import type { GetWorkflowsInput } from '../management/inspect.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import type { WorkflowSchedule } from '../scheduler/schedules.js';
import { CronSchedule } from '../scheduler/cron.js';
import { isTransientDatabaseError } from '../sysdb/retry.js';
import { describeFailure } from '../sysdb/open.js';
import { checkTimeText, checkWorkflowStatus } from '../validation.js';

/** The workflow (or schedule, or queue) named does not exist. */
export class NotFound extends Error {
  readonly outcome = 'not found';
}

/** The action does not apply in the workflow's state; the message says why and what to do instead. */
export class Refused extends Error {
  readonly outcome = 'refused';
}

/** The operator's input is wrong (a status, a step number, a time); nothing was done. */
export class BadInput extends Error {
  readonly outcome = 'bad input';
}

/** The database could not be reached; nothing is known to have been done. */
export class Unreachable extends Error {
  readonly outcome = 'unreachable';
}

export const FINISHED = ['SUCCESS', 'ERROR'];
/** Statuses a cancel applies to (a workflow that may still run). */
export const CANCELLABLE = ['PENDING', 'ENQUEUED', 'DELAYED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];
/** Statuses a resume applies to (stopped, but not finished). */
export const RESUMABLE = ['CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'ENQUEUED', 'DELAYED', 'PENDING'];

/** An error of the client's, as one of the outcomes above (or as it is, when it is none of them). */
export function classify(err: unknown): Error {
  if (err instanceof NotFound || err instanceof Refused || err instanceof BadInput || err instanceof Unreachable) return err;
  const e = err as Error & { dbosErrorCode?: number; name?: string };
  if (e?.dbosErrorCode === 16) return new NotFound(e.message);
  if (e?.dbosErrorCode === 21) return new Refused(e.message);
  if (e?.name === 'DBOSInvalidWorkflowInputError' || e?.name === 'DBOSInvalidScheduleError' || e instanceof RangeError || e instanceof TypeError) {
    return new BadInput(e.message);
  }
  if (isTransientDatabaseError(err)) return new Unreachable(`the system database is unreachable: ${describeFailure(err)}`);
  if (e?.name === 'DBOSInitializationError') return new Unreachable(e.message);
  return err instanceof Error ? err : new Error(String(err));
}

async function existing(client: DBOSClient, workflowID: string): Promise<WorkflowStatus> {
  const status = await client.getWorkflow(workflowID);
  if (!status) throw new NotFound(`workflow ${workflowID} does not exist`);
  return status;
}

export interface Done {
  workflowID: string;
  /** The status before the action. */
  before: string;
  /** The status right after it. */
  after: string;
  message: string;
}

export async function cancelOne(client: DBOSClient, workflowID: string): Promise<Done> {
  const before = (await existing(client, workflowID)).status;
  if (FINISHED.includes(before)) throw new Refused(`workflow ${workflowID} already finished with ${before}: there is nothing to cancel`);
  if (before === 'CANCELLED') throw new Refused(`workflow ${workflowID} is already CANCELLED`);
  await client.cancelWorkflow(workflowID);
  const after = (await existing(client, workflowID)).status;
  if (after !== 'CANCELLED') throw new Refused(`workflow ${workflowID} finished with ${after} before it could be cancelled`);
  return { workflowID, before, after, message: `cancelled ${workflowID} (it was ${before})` };
}

export async function resumeOne(client: DBOSClient, workflowID: string, queueName?: string): Promise<Done> {
  const before = (await existing(client, workflowID)).status;
  if (FINISHED.includes(before)) {
    throw new Refused(`workflow ${workflowID} already finished with ${before}: a finished workflow cannot be resumed (fork or rewind it to run it again)`);
  }
  await client.resumeWorkflow(workflowID, queueName === undefined ? {} : { queueName });
  const after = (await existing(client, workflowID)).status;
  return {
    workflowID,
    before,
    after,
    message: `resumed ${workflowID} (it was ${before}): it runs again from its last recorded step`,
  };
}

export async function forkOne(
  client: DBOSClient,
  workflowID: string,
  startStep: number,
  options: { newWorkflowID?: string; applicationVersion?: string; queueName?: string } = {},
): Promise<Done & { forkID: string }> {
  if (!Number.isInteger(startStep) || startStep < 0) throw new BadInput(`the start step must be a whole number, 0 or more; got ${startStep}`);
  const before = (await existing(client, workflowID)).status;
  if (options.newWorkflowID !== undefined && (await client.getWorkflow(options.newWorkflowID))) {
    throw new Refused(`workflow ${options.newWorkflowID} already exists: choose another ID for the fork`);
  }
  const forkID = await client.forkWorkflow(workflowID, startStep, options);
  return {
    workflowID,
    forkID,
    before,
    after: before,
    message: `forked ${workflowID} from step ${startStep} as ${forkID}: steps before ${startStep} keep their recorded results, the rest run again`,
  };
}

export async function rewindOne(client: DBOSClient, workflowID: string, startStep: number, queueName?: string): Promise<Done> {
  if (!Number.isInteger(startStep) || startStep < 0) throw new BadInput(`the start step must be a whole number, 0 or more; got ${startStep}`);
  const before = (await existing(client, workflowID)).status;
  try {
    // The database refuses a workflow that is not finished, with the reason.
    await client.rewindWorkflow(workflowID, { startStep, queueName });
  } catch (err) {
    throw classify(err);
  }
  const after = (await existing(client, workflowID)).status;
  return { workflowID, before, after, message: `rewound ${workflowID}: it runs again from step ${startStep}${queueName ? ` on queue ${queueName}` : ''}` };
}

export async function deleteMany(client: DBOSClient, workflowIDs: string[], deleteChildren: boolean): Promise<{ deleted: string[]; message: string }> {
  // Deleting an unknown ID would pass in silence; a typo should not, so nothing is deleted unless every one exists.
  for (const id of workflowIDs) await existing(client, id);
  await client.deleteWorkflows(workflowIDs, deleteChildren);
  return { deleted: workflowIDs, message: `deleted ${workflowIDs.join(', ')}${deleteChildren ? ' and their descendants' : ''}` };
}

// ----------------------------------------------------------------------------------------------- output

/** JSON that survives values JSON has no form for (bigint, Map, Set) and keeps an error's name, message and stack. */
export function toJson(value: unknown, indent?: number): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(
    value,
    function (_key, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) {
        const plain: Record<string, unknown> = { name: v.name, message: v.message };
        if (v.stack) plain.stack = v.stack;
        for (const [k, own] of Object.entries(v)) if (!(k in plain)) plain[k] = own;
        if (v.cause !== undefined) plain.cause = v.cause;
        return plain;
      }
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[circular]';
        seen.add(v);
      }
      return v;
    },
    indent,
  );
}


// C0 controls (ESC starts a terminal escape sequence), DEL, C1 controls (U+009B is a one-character CSI), line and
// paragraph separators, and the bidirectional overrides that make text read differently from what it is.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Stored text made safe to print on a terminal: every control character shown as an escape (`\x1b`, `\u202e`). */
export function safeText(text: string, keepNewlines = false): string {
  return text.replace(UNSAFE, (c) => {
    if (keepNewlines && (c === '\n' || c === '\t')) return c;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** JSON for a terminal: toJson, with the control characters JSON.stringify leaves as they are (C1, bidi) escaped. */
export function safeJson(value: unknown, indent?: number): string {
  return toJson(value, indent).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ----------------------------------------------------------------------------------------------- filters

/** A workflow filter as an operator gives it (query parameters of the console, options of the CLI). */
export interface OperatorFilter {
  status?: string[];
  name?: string[];
  queue?: string[];
  version?: string[];
  executor?: string[];
  search?: string;
  /** Created at or after / at or before: times as checkTimeText reads them. */
  from?: string;
  to?: string;
  parent?: string;
  topLevel?: boolean;
  children?: boolean;
  forks?: boolean;
}

/** The client's filter for an operator's one; a bad status or time is a BadInput naming the mistake. */
export function toWorkflowsInput(filter: OperatorFilter): GetWorkflowsInput {
  try {
    const nonEmpty = (v: string[] | undefined) => (v && v.filter((x) => x !== '').length ? v.filter((x) => x !== '') : undefined);
    const status = nonEmpty(filter.status)?.map(checkWorkflowStatus);
    const startTime = filter.from ? checkTimeText('the start of the time range', filter.from) : undefined;
    const endTime = filter.to ? checkTimeText('the end of the time range', filter.to) : undefined;
    if (startTime !== undefined && endTime !== undefined && startTime > endTime) throw new BadInput('the time range ends before it starts');
    if (filter.topLevel && filter.children) throw new BadInput('top-level only and children only exclude each other');
    return {
      status,
      workflowName: nonEmpty(filter.name),
      queueName: nonEmpty(filter.queue),
      applicationVersion: nonEmpty(filter.version),
      executorId: nonEmpty(filter.executor),
      search: filter.search || undefined,
      startTime,
      endTime,
      parentWorkflowID: filter.parent || undefined,
      hasParent: filter.topLevel ? false : filter.children ? true : undefined,
      isFork: filter.forks ? true : undefined,
    };
  } catch (err) {
    throw err instanceof BadInput ? err : new BadInput((err as Error).message);
  }
}

/** How many workflows a bulk action would touch, and which (at most `cap` of them, newest first). */
export async function bulkPreview(
  client: DBOSClient,
  action: 'cancel' | 'resume',
  input: GetWorkflowsInput,
  cap = 1000,
): Promise<{ action: string; count: number; workflowIDs: string[]; capped: boolean; statuses: string[] }> {
  const eligible = action === 'cancel' ? CANCELLABLE : RESUMABLE.filter((s) => s !== 'PENDING');
  const statuses = input.status ? ([] as string[]).concat(input.status).filter((s) => eligible.includes(s)) : eligible;
  if (statuses.length === 0) return { action, count: 0, workflowIDs: [], capped: false, statuses };
  const scoped = { ...input, status: statuses };
  const [count, rows] = await Promise.all([
    client.countWorkflows(scoped),
    client.listWorkflows({ ...scoped, limit: cap, sortDesc: true, loadInput: false, loadOutput: false }),
  ]);
  return { action, count, workflowIDs: rows.map((r) => r.workflowID), capped: count > rows.length, statuses };
}

/** Applies cancel or resume to each workflow; each one done or refused on its own. */
export async function bulkApply(
  client: DBOSClient,
  action: 'cancel' | 'resume',
  workflowIDs: string[],
): Promise<{ done: Done[]; refused: { workflowID: string; reason: string }[]; message: string }> {
  const done: Done[] = [];
  const refused: { workflowID: string; reason: string }[] = [];
  for (const id of workflowIDs) {
    try {
      done.push(action === 'cancel' ? await cancelOne(client, id) : await resumeOne(client, id));
    } catch (err) {
      const e = classify(err);
      if (e instanceof Refused || e instanceof NotFound) refused.push({ workflowID: id, reason: e.message });
      else throw e;
    }
  }
  const verb = action === 'cancel' ? 'cancelled' : 'resumed';
  const message = `${verb} ${done.length} of ${workflowIDs.length} workflows${refused.length ? `; ${refused.length} refused` : ''}`;
  return { done, refused, message };
}

// ----------------------------------------------------------------------------------------------- schedules

/** A schedule with its next tick worked out (null when paused, or when the expression no longer parses). */
export function withNextFire(s: WorkflowSchedule, now = new Date()): WorkflowSchedule & { nextFireAt: string | null } {
  let nextFireAt: string | null = null;
  if (s.status === 'ACTIVE') {
    try {
      nextFireAt = CronSchedule.parse(s.schedule, s.cronTimezone).nextAfter(now)?.toISOString() ?? null;
    } catch {
      nextFireAt = null;
    }
  }
  return { ...s, nextFireAt };
}

export async function existingSchedule(client: DBOSClient, name: string): Promise<WorkflowSchedule> {
  const schedule = await client.getSchedule(name);
  if (!schedule) throw new NotFound(`schedule ${name} does not exist`);
  return schedule;
}
