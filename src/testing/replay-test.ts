// replayTest: replays a recorded execution (from a system database, or an exported JSON history) against the current
// code, and reports the first place where the code no longer does what the execution recorded, with both sides. It
// lets a deploy be checked against production histories before it ships.
//
// The history is copied into a scratch database (a temporary SQLite file) as a workflow owned by a replay engine,
// and the engine runs it as it would recover it: every operation the history recorded returns what it recorded,
// without running. The engine's probe (src/runtime/context.ts) compares each operation with the history: another
// step at a function ID, another child ID, an operation the history does not have (refused: nothing new runs, no
// side effect happens), the code ending before the history does, and at the end the result.

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DBOSNotRegisteredError } from '../errors.js';
import type { LogLevel } from '../logger.js';
import { checkHistory, exportHistory, type WorkflowHistory } from '../management/history.js';
import type { Launched } from '../process/state.js';
import { registry } from '../process/state.js';
import { systemDatabaseLocation, type DBOSConfig } from '../runtime/config.js';
import type { ProbeEvent, RunProbe, WorkflowContext } from '../runtime/context.js';
import type { AnyFunction, RegisteredWorkflow } from '../runtime/registry.js';
import { workflowRow } from '../runtime/workflow-row.js';
import { PORTABLE_SERIALIZATION } from '../serialization/index.js';
import { openSystemDatabase } from '../sysdb/open.js';
import { recordStep, listSteps } from '../sysdb/steps.js';
import { getWorkflow, insertWorkflow } from '../sysdb/workflows.js';
import { decodeRecorded, describeOutcome, type Outcome } from './crash-test.js';
import { launchTestEngine, ScratchSpace, stopTestEngine } from './engines.js';

export interface ReplayTestOptions {
  /** Where to read a workflow given by ID (default: DBOS.setConfig's database). */
  systemDatabaseUrl?: string;
  systemDatabaseSchemaName?: string;
  /** Whether the replayed result matches the recorded one (default: deep equality; errors by name and message). */
  sameResult?: (recorded: Outcome, replayed: Outcome) => boolean;
  /** How long the replay may take (ms, default 30000). */
  timeoutMs?: number;
  config?: DBOSConfig;
  logLevel?: LogLevel;
}

/** One side of a divergence: what the history recorded, or what the code did, at that function ID. */
export interface ReplaySide {
  name: string;
  childWorkflowID?: string | null;
  /** For a result divergence: the outcome. */
  outcome?: string;
}

export interface ReplayDivergence {
  /** The function ID (step number); for `result`, the number of operations the code made. */
  functionID: number;
  kind: 'different step' | 'different child' | 'new operation' | 'ended early' | 'result';
  recorded: ReplaySide | null;
  replayed: ReplaySide | null;
  message: string;
}

export interface ReplayReport {
  workflowID: string;
  workflow: string;
  /** The recorded execution's status (a PENDING one is replayed as far as it went). */
  recordedStatus: string;
  ok: boolean;
  /** The first divergence; undefined when the code agrees with the whole history. */
  divergence?: ReplayDivergence;
  /** The operations the code made that the history answered, in order. */
  replayed: { functionID: number; name: string }[];
  /** For an unfinished execution: the first operation past the end of its history (not run). */
  endOfHistory?: { functionID: number; name: string };
  recordedOutcome?: Outcome;
  replayedOutcome?: Outcome;
  summary: string;
}

/** Stops a replay at an operation the history does not have: nothing of it runs. */
export class ReplayStop extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayStop';
  }
}

const TERMINAL = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']);

/**
 * Replays `source` (a workflow ID in the system database, or a history exported with `transact workflow export`,
 * `DBOSClient.exportWorkflowHistory` or the console) against `workflow` (default: the workflow registered under the
 * history's name). Resolves with a report; it does not throw for a divergence (see `assertReplays`).
 */
export async function replayTest(
  source: string | WorkflowHistory,
  workflow?: (...args: never[]) => Promise<unknown>,
  options: ReplayTestOptions = {},
): Promise<ReplayReport> {
  const history = typeof source === 'string' ? await readHistory(source, options) : checkHistory(source);
  const reg = workflow ? registry.forFunction(workflow as AnyFunction) : registry.find(history.workflow.className, history.workflow.name);
  const label = describeName(history.workflow.className, history.workflow.name);
  if (!reg) throw new DBOSNotRegisteredError(label, workflow ? `replayTest needs a registered workflow` : `no workflow ${label} is registered to replay the history with`);
  const space = new ScratchSpace();
  try {
    return await replay(history, reg, space, options);
  } finally {
    await space.dispose();
  }
}

/** Throws an Error with the report's summary unless the replay agreed with the history. */
export function assertReplays(report: ReplayReport): void {
  if (report.ok) return;
  const err = new Error(report.summary);
  err.name = 'ReplayDivergence';
  throw err;
}

async function readHistory(workflowID: string, options: ReplayTestOptions): Promise<WorkflowHistory> {
  const config = { ...options.config, systemDatabaseUrl: options.systemDatabaseUrl ?? options.config?.systemDatabaseUrl, systemDatabaseSchemaName: options.systemDatabaseSchemaName };
  const location = systemDatabaseLocation(config, config.name ?? 'transact');
  const db = await openSystemDatabase(location, { migrate: false, poolSize: 1, connectTimeoutMs: 10_000 });
  try {
    const history = await exportHistory(db, workflowID);
    if (!history) throw new Error(`replayTest: no workflow ${workflowID} in the system database`);
    return history;
  } finally {
    await db.close();
  }
}

async function replay(history: WorkflowHistory, reg: RegisteredWorkflow, space: ScratchSpace, options: ReplayTestOptions): Promise<ReplayReport> {
  const probe = new ReplayProbe(history);
  const location = await space.next('replay');
  const executorID = 'replay-test';
  const engine = await launchTestEngine({ location, executorID, probe, config: options.config, logLevel: options.logLevel ?? 'silent' });
  let replayedOutcome: Outcome | undefined;
  try {
    const token = randomUUID();
    await copyHistory(engine, history, reg, token, executorID);
    const claimed = { row: (await getWorkflow(engine.db, history.workflow.workflowID))!, steps: await listSteps(engine.db, history.workflow.workflowID) };
    const run = engine.executor.runClaimed(claimed, token);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      run.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) replayedOutcome = { status: 'UNFINISHED', reason: `the replay took longer than ${timeoutMs} ms` };
    else {
      const row = await getWorkflow(engine.db, history.workflow.workflowID);
      replayedOutcome =
        row && (row.status === 'SUCCESS' || row.status === 'ERROR')
          ? decodeRecorded(row.output ?? null, row.error ?? null, row.serialization)
          : { status: 'UNFINISHED', reason: `the replay ended ${row?.status ?? 'without a row'}` };
    }
  } finally {
    await stopTestEngine(engine);
  }

  const recordedOutcome =
    history.workflow.status === 'SUCCESS' || history.workflow.status === 'ERROR'
      ? decodeRecorded(history.workflow.output, history.workflow.error, history.workflow.serialization)
      : undefined;
  let divergence = probe.divergence;
  if (!divergence && recordedOutcome && replayedOutcome) {
    const same = (options.sameResult ?? sameOutcome)(recordedOutcome, replayedOutcome);
    if (!same) {
      divergence = {
        functionID: probe.replayed.length,
        kind: 'result',
        recorded: { name: history.workflow.name, outcome: describeOutcome(recordedOutcome) },
        replayed: { name: reg.name, outcome: describeOutcome(replayedOutcome) },
        message: `the code returned ${describeOutcome(replayedOutcome)}; the recorded execution returned ${describeOutcome(recordedOutcome)}`,
      };
    }
  }
  const workflow = describeName(reg.className, reg.name);
  const ok = divergence === undefined;
  const lines = [
    `replayTest ${workflow} against ${history.workflow.workflowID} (${history.workflow.status}, ${history.steps.length} recorded steps): ` +
      (ok ? `no divergence in ${probe.replayed.length} operations` : `DIVERGED at step ${divergence!.functionID} (${divergence!.kind})`),
  ];
  if (divergence) {
    lines.push(`  ${divergence.message}`);
    lines.push(`  recorded: ${side(divergence.recorded)}`);
    lines.push(`  replayed: ${side(divergence.replayed)}`);
  }
  if (ok && probe.endOfHistory) lines.push(`  the history ends before step ${probe.endOfHistory.functionID} (${probe.endOfHistory.name}), which was not run`);
  return {
    workflowID: history.workflow.workflowID,
    workflow,
    recordedStatus: history.workflow.status,
    ok,
    divergence,
    replayed: probe.replayed,
    endOfHistory: probe.endOfHistory,
    recordedOutcome,
    replayedOutcome,
    summary: lines.join('\n'),
  };
}

/** The history as a workflow this engine owns (PENDING, under `token`), with its steps recorded. */
async function copyHistory(engine: Launched, history: WorkflowHistory, reg: RegisteredWorkflow, token: string, executorID: string): Promise<void> {
  const w = history.workflow;
  const row = workflowRow({
    workflowID: w.workflowID,
    name: reg.name,
    className: reg.className,
    configName: w.configName,
    executorID,
    applicationID: null,
    applicationVersion: engine.executor.identity.applicationVersion,
    applicationName: engine.executor.identity.applicationName,
    ownerXid: token,
    timeoutMS: null, // a recorded deadline has long passed: the replay is not timed
    deadlineEpochMS: null,
    format: w.serialization === PORTABLE_SERIALIZATION ? 'portable' : 'native',
    nowEpochMs: Date.now(),
    authenticatedUser: w.authenticatedUser,
    authenticatedRoles: w.authenticatedRoles,
    inputs: w.inputs ?? '',
  });
  row.serialization = w.serialization ?? row.serialization;
  row.assumedRole = w.assumedRole;
  await insertWorkflow(engine.db, row);
  for (const s of history.steps) {
    await recordStep(engine.db, {
      workflowID: w.workflowID,
      ownerXid: token,
      functionID: s.functionID,
      functionName: s.name,
      output: s.output,
      error: s.error,
      childWorkflowID: s.childWorkflowID,
      startedAtEpochMs: s.startedAtEpochMs ?? 0,
      completedAtEpochMs: s.completedAtEpochMs ?? 0,
      serialization: s.serialization,
      applicationName: engine.executor.identity.applicationName,
    });
  }
}

/** Compares each operation of the replayed run with the history, and refuses any the history does not have. */
class ReplayProbe implements RunProbe {
  divergence?: ReplayDivergence;
  endOfHistory?: { functionID: number; name: string };
  readonly replayed: { functionID: number; name: string }[] = [];
  private readonly finished: boolean;

  constructor(private readonly history: WorkflowHistory) {
    this.finished = TERMINAL.has(history.workflow.status);
  }

  at(ctx: WorkflowContext, e: ProbeEvent): void {
    if (ctx.workflowID !== this.history.workflow.workflowID) return;
    if (e.point === 'replayed') {
      const recorded = e.recorded!;
      if (recorded.name !== e.name) {
        this.diverge({
          functionID: e.functionID,
          kind: 'different step',
          recorded: { name: recorded.name },
          replayed: { name: e.name },
          message: `at step ${e.functionID} the code calls ${e.name}; the recorded execution called ${recorded.name} there`,
        });
      } else if (e.childWorkflowID !== undefined && recorded.childWorkflowID && e.childWorkflowID !== recorded.childWorkflowID) {
        this.diverge({
          functionID: e.functionID,
          kind: 'different child',
          recorded: { name: recorded.name, childWorkflowID: recorded.childWorkflowID },
          replayed: { name: e.name, childWorkflowID: e.childWorkflowID },
          message: `at step ${e.functionID} the code starts child ${e.childWorkflowID}; the recorded execution started ${recorded.childWorkflowID}`,
        });
      } else {
        this.replayed.push({ functionID: e.functionID, name: e.name });
      }
      return;
    }
    if (e.point === 'before') {
      // Nothing the history lacks may run: a replay must not have side effects.
      // (An unfinished execution's history may also lack a step below its last one: a step in flight beside others.)
      if (this.finished) {
        this.diverge({
          functionID: e.functionID,
          kind: 'new operation',
          recorded: null,
          replayed: { name: e.name, childWorkflowID: e.childWorkflowID },
          message: `at step ${e.functionID} the code calls ${e.name}; the recorded execution ${this.finished ? `(${this.history.workflow.status}) ended without it` : 'has nothing there'}`,
        });
        throw new ReplayStop(`replayTest: step ${e.functionID} (${e.name}) is not in the recorded history; it was not run`);
      }
      this.endOfHistory ??= { functionID: e.functionID, name: e.name };
      throw new ReplayStop(`replayTest: the recorded history ends before step ${e.functionID} (${e.name}); it was not run`);
    }
    if (e.point === 'completing' && !this.divergence && !this.endOfHistory) {
      const unreached = this.history.steps.filter((s) => s.functionID >= e.functionID);
      if (unreached.length > 0) {
        const next = unreached[0]!;
        this.diverge({
          functionID: next.functionID,
          kind: 'ended early',
          recorded: { name: next.name, childWorkflowID: next.childWorkflowID },
          replayed: null,
          message: `the code ended after ${e.functionID} operations; the recorded execution went on to step ${next.functionID} (${next.name})` +
            (unreached.length > 1 ? ` and ${unreached.length - 1} more` : ''),
        });
      }
    }
  }

  private diverge(d: ReplayDivergence): void {
    this.divergence ??= d;
  }
}

function sameOutcome(recorded: Outcome, replayed: Outcome): boolean {
  if (recorded.status === 'SUCCESS' && replayed.status === 'SUCCESS') return isDeepStrictEqual(recorded.value, replayed.value);
  if (recorded.status === 'ERROR' && replayed.status === 'ERROR') {
    const [r, a] = [recorded.error as Error, replayed.error as Error];
    return r?.name === a?.name && r?.message === a?.message;
  }
  return false;
}

function side(s: ReplaySide | null): string {
  if (!s) return '(nothing)';
  const parts = [s.name];
  if (s.childWorkflowID) parts.push(`child ${s.childWorkflowID}`);
  if (s.outcome) parts.push(s.outcome);
  return parts.join(', ');
}

function describeName(className: string | null | undefined, name: string): string {
  return className ? `${className}.${name}` : name;
}
