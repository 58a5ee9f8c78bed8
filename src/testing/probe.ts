// What the testing kit sees of a run: every boundary of every durable operation, through the engine's RunProbe hook
// (src/runtime/context.ts). A recorder notes each event; a crash recorder also holds every run of its engine forever
// from the moment the run reaches the chosen boundary, as SIGKILL would stop the whole process there.

import type { ProbeEvent, ProbePoint, RunProbe, WorkflowContext } from '../runtime/context.js';

/** The boundaries a crash test can crash at, in the order they come within one step. */
export const BOUNDARIES = ['before', 'during', 'beforeCheckpoint', 'afterCheckpoint', 'beforeOutcome'] as const;
export type Boundary = (typeof BOUNDARIES)[number];

const POINT_OF: Record<Boundary, ProbePoint> = {
  before: 'before',
  during: 'during',
  beforeCheckpoint: 'ran',
  afterCheckpoint: 'after',
  beforeOutcome: 'completing',
};

export function boundaryOf(point: ProbePoint): Boundary | undefined {
  return BOUNDARIES.find((b) => POINT_OF[b] === point);
}

/** One event of a run, as the kit keeps it (plain data: it also travels from a child process as JSON). */
export interface Observed {
  workflowID: string;
  point: ProbePoint;
  functionID: number;
  name: string;
  attempt?: number;
  /** A child start: the ID the code asked for (`before`, `replayed`) or got (`after`). */
  childWorkflowID?: string;
  /** `replayed`: what the earlier execution recorded at this function ID. */
  recordedName?: string;
  recordedChildWorkflowID?: string | null;
  /** `after`, `ran`, `completing`: the operation (or workflow) threw. */
  failed?: boolean;
}

/** Where a crash is injected: the first time a run of this workflow reaches this boundary of this operation. */
export interface CrashPoint {
  workflowID: string;
  functionID: number;
  name: string;
  boundary: Boundary;
}

/** A promise that never settles: a run that awaits it is held forever, as a killed process's would be. */
export const FOREVER: Promise<never> = new Promise<never>(() => {});

export function observe(ctx: WorkflowContext, e: ProbeEvent): Observed {
  const o: Observed = { workflowID: ctx.workflowID, point: e.point, functionID: e.functionID, name: e.name };
  if (e.attempt !== undefined) o.attempt = e.attempt;
  if (e.childWorkflowID !== undefined) o.childWorkflowID = e.childWorkflowID;
  if (e.recorded) {
    o.recordedName = e.recorded.name;
    o.recordedChildWorkflowID = e.recorded.childWorkflowID;
  }
  if (e.error !== undefined) o.failed = true;
  return o;
}

export function matches(point: CrashPoint, o: Observed): boolean {
  return (
    o.workflowID === point.workflowID &&
    o.functionID === point.functionID &&
    o.point === POINT_OF[point.boundary] &&
    (o.attempt === undefined || o.attempt === 1)
  );
}

/** Records every event; with a crash point, holds every run from the moment one reaches it (and calls `onCrash`). */
export class Recorder implements RunProbe {
  readonly events: Observed[] = [];
  private holding = false;

  constructor(
    private readonly crashAt?: CrashPoint,
    private readonly onCrash?: (event: Observed) => void,
  ) {}

  get crashed(): boolean {
    return this.holding;
  }

  at(ctx: WorkflowContext, e: ProbeEvent): void | Promise<void> {
    if (this.holding) return FOREVER;
    const o = observe(ctx, e);
    this.events.push(o);
    if (this.crashAt && matches(this.crashAt, o)) {
      this.holding = true;
      this.onCrash?.(o);
      return FOREVER;
    }
  }
}

/** The workflows these events are about, in the order they were first seen. */
export function workflowsOf(events: Observed[]): string[] {
  return [...new Set(events.map((e) => e.workflowID))];
}

/** `workflowID#functionID` of each step execution (an attempt whose function was called), with how many. */
export function executions(events: Observed[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const e of events) if (e.point === 'during') count.set(stepKey(e.workflowID, e.functionID), (count.get(stepKey(e.workflowID, e.functionID)) ?? 0) + 1);
  return count;
}

export function stepKey(workflowID: string, functionID: number): string {
  return `${workflowID}#${functionID}`;
}
