// The verdict itself, on hand-made ledgers: those that must pass do, and each way the promise can be broken is
// caught, so no fault scenario can pass by a verdict that cannot fail.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Execution, Fault, FaultKind } from './support/ledger.js';
import { isClean, judge, type Verdict, type WorkflowRecord } from './support/verdict.js';
import { expectedResult, FAULT_STEP, stepValue } from './support/workload.js';

const N = 3;

/** A scenario written by hand: executions and faults in time order, then what the system database ended with. */
class Story {
  readonly executions: Execution[] = [];
  readonly faults: Fault[] = [];
  readonly workflows = new Map<string, WorkflowRecord>();
  readonly expected = new Map<string, number>();
  private readonly seqs = new Map<string, number>();

  enqueue(...ids: string[]): this {
    for (const id of ids) this.expected.set(id, Number(id.replace(/\D/g, '')) || 1);
    return this;
  }

  run(incarnation: string, workflowID: string, step: number, atMs: number): this {
    const seq = (this.seqs.get(incarnation) ?? 0) + 1;
    this.seqs.set(incarnation, seq);
    this.executions.push({ workflowID, step, kind: 'step', incarnation, pid: 1, seq, atMs });
    return this;
  }

  /** All N steps of `workflowID` in `incarnation`, 10 ms apart from `atMs`, then its return. */
  runAll(incarnation: string, workflowID: string, atMs: number): this {
    for (let k = 0; k < N; k++) this.run(incarnation, workflowID, k, atMs + 10 * k);
    return this.returned(incarnation, workflowID, atMs + 10 * N);
  }

  returned(incarnation: string, workflowID: string, atMs: number): this {
    const seq = (this.seqs.get(incarnation) ?? 0) + 1;
    this.seqs.set(incarnation, seq);
    this.executions.push({ workflowID, step: N, kind: 'return', incarnation, pid: 1, seq, atMs });
    return this;
  }

  fault(incarnation: string, kind: FaultKind, atMs: number): this {
    this.faults.push({ incarnation, kind, atMs });
    return this;
  }

  /** The system database: `workflowID` SUCCESS with the right result, step k checkpointed as run by `by[k]`. */
  success(workflowID: string, by: string[], patch: Partial<WorkflowRecord> = {}): this {
    const seed = this.expected.get(workflowID)!;
    this.workflows.set(workflowID, {
      workflowID,
      status: 'SUCCESS',
      output: expectedResult(seed, N),
      executorID: 'x',
      recoveryAttempts: 1,
      steps: by.map((b, k) => ({ functionID: k, name: FAULT_STEP, output: { v: stepValue(seed, k), by: b }, error: null })),
      ...patch,
    });
    return this;
  }

  status(workflowID: string, status: string): this {
    this.workflows.set(workflowID, { workflowID, status, output: undefined, executorID: 'x', recoveryAttempts: 1, steps: [] });
    return this;
  }

  judge(): Verdict {
    return judge({
      scenario: 'hand-made',
      stepsPerWorkflow: N,
      expected: this.expected,
      executions: this.executions,
      faults: this.faults,
      workflows: this.workflows,
    });
  }
}

function counts(v: Verdict) {
  const { allowedExtra, unexplained, lost, stuck, wrong } = v.counts;
  return { allowedExtra, unexplained, lost, stuck, wrong };
}

describe('the exactly-once verdict', () => {
  describe('passes', () => {
    it('every step once, no faults', () => {
      const v = new Story().enqueue('wf1', 'wf2').runAll('A', 'wf1', 100).runAll('B', 'wf2', 100).success('wf1', ['A', 'A', 'A']).success('wf2', ['B', 'B', 'B']).judge();
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 0, lost: 0, stuck: 0, wrong: 0 });
      assert.ok(isClean(v));
      assert.equal(v.line, 'faults: hand-made workflows=2 faults=0 executions=6 allowed-extra=0 unexplained=0 lost=0 stuck=0 wrong=0');
    });

    it('the step in flight at a kill runs again after it', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .run('A', 'wf1', 1, 110) // in flight...
        .fault('A', 'kill', 115) // ...when A dies
        .run('A2', 'wf1', 1, 900)
        .run('A2', 'wf1', 2, 910)
        .returned('A2', 'wf1', 920)
        .success('wf1', ['A', 'A2', 'A2'])
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 1, unexplained: 0, lost: 0, stuck: 0, wrong: 0 });
      assert.match(v.line, /kills=1 executions=4 allowed-extra=1 unexplained=0/);
    });

    it('a step whose checkpoint was written just before the kill is not run again, and needs no excuse', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .fault('A', 'kill', 150)
        .run('B', 'wf1', 1, 900)
        .run('B', 'wf1', 2, 910)
        .returned('B', 'wf1', 920)
        .success('wf1', ['A', 'B', 'B'])
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 0, lost: 0, stuck: 0, wrong: 0 });
    });

    it('one step cut short twice (two faults, two incarnations) runs three times', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .fault('A', 'kill', 120)
        .run('B', 'wf1', 0, 500)
        .fault('B', 'stop', 510)
        .run('C', 'wf1', 0, 3000)
        .run('C', 'wf1', 1, 3010)
        .run('C', 'wf1', 2, 3020)
        .returned('C', 'wf1', 3030)
        .success('wf1', ['C', 'C', 'C'])
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 2, unexplained: 0, lost: 0, stuck: 0, wrong: 0 });
    });

    it('a clean shutdown excuses the step that was running when it was asked for', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .fault('A', 'shutdown', 105)
        .run('B', 'wf1', 0, 300)
        .run('B', 'wf1', 1, 310)
        .run('B', 'wf1', 2, 320)
        .returned('B', 'wf1', 330)
        .success('wf1', ['B', 'B', 'B'])
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 1, unexplained: 0, lost: 0, stuck: 0, wrong: 0 });
      assert.match(v.line, /shutdowns=1/);
    });
  });

  describe('fails', () => {
    it('a step run twice with no fault at all', () => {
      const v = new Story().enqueue('wf1').run('A', 'wf1', 0, 100).runAll('B', 'wf1', 200).success('wf1', ['B', 'B', 'B']).judge();
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 1, lost: 0, stuck: 0, wrong: 0 });
      assert.match(v.problems[0]!, /^unexplained: wf1 step 0 ran 2 times.*A had no fault/);
      assert.ok(!isClean(v));
    });

    it('a step that started after its incarnation was faulted (a paused process that went on after SIGCONT)', () => {
      const v = new Story()
        .enqueue('wf1')
        .fault('A', 'stop', 50)
        .run('A', 'wf1', 0, 100)
        .runAll('B', 'wf1', 200)
        .success('wf1', ['B', 'B', 'B'])
        .judge();
      assert.equal(v.counts.unexplained, 1);
      assert.match(v.problems[0]!, /it started 50 ms after A's stop at 50, not before it/);
    });

    it('a step that had completed before the kill (its incarnation went on to the next step) runs again', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .run('A', 'wf1', 1, 110)
        .fault('A', 'kill', 120)
        .runAll('B', 'wf1', 900) // step 0 again: it was behind A, not in flight
        .success('wf1', ['B', 'B', 'B'])
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 1, unexplained: 1, lost: 0, stuck: 0, wrong: 0 });
      assert.match(v.problems.join('\n'), /wf1 step 0 .* A went on to step 1/);
    });

    it('the last step runs again after its incarnation returned from the workflow', () => {
      const v = new Story()
        .enqueue('wf1')
        .runAll('A', 'wf1', 100)
        .fault('A', 'kill', 200)
        .run('B', 'wf1', 2, 900)
        .returned('B', 'wf1', 910)
        .success('wf1', ['A', 'A', 'B'])
        .judge();
      assert.equal(v.counts.unexplained, 1);
      assert.match(v.problems[0]!, /A returned from the workflow/);
    });

    it('a checkpointed step runs again, even if the process that re-ran it was killed in it', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100) // completed: checkpointed as A's...
        .fault('A', 'kill', 150)
        .run('B', 'wf1', 0, 900) // ...and yet run again
        .fault('B', 'kill', 950)
        .run('C', 'wf1', 1, 2000)
        .run('C', 'wf1', 2, 2010)
        .returned('C', 'wf1', 2020)
        .success('wf1', ['A', 'C', 'C'])
        .judge();
      assert.equal(v.counts.unexplained, 1);
      assert.match(v.problems[0]!, /started after \(or with\) the run whose result was checkpointed/);
    });

    it('two live processes run one step side by side, and one is killed later', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .run('B', 'wf1', 0, 105) // B took the workflow while A was alive and running it
        .run('B', 'wf1', 1, 115)
        .run('B', 'wf1', 2, 125)
        .returned('B', 'wf1', 135)
        .fault('A', 'kill', 5000)
        .success('wf1', ['B', 'B', 'B'])
        .judge();
      assert.equal(v.counts.unexplained, 1);
      assert.match(v.problems[0]!, /ran it again before A's kill at 5000: two live runs/);
    });

    it('one incarnation runs the same step twice', () => {
      const v = new Story()
        .enqueue('wf1')
        .run('A', 'wf1', 0, 100)
        .run('A', 'wf1', 0, 105)
        .run('A', 'wf1', 1, 110)
        .run('A', 'wf1', 2, 120)
        .returned('A', 'wf1', 130)
        .fault('A', 'kill', 140)
        .success('wf1', ['A', 'A', 'A'])
        .judge();
      assert.equal(v.counts.unexplained, 1);
    });

    it('lost, stuck and errored workflows', () => {
      const v = new Story()
        .enqueue('wf1', 'wf2', 'wf3', 'wf4')
        .runAll('A', 'wf1', 100)
        .success('wf1', ['A', 'A', 'A'])
        .status('wf2', 'PENDING')
        .status('wf3', 'ERROR')
        .judge();
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 0, lost: 1, stuck: 1, wrong: 1 });
      assert.match(v.problems.join('\n'), /lost: wf4/);
      assert.match(v.problems.join('\n'), /stuck: wf2 is PENDING/);
    });

    it('a wrong result, a missing step checkpoint, a checkpoint nobody ran', () => {
      const story = new Story().enqueue('wf1', 'wf2', 'wf3').runAll('A', 'wf1', 100).runAll('A', 'wf2', 100).runAll('A', 'wf3', 100);
      story.success('wf1', ['A', 'A', 'A'], { output: [1, 2, 3] });
      story.success('wf2', ['A', 'A', 'A']);
      story.workflows.get('wf2')!.steps.pop(); // ran outside any step context: never checkpointed
      story.success('wf3', ['A', 'Z', 'A']);
      const v = story.judge();
      assert.equal(v.counts.wrong, 3);
      assert.match(v.problems.join('\n'), /wf2: step checkpoints \[0,1\], expected 0\.\.2/);
      assert.match(v.problems.join('\n'), /wf3 step 1 is checkpointed as run by Z, which has no execution/);
    });

    it('a step that recorded an error (the workflow ERROR) is one wrong workflow', () => {
      const story = new Story().enqueue('wf1').run('A', 'wf1', 0, 100).status('wf1', 'ERROR');
      story.workflows.get('wf1')!.steps.push({ functionID: 0, name: FAULT_STEP, output: undefined, error: '{"message":"too many clients"}' });
      const v = story.judge();
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 0, lost: 0, stuck: 0, wrong: 1 });
      assert.match(v.problems.join('\n'), /wf1 step 0 recorded an error: .*too many clients/);
    });

    it('a workflow nobody enqueued', () => {
      const v = new Story().enqueue('wf1').runAll('A', 'wf1', 100).runAll('A', 'wf9', 100).success('wf1', ['A', 'A', 'A']).judge();
      assert.equal(v.counts.wrong, 1);
    });
  });
});
