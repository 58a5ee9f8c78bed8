// crashTest: proves that a workflow survives a crash at every step boundary.
//
// 1. A reference run, to completion, learns the workflow's durable operations (and those of its children) and its
//    result.
// 2. For every boundary of every operation (before it; during a step's function; after the function returned but
//    before its checkpoint; after the checkpoint; and before each workflow's outcome is recorded), a fresh run on a
//    database of its own is crashed there: the engine is killed (src/testing/engines.ts; or, with `childProcess`, a
//    real process running it is SIGKILLed), and a new engine under the same executor ID recovers the workflow.
// 3. Each recovery is compared with the reference: the same result; no step that was durably checkpointed ran again;
//    which steps ran twice because they were in flight (their side effects must be idempotent); and any sign of
//    nondeterminism (a different step at the same function ID, a different child ID, a different number of steps).

import { isDeepStrictEqual } from 'node:util';
import { DBOSNotRegisteredError } from '../errors.js';
import type { LogLevel } from '../logger.js';
import type { Launched } from '../process/state.js';
import { getConfig, registry } from '../process/state.js';
import type { DBOSConfig } from '../runtime/config.js';
import type { AnyFunction, RegisteredWorkflow } from '../runtime/registry.js';
import { deserializeError, deserializeValue } from '../serialization/index.js';
import type { DatabaseLocation } from '../sysdb/open.js';
import { readHistory } from '../sysdb/scratch.js';
import { runCrashInChild } from './child-run.js';
import { killEngine, launchTestEngine, postgresUrlOf, readRecorded, ScratchSpace, stopTestEngine, type RecordedWorkflow } from './engines.js';
import {
  BOUNDARIES,
  boundaryOf,
  executions,
  Recorder,
  stepKey,
  workflowsOf,
  type Boundary,
  type CrashPoint,
  type Observed,
} from './probe.js';

/** How a run ended: its value, its error, or not at all within the test's time. */
export type Outcome = { status: 'SUCCESS'; value: unknown } | { status: 'ERROR'; error: unknown } | { status: 'UNFINISHED'; reason: string };

/** What the `setup` and `verify` hooks are told about the run at hand. */
export interface RunInfo {
  /** 0 for the reference run, then 1, 2, … for the crash runs. */
  index: number;
  /** Undefined for the reference run. */
  crash?: CrashPoint;
  workflowID: string;
  systemDatabaseUrl: string;
}

export interface CrashTestOptions {
  /** The workflow ID each run uses (each run has a database of its own). Default `crash-test`. */
  workflowID?: string;
  /** A PostgreSQL database to run in (one schema per run, dropped at the end); default: SQLite files in a temporary folder. */
  systemDatabaseUrl?: string;
  /** Which boundaries to crash at (default: all of BOUNDARIES). */
  boundaries?: readonly Boundary[];
  /**
   * Crash only at operations with these names (steps, `DBOS.sleep`, child workflows, …; a workflow's own name for
   * `beforeOutcome`); default: every one.
   */
  operations?: readonly string[];
  /** Crash only inside the top-level workflow, not inside its children. Default false. */
  topLevelOnly?: boolean;
  /** Called before each run (the reference first): reset the side effects your verify checks. */
  setup?: (run: RunInfo) => void | Promise<void>;
  /** Called after each run has finished (recovered); throw to fail that boundary (e.g. "charged twice"). */
  verify?: (run: RunInfo & { outcome: Outcome }) => void | Promise<void>;
  /** Whether a recovered result matches the reference's (default: deep equality; errors by name and message). */
  sameResult?: (reference: Outcome, actual: Outcome) => boolean;
  /**
   * Run each crash in a real child process, SIGKILLed at the boundary. `module` is imported by the child and must
   * register the workflow (and everything it calls), as your application does at start-up.
   */
  childProcess?: { module: string | URL };
  /**
   * How long the crashed process stays down before it is recovered (ms, default 0): code that reads the clock outside
   * a step sees the difference on replay.
   */
  downtimeMs?: number;
  /** How long a run may take before it is reported unfinished (ms, default 30000). */
  timeoutMs?: number;
  /** Further settings for the test's engines (your DBOS.setConfig is the base; database and identity are the test's). */
  config?: DBOSConfig;
  /** The engines' log level (default `error`). */
  logLevel?: LogLevel;
}

export interface StepRef {
  workflowID: string;
  functionID: number;
  name: string;
}

export interface Divergence {
  workflowID: string;
  functionID: number;
  kind: 'different step' | 'different child' | 'missing step' | 'extra step' | 'replay mismatch' | 'boundary not reached';
  /** What the reference run (or, for `replay mismatch`, the crashed execution) recorded there. */
  expected: { name: string; childWorkflowID?: string | null } | null;
  /** What this run did there. */
  actual: { name: string; childWorkflowID?: string | null } | null;
  message: string;
}

export interface BoundaryReport {
  crash: CrashPoint;
  /** In words: `during step 2 (charge)`. */
  label: string;
  /** The run reached the boundary and was crashed there (false: it took another path; see nondeterminism). */
  crashed: boolean;
  ok: boolean;
  /** Why not ok, one line each. */
  problems: string[];
  outcome: Outcome;
  sameResult: boolean;
  /** Steps whose function ran before the crash and again in recovery (in flight: their effects must be idempotent). */
  ranTwice: StepRef[];
  /** Steps that ran again although their checkpoint was durable at the crash (never expected). */
  reranAfterCheckpoint: StepRef[];
  nondeterminism: Divergence[];
  verifyError?: unknown;
  /** With `childProcess`: the PID of the process that was SIGKILLed at the boundary. */
  killedPid?: number;
  durationMs: number;
}

export interface CrashTestReport {
  workflow: string;
  ok: boolean;
  reference: { outcome: Outcome; operations: StepRef[]; durationMs: number };
  boundaries: BoundaryReport[];
  failures: BoundaryReport[];
  /** Every step that ran twice somewhere, with the boundaries at which it did: these must be idempotent. */
  ranTwice: { step: StepRef; boundaries: string[] }[];
  /** A readable account of the above. */
  summary: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Runs `workflow(...args)` once to learn its steps, then once per boundary with a crash injected there, recovering
 * each. Resolves with a report; it does not throw for a failed boundary (see `assertCrashSafe`).
 */
export async function crashTest<A extends unknown[]>(
  workflow: (...args: A) => Promise<unknown>,
  args: A,
  options: CrashTestOptions = {},
): Promise<CrashTestReport> {
  const reg = registry.forFunction(workflow as AnyFunction);
  if (!reg) throw new DBOSNotRegisteredError(workflow.name || 'anonymous function', `crashTest needs a registered workflow (DBOS.registerWorkflow or @DBOS.workflow()), not ${workflow.name || 'an anonymous function'}`);
  const test = new CrashTestRun(reg, args, options);
  try {
    return await test.run();
  } finally {
    await test.space.dispose();
  }
}

/** Throws an AssertionError-like Error with the report's summary unless every boundary passed. */
export function assertCrashSafe(report: CrashTestReport): void {
  if (report.ok) return;
  const err = new Error(report.summary);
  err.name = 'CrashTestFailure';
  throw err;
}

class CrashTestRun {
  readonly space: ScratchSpace;
  private readonly workflowID: string;
  private readonly timeoutMs: number;
  private readonly config: DBOSConfig;

  constructor(
    private readonly reg: RegisteredWorkflow,
    private readonly args: unknown[],
    private readonly options: CrashTestOptions,
  ) {
    this.space = new ScratchSpace(postgresUrlOf(options.systemDatabaseUrl));
    this.workflowID = options.workflowID ?? 'crash-test';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Every engine of the test, in this process or a child, belongs to one application (recovery is per application).
    this.config = { ...options.config, name: options.config?.name ?? getConfig().name ?? 'transact-testing' };
  }

  async run(): Promise<CrashTestReport> {
    const reference = await this.referenceRun();
    const plan = this.plan(reference.events);
    const boundaries: BoundaryReport[] = [];
    for (const [i, point] of plan.entries()) boundaries.push(await this.crashRun(i + 1, point, reference));
    return report(describeWorkflow(this.reg), reference, boundaries);
  }

  // ------------------------------------------------------------------------------------------------ the reference

  private async referenceRun(): Promise<Reference> {
    const started = performance.now();
    const location = await this.space.next('reference');
    const info = this.info(0, location);
    await this.options.setup?.(info);
    const recorder = new Recorder();
    const engine = await this.launch(location, 'crash-test-reference', recorder);
    let outcome: Outcome;
    let history: Map<string, RecordedWorkflow>;
    try {
      await engine.executor.start(this.reg, this.args, { workflowID: this.workflowID });
      outcome = await this.outcomeOf(engine);
      history = await this.history(engine, workflowsOf(recorder.events));
    } finally {
      await stopTestEngine(engine);
    }
    if (outcome.status === 'UNFINISHED') {
      throw new Error(`crashTest: the reference run of ${describeWorkflow(this.reg)} did not finish: ${outcome.reason}`);
    }
    await this.options.verify?.({ ...info, outcome });
    const operations = recorder.events
      .filter((e) => e.point === 'before')
      .map((e) => ({ workflowID: e.workflowID, functionID: e.functionID, name: e.name }));
    return { outcome, events: recorder.events, history, operations, durationMs: performance.now() - started };
  }

  /** Every boundary the reference run passed, in the order it passed them, narrowed by the options. */
  private plan(events: Observed[]): CrashPoint[] {
    const wanted = new Set<Boundary>(this.options.boundaries ?? BOUNDARIES);
    const seen = new Set<string>();
    const points: CrashPoint[] = [];
    for (const e of events) {
      const boundary = boundaryOf(e.point);
      if (!boundary || !wanted.has(boundary)) continue;
      if (e.attempt !== undefined && e.attempt !== 1) continue;
      if (this.options.topLevelOnly && e.workflowID !== this.workflowID) continue;
      if (this.options.operations && !this.options.operations.includes(e.name)) continue;
      const key = `${e.workflowID}\u0000${e.functionID}\u0000${boundary}`;
      if (seen.has(key)) continue;
      seen.add(key);
      points.push({ workflowID: e.workflowID, functionID: e.functionID, name: e.name, boundary });
    }
    return points;
  }

  // ------------------------------------------------------------------------------------------------ a crash

  private async crashRun(index: number, crash: CrashPoint, reference: Reference): Promise<BoundaryReport> {
    const started = performance.now();
    const location = await this.space.next(`crash-${index}`);
    const info = this.info(index, location);
    const executorID = `crash-test-${index}`;
    await this.options.setup?.(info);

    // Until the crash: in this process (an engine killed at the boundary) or in a child process (SIGKILLed there).
    const first = this.options.childProcess
      ? await runCrashInChild({
          module: this.options.childProcess.module,
          workflow: { name: this.reg.name, className: this.reg.className },
          args: this.args,
          workflowID: this.workflowID,
          location,
          executorID,
          crash,
          config: this.config,
          timeoutMs: this.timeoutMs,
        })
      : await this.crashInProcess(location, executorID, crash);

    // What was durable at the crash: a checkpoint written is a step that must never run again.
    const durableAtCrash = new Set<string>();
    if (first.crashed) {
      for (const [id, recorded] of await readRecorded(location, workflowsOf(first.events))) {
        for (const s of recorded.steps) durableAtCrash.add(stepKey(id, s.functionID));
      }
    }

    if (first.crashed && this.options.downtimeMs) await new Promise((resolve) => setTimeout(resolve, this.options.downtimeMs));

    // Recovery: a new engine under the same executor ID (the "restarted process") finds the workflow PENDING.
    const recovery = new Recorder();
    const engine = await this.launch(location, executorID, recovery);
    let outcome: Outcome;
    let history: Map<string, RecordedWorkflow>;
    try {
      outcome = await this.outcomeOf(engine);
      const ids = new Set([...reference.history.keys(), ...workflowsOf(first.events), ...workflowsOf(recovery.events)]);
      history = await this.history(engine, [...ids]);
    } finally {
      await stopTestEngine(engine);
    }

    const problems: string[] = [];
    if (first.error) problems.push(`the crashed run failed to start: ${describeError(first.error)}`);
    const nondeterminism: Divergence[] = [];
    if (!first.crashed) {
      nondeterminism.push({
        workflowID: crash.workflowID,
        functionID: crash.functionID,
        kind: 'boundary not reached',
        expected: { name: crash.name },
        actual: null,
        message: `this run never reached ${labelOf(crash, this.workflowID)}: it took another path than the reference run`,
      });
    }
    nondeterminism.push(...replayMismatches(recovery.events), ...compareHistories(reference.history, history));

    const before = executions(first.events);
    const after = executions(recovery.events);
    const names = nameIndex([...first.events, ...recovery.events]);
    const ranTwice = [...after.keys()].filter((k) => before.has(k)).map((k) => names.get(k)!);
    const reranAfterCheckpoint = [...after.keys()].filter((k) => durableAtCrash.has(k)).map((k) => names.get(k)!);

    const sameResult = (this.options.sameResult ?? defaultSameResult)(reference.outcome, outcome);
    if (outcome.status === 'UNFINISHED') problems.push(`recovery did not finish: ${outcome.reason}`);
    else if (!sameResult) problems.push(`result ${describeOutcome(outcome)} differs from the reference ${describeOutcome(reference.outcome)}`);
    for (const s of reranAfterCheckpoint) problems.push(`step ${s.functionID} (${s.name}) ran again although its checkpoint was durable`);
    for (const d of nondeterminism) problems.push(`nondeterminism: ${d.message}`);

    let verifyError: unknown;
    if (outcome.status !== 'UNFINISHED') {
      try {
        await this.options.verify?.({ ...info, crash, outcome });
      } catch (err) {
        verifyError = err;
        problems.push(`verify failed: ${describeError(err)}`);
      }
    }

    return {
      crash,
      label: labelOf(crash, this.workflowID),
      crashed: first.crashed,
      ok: problems.length === 0,
      problems,
      outcome,
      sameResult,
      ranTwice,
      reranAfterCheckpoint,
      nondeterminism,
      verifyError,
      killedPid: first.pid,
      durationMs: performance.now() - started,
    };
  }

  /** A fresh run on its own engine, killed the moment any of its runs reaches `crash`. */
  private async crashInProcess(location: DatabaseLocation, executorID: string, crash: CrashPoint): Promise<FirstRun> {
    let reached!: () => void;
    const crashed = new Promise<'crashed'>((resolve) => (reached = () => resolve('crashed')));
    const recorder = new Recorder(crash, () => reached());
    const engine = await this.launch(location, executorID, recorder);
    try {
      await engine.executor.start(this.reg, this.args, { workflowID: this.workflowID });
      const finished = engine.executor.getResult(this.workflowID).then(
        () => 'finished' as const,
        () => 'finished' as const,
      );
      const ended = await raceTimeout(Promise.race([crashed, finished]), this.timeoutMs);
      if (ended === 'crashed') {
        await killEngine(engine);
        return { crashed: true, events: recorder.events };
      }
      await stopTestEngine(engine);
      return { crashed: false, events: recorder.events };
    } catch (error) {
      await killEngine(engine).catch(() => {});
      return { crashed: recorder.crashed, events: recorder.events, error };
    }
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private launch(location: DatabaseLocation, executorID: string, recorder: Recorder): Promise<Launched> {
    return launchTestEngine({ location, executorID, probe: recorder, config: this.config, logLevel: this.options.logLevel });
  }

  private async outcomeOf(engine: Launched): Promise<Outcome> {
    try {
      const value = await raceTimeout(engine.executor.getResult(this.workflowID), this.timeoutMs);
      if (value === TIMED_OUT) return { status: 'UNFINISHED', reason: `no outcome within ${this.timeoutMs} ms` };
      return { status: 'SUCCESS', value };
    } catch (error) {
      return { status: 'ERROR', error };
    }
  }

  private history(engine: Launched, ids: string[]): Promise<Map<string, RecordedWorkflow>> {
    return readHistoryOf(engine, ids);
  }

  private info(index: number, location: DatabaseLocation): RunInfo {
    return {
      index,
      workflowID: this.workflowID,
      systemDatabaseUrl: location.kind === 'sqlite' ? `sqlite:${location.file}` : `${location.url}#schema=${location.schema}`,
    };
  }
}

interface Reference {
  outcome: Outcome;
  events: Observed[];
  history: Map<string, RecordedWorkflow>;
  operations: StepRef[];
  durationMs: number;
}

/** The run until the crash: its events, whether the crash came (else the workflow ended first), and a failure. */
export interface FirstRun {
  crashed: boolean;
  events: Observed[];
  error?: unknown;
  /** The child process that ran it, when it ran in one. */
  pid?: number;
}

function readHistoryOf(engine: Launched, ids: string[]): Promise<Map<string, RecordedWorkflow>> {
  return readHistory(engine.db, ids);
}

const TIMED_OUT = Symbol('timed out');

async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// -------------------------------------------------------------------------------------------------- comparisons

/** A replay met a recorded step under another name, or a child start asked for another child than recorded. */
function replayMismatches(events: Observed[]): Divergence[] {
  const found: Divergence[] = [];
  for (const e of events) {
    if (e.point !== 'replayed') continue;
    if (e.recordedName !== e.name) {
      found.push({
        workflowID: e.workflowID,
        functionID: e.functionID,
        kind: 'replay mismatch',
        expected: { name: e.recordedName! },
        actual: { name: e.name },
        message: `on recovery, ${e.workflowID} step ${e.functionID} was ${e.name}, but the crashed execution recorded ${e.recordedName} there`,
      });
    } else if (e.childWorkflowID !== undefined && e.recordedChildWorkflowID && e.childWorkflowID !== e.recordedChildWorkflowID) {
      found.push({
        workflowID: e.workflowID,
        functionID: e.functionID,
        kind: 'different child',
        expected: { name: e.name, childWorkflowID: e.recordedChildWorkflowID },
        actual: { name: e.name, childWorkflowID: e.childWorkflowID },
        message: `on recovery, ${e.workflowID} step ${e.functionID} (${e.name}) asked for child ${e.childWorkflowID}, but the crashed execution started ${e.recordedChildWorkflowID}`,
      });
    }
  }
  return found;
}

/** Step by step, what each workflow of the reference recorded against what this run recorded. */
export function compareHistories(reference: Map<string, RecordedWorkflow>, actual: Map<string, RecordedWorkflow>): Divergence[] {
  const found: Divergence[] = [];
  for (const [workflowID, ref] of reference) {
    const run = actual.get(workflowID)?.steps ?? [];
    const mine = new Map(run.map((s) => [s.functionID, s]));
    const theirs = new Map(ref.steps.map((s) => [s.functionID, s]));
    const ids = [...new Set([...mine.keys(), ...theirs.keys()])].sort((a, b) => a - b);
    for (const id of ids) {
      const r = theirs.get(id);
      const a = mine.get(id);
      if (r && a && r.name !== a.name) {
        found.push({ workflowID, functionID: id, kind: 'different step', expected: { name: r.name }, actual: { name: a.name },
          message: `${workflowID} step ${id} is ${a.name}, the reference run had ${r.name} there` });
      } else if (r && a && (r.childWorkflowID ?? null) !== (a.childWorkflowID ?? null)) {
        found.push({ workflowID, functionID: id, kind: 'different child',
          expected: { name: r.name, childWorkflowID: r.childWorkflowID }, actual: { name: a.name, childWorkflowID: a.childWorkflowID },
          message: `${workflowID} step ${id} (${a.name}) is child ${a.childWorkflowID}, the reference run's was ${r.childWorkflowID}` });
      } else if (r && !a) {
        found.push({ workflowID, functionID: id, kind: 'missing step', expected: { name: r.name }, actual: null,
          message: `${workflowID} has no step ${id}; the reference run had ${r.name} there (${run.length} steps against ${ref.steps.length})` });
      } else if (!r && a) {
        found.push({ workflowID, functionID: id, kind: 'extra step', expected: null, actual: { name: a.name },
          message: `${workflowID} has step ${id} (${a.name}), which the reference run did not have (${run.length} steps against ${ref.steps.length})` });
      }
    }
  }
  for (const [workflowID, run] of actual) {
    if (reference.has(workflowID) || run.steps.length === 0 && !run.row) continue;
    found.push({ workflowID, functionID: -1, kind: 'extra step', expected: null, actual: { name: run.row?.name ?? '?' },
      message: `workflow ${workflowID} (${run.row?.name ?? '?'}) ran, which the reference run did not start` });
  }
  return found;
}

function defaultSameResult(reference: Outcome, actual: Outcome): boolean {
  if (reference.status === 'SUCCESS' && actual.status === 'SUCCESS') return isDeepStrictEqual(reference.value, actual.value);
  if (reference.status === 'ERROR' && actual.status === 'ERROR') {
    const [r, a] = [reference.error as Error, actual.error as Error];
    return r?.name === a?.name && r?.message === a?.message;
  }
  return false;
}

// -------------------------------------------------------------------------------------------------- the report

function nameIndex(events: Observed[]): Map<string, StepRef> {
  const names = new Map<string, StepRef>();
  for (const e of events) names.set(stepKey(e.workflowID, e.functionID), { workflowID: e.workflowID, functionID: e.functionID, name: e.name });
  return names;
}

const BOUNDARY_WORDS: Record<Boundary, string> = {
  before: 'before',
  during: 'during',
  beforeCheckpoint: 'after it ran, before the checkpoint of',
  afterCheckpoint: 'after the checkpoint of',
  beforeOutcome: 'before the outcome of',
};

export function labelOf(crash: CrashPoint, rootID: string): string {
  const where = crash.workflowID === rootID ? '' : ` in child ${crash.workflowID}`;
  if (crash.boundary === 'beforeOutcome') return `before the outcome of ${crash.workflowID === rootID ? 'the workflow' : `child ${crash.workflowID}`} is recorded`;
  return `${BOUNDARY_WORDS[crash.boundary]} step ${crash.functionID} (${crash.name})${where}`;
}

function report(workflow: string, reference: Reference, boundaries: BoundaryReport[]): CrashTestReport {
  const failures = boundaries.filter((b) => !b.ok);
  const twice = new Map<string, { step: StepRef; boundaries: string[] }>();
  for (const b of boundaries) {
    for (const s of b.ranTwice) {
      const key = stepKey(s.workflowID, s.functionID);
      if (!twice.has(key)) twice.set(key, { step: s, boundaries: [] });
      twice.get(key)!.boundaries.push(b.label);
    }
  }
  const ranTwice = [...twice.values()];
  const lines = [
    `crashTest ${workflow}: ${boundaries.length} crash points, ${boundaries.length - failures.length} passed, ${failures.length} failed ` +
      `(reference: ${describeOutcome(reference.outcome)}, ${reference.operations.length} operations)`,
  ];
  for (const f of failures) {
    lines.push(`  FAIL ${f.label}:`);
    for (const p of f.problems) lines.push(`       ${p}`);
  }
  if (ranTwice.length > 0) {
    lines.push('  Ran twice because they were in flight at the crash (their side effects must be idempotent):');
    for (const t of ranTwice) lines.push(`    step ${t.step.functionID} (${t.step.name}) of ${t.step.workflowID}: ${t.boundaries.join('; ')}`);
  }
  return {
    workflow,
    ok: failures.length === 0,
    reference: { outcome: reference.outcome, operations: reference.operations, durationMs: reference.durationMs },
    boundaries,
    failures,
    ranTwice,
    summary: lines.join('\n'),
  };
}

function describeWorkflow(reg: RegisteredWorkflow): string {
  return reg.className ? `${reg.className}.${reg.name}` : reg.name;
}

export function describeOutcome(outcome: Outcome): string {
  if (outcome.status === 'SUCCESS') return `SUCCESS ${preview(outcome.value)}`;
  if (outcome.status === 'ERROR') return `ERROR ${describeError(outcome.error)}`;
  return `UNFINISHED (${outcome.reason})`;
}

export function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' '); // one line (an AssertionError's message has several)
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Decodes a recorded output or error (for reports that show recorded values). */
export function decodeRecorded(output: string | null, error: string | null, serialization: string | null): Outcome {
  if (error !== null) return { status: 'ERROR', error: deserializeError(error, serialization) };
  return { status: 'SUCCESS', value: deserializeValue(output, serialization) };
}
