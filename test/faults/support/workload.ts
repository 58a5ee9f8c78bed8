// The workload of the fault suite, shared by the worker fixture (which runs it) and the verdict (which checks it):
// one workflow of N steps, each step returning a value that depends only on the workflow's seed and the step's
// index, so a result can be checked without knowing which process produced it.

export const FAULT_APP = 'transact-faults';
export const FAULT_WORKFLOW = 'faultWork';
export const FAULT_STEP = 'faultStep';
export const DEFAULT_QUEUE = 'faults';

/** The value step `step` of the workflow with this seed returns (and checkpoints, with the runner's incarnation). */
export function stepValue(seed: number, step: number): number {
  return (seed * 7919 + (step + 1) * 104729) % 1_000_003;
}

/** What the workflow with this seed returns: its steps' values, in order. */
export function expectedResult(seed: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, k) => stepValue(seed, k));
}

/** A step's checkpointed output: the value, and the incarnation (process run) that produced it. */
export interface StepOutput {
  v: number;
  by: string;
}
