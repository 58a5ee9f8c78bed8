// The verdict of a fault scenario: given the ledger (what ran, in which process incarnation, and what was done to
// which incarnation when) and the system database's final state (what Transact recorded), count
//
//   lost        enqueued workflows the system database does not have
//   stuck       workflows still PENDING, ENQUEUED or DELAYED at the end
//   wrong       workflows (each counted once) that did not end SUCCESS with the expected result and exactly their N step checkpoints,
//               each with the expected value and produced by an incarnation that really ran that step
//   unexplained step executions beyond the one whose result was checkpointed, that no fault explains
//
// An extra execution of (workflow W, step k) by incarnation I is explained -- "allowed extra" -- only when it was
// the step in flight in I at the moment I was faulted:
//   (1) I has a fault (kill, stop, shutdown, outage) at or after the moment the execution started;
//   (2) I never went on with W: no later execution of W in I (a later step, this step again, or W's return);
//   (3) nobody ran (W, k) again before that fault: the next execution of (W, k) started at or after it (two live
//       processes running one step at the same time is never explained by a fault that came later);
//   (4) its result is not the one checkpointed (a step whose result was recorded had completed: it was not in flight),
//       and it started before the checkpointed run (a run after that re-ran a completed step, or ran beside it).
// Everything else is unexplained. The verdict is a pure function of its input, so it is unit-tested on hand-made
// ledgers (verdict.test.ts), including ones that must fail.

import type { Execution, Fault, FaultKind } from './ledger.js';
import { expectedResult, FAULT_STEP, stepValue, type StepOutput } from './workload.js';

export interface StepCheckpoint {
  functionID: number;
  name: string;
  /** The deserialized output (a StepOutput when all is well), undefined if none. */
  output: unknown;
  error: string | null;
  /** operation_outputs' own times, for the diagnosis. */
  startedAtMs?: number | null;
  completedAtMs?: number | null;
}

export interface WorkflowRecord {
  workflowID: string;
  status: string;
  /** The deserialized result, undefined if none. */
  output: unknown;
  executorID: string | null;
  recoveryAttempts: number;
  steps: StepCheckpoint[];
}

export interface VerdictInput {
  scenario: string;
  stepsPerWorkflow: number;
  /** Every workflow the scenario enqueued, with its seed. */
  expected: ReadonlyMap<string, number>;
  executions: readonly Execution[];
  faults: readonly Fault[];
  /** The system database's rows of the scenario's workflows, by workflow ID. */
  workflows: ReadonlyMap<string, WorkflowRecord>;
  /** Readable names of incarnations (e.g. `w2#3 pid 4711`), for the diagnosis lines. */
  names?: ReadonlyMap<string, string>;
}

export interface VerdictCounts {
  workflows: number;
  faults: Partial<Record<FaultKind, number>>;
  executions: number;
  allowedExtra: number;
  unexplained: number;
  lost: number;
  stuck: number;
  wrong: number;
}

export interface Verdict {
  counts: VerdictCounts;
  /** One line per problem found, with the ledger and system-database evidence. */
  problems: string[];
  /** The one-line summary every scenario prints. */
  line: string;
}

const STUCK = new Set(['PENDING', 'ENQUEUED', 'DELAYED']);
const PLURAL: Record<FaultKind, string> = { kill: 'kills', stop: 'stops', shutdown: 'shutdowns', outage: 'outages' };

export function judge(input: VerdictInput): Verdict {
  const N = input.stepsPerWorkflow;
  const problems: string[] = [];
  const name = (inc: string) => input.names?.get(inc) ?? inc;
  const describe = (e: Execution) => `${name(e.incarnation)} seq ${e.seq} at ${e.atMs}`;

  // Executions by (workflow, step), and each incarnation's executions of each workflow, in its own order.
  const steps = new Map<string, Execution[]>();
  const byIncarnation = new Map<string, Execution[]>();
  let executions = 0;
  for (const e of input.executions) {
    const own = `${e.incarnation}\u0000${e.workflowID}`;
    byIncarnation.set(own, [...(byIncarnation.get(own) ?? []), e]);
    if (e.kind !== 'step') continue;
    executions++;
    const key = `${e.workflowID}\u0000${e.step}`;
    steps.set(key, [...(steps.get(key) ?? []), e]);
  }
  for (const list of steps.values()) list.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  const faultsOf = new Map<string, Fault[]>();
  const faultCounts: Partial<Record<FaultKind, number>> = {};
  for (const f of input.faults) {
    faultsOf.set(f.incarnation, [...(faultsOf.get(f.incarnation) ?? []), f]);
    faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
  }
  for (const list of faultsOf.values()) list.sort((a, b) => a.atMs - b.atMs);

  /** Why `e` cannot be the step in flight at a fault of its incarnation, or undefined if it can. */
  function unexplainedBecause(e: Execution, all: Execution[], real: Execution | undefined): string | undefined {
    if (real && !(e.atMs < real.atMs)) {
      return `it started after (or with) the run whose result was checkpointed, ${describe(real)}`;
    }
    const fault = faultsOf.get(e.incarnation)?.find((f) => f.atMs >= e.atMs);
    if (!fault) {
      const before = faultsOf.get(e.incarnation)?.at(-1);
      if (!before) return `${name(e.incarnation)} had no fault`;
      return `it started ${e.atMs - before.atMs} ms after ${name(e.incarnation)}'s ${before.kind} at ${before.atMs}, not before it`;
    }
    const later = (byIncarnation.get(`${e.incarnation}\u0000${e.workflowID}`) ?? []).find((x) => x.seq > e.seq);
    if (later) {
      const what = later.kind === 'return' ? 'returned from the workflow' : `went on to step ${later.step}`;
      return `${name(e.incarnation)} ${what} (seq ${later.seq}), so it was not in flight at its ${fault.kind}`;
    }
    const next = all.find((x) => x !== e && (x.atMs > e.atMs || (x.atMs === e.atMs && x.incarnation !== e.incarnation)));
    if (next && next.atMs < fault.atMs) {
      return `${describe(next)} ran it again before ${name(e.incarnation)}'s ${fault.kind} at ${fault.atMs}: two live runs`;
    }
    return undefined;
  }

  let allowedExtra = 0;
  let unexplained = 0;
  let lost = 0;
  let stuck = 0;
  const wrongIDs = new Set<string>();
  const workflowIDs = new Set([...input.expected.keys(), ...input.executions.map((e) => e.workflowID)]);
  for (const id of [...workflowIDs].sort()) {
    const seed = input.expected.get(id);
    const record = input.workflows.get(id);
    if (seed === undefined) {
      wrongIDs.add(id);
      problems.push(`wrong: ${id} is in the ledger but was never enqueued by the scenario`);
      continue;
    }
    const checkpoints = new Map((record?.steps ?? []).map((s) => [s.functionID, s]));
    const maxStep = Math.max(N - 1, ...input.executions.filter((e) => e.workflowID === id && e.kind === 'step').map((e) => e.step));

    // Executions, step by step.
    for (let k = 0; k <= maxStep; k++) {
      const all = steps.get(`${id}\u0000${k}`) ?? [];
      const checkpoint = checkpoints.get(k);
      const by = (checkpoint?.output as StepOutput | undefined)?.by;
      // The checkpointed execution: the recorded incarnation's (last) run of this step.
      const real = by === undefined ? undefined : [...all].reverse().find((e) => e.incarnation === by);
      if (checkpoint?.error != null) {
        wrongIDs.add(id);
        problems.push(`wrong: ${id} step ${k} recorded an error: ${checkpoint.error.slice(0, 300)} (ran: ${all.map(describe).join('; ') || 'nobody'})`);
      } else if (checkpoint && !real) {
        wrongIDs.add(id);
        problems.push(
          `wrong: ${id} step ${k} is checkpointed as run by ${by === undefined ? '(nobody)' : name(by)}, ` +
            `which has no execution of it in the ledger (ran: ${all.map(describe).join('; ') || 'nobody'})`,
        );
      }
      const others = all.filter((e) => e !== real);
      const reasons = others.map((e) => ({ e, why: unexplainedBecause(e, all, real) }));
      let bad = reasons.filter((r) => r.why !== undefined);
      // Without a checkpoint, one run is the step's own: only the unexplained beyond one count.
      if (!real && bad.length > 0) bad = bad.slice(1);
      const extra = Math.max(0, all.length - 1);
      unexplained += bad.length;
      allowedExtra += extra - bad.length;
      for (const { e, why } of bad) {
        problems.push(
          `unexplained: ${id} step ${k} ran ${all.length} times [${all.map(describe).join('; ')}]` +
            `${real ? `, checkpointed by ${name(real.incarnation)}` : ', not checkpointed'}; ` +
            `the run by ${describe(e)} is not explained: ${why}. Ledger of ${id}: ${describeLedger(id)}. ` +
            `Checkpoints: ${describeCheckpoints(record)}`,
        );
      }
    }

    // The system database's view of the workflow.
    if (!record) {
      lost++;
      problems.push(`lost: ${id} has no row in workflow_status (ledger: ${describeLedger(id)})`);
      continue;
    }
    if (STUCK.has(record.status)) {
      stuck++;
      problems.push(
        `stuck: ${id} is ${record.status} (executor ${record.executorID}, recovery attempts ${record.recoveryAttempts}, ` +
          `checkpointed steps [${[...checkpoints.keys()].join(',')}]; ledger: ${describeLedger(id)})`,
      );
      continue;
    }
    const wrongs: string[] = [];
    if (record.status !== 'SUCCESS') wrongs.push(`status ${record.status}`);
    else if (JSON.stringify(record.output) !== JSON.stringify(expectedResult(seed, N))) {
      wrongs.push(`result ${JSON.stringify(record.output)}, expected ${JSON.stringify(expectedResult(seed, N))}`);
    }
    if (record.status === 'SUCCESS') {
      const ids = [...checkpoints.keys()].sort((a, b) => a - b);
      if (JSON.stringify(ids) !== JSON.stringify(Array.from({ length: N }, (_, k) => k))) {
        wrongs.push(`step checkpoints [${ids.join(',')}], expected 0..${N - 1}`);
      }
      for (const s of checkpoints.values()) {
        const out = s.output as StepOutput | undefined;
        if (s.name !== FAULT_STEP || s.error !== null || out?.v !== stepValue(seed, s.functionID)) {
          wrongs.push(`step ${s.functionID} checkpoint ${s.name} ${JSON.stringify(s.output)} error ${s.error}`);
        }
      }
    }
    if (wrongs.length > 0) {
      wrongIDs.add(id);
      problems.push(`wrong: ${id}: ${wrongs.join('; ')} (ledger: ${describeLedger(id)}; checkpoints: ${describeCheckpoints(record)})`);
    }
  }

  function describeCheckpoints(record: WorkflowRecord | undefined): string {
    if (!record) return 'no workflow row';
    const steps = [...record.steps].sort((a, b) => a.functionID - b.functionID);
    const each = steps.map((c) => {
      const by = (c.output as StepOutput | undefined)?.by;
      return `${c.functionID} by ${by === undefined ? '?' : name(by)} ${c.startedAtMs ?? '?'}..${c.completedAtMs ?? '?'}`;
    });
    return `${record.status} on ${record.executorID}, recovery attempts ${record.recoveryAttempts} [${each.join('; ')}]`;
  }

  function describeLedger(id: string): string {
    const rows = input.executions.filter((e) => e.workflowID === id);
    if (rows.length === 0) return 'no executions';
    return rows.map((e) => `${e.kind === 'return' ? 'return' : `step ${e.step}`} by ${describe(e)}`).join('; ');
  }

  const wrong = wrongIDs.size;
  const counts: VerdictCounts = {
    workflows: input.expected.size,
    faults: faultCounts,
    executions,
    allowedExtra,
    unexplained,
    lost,
    stuck,
    wrong,
  };
  const faultText = (Object.keys(faultCounts) as FaultKind[])
    .sort()
    .map((k) => `${PLURAL[k]}=${faultCounts[k]}`)
    .join(' ');
  const line =
    `faults: ${input.scenario} workflows=${counts.workflows}${faultText ? ` ${faultText}` : ' faults=0'} executions=${executions} ` +
    `allowed-extra=${allowedExtra} unexplained=${unexplained} lost=${lost} stuck=${stuck} wrong=${wrong}`;
  return { counts, problems, line };
}

/** Whether the promise held: nothing lost, stuck, wrong, and no execution beyond what the faults explain. */
export function isClean(v: Verdict): boolean {
  return v.counts.unexplained === 0 && v.counts.lost === 0 && v.counts.stuck === 0 && v.counts.wrong === 0;
}
