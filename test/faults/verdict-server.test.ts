// The verdict's server- and network-level fault kinds (support/verdict.ts, support/ledger.ts), on hand-made
// ledgers: a restart, an outage, terminated backends and a lost reply explain no execution (even one named after the
// worker whose connection it cut), and a partition explains, like a kill at the moment of the takeover, only what the
// partitioned worker had started before it and did not go on with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Execution, Fault, FaultKind } from './support/ledger.js';
import { judge, type Verdict, type WorkflowRecord } from './support/verdict.js';
import { expectedResult, FAULT_STEP, stepValue } from './support/workload.js';

const N = 3;

/** A ledger and a final system database written by hand (the same shape as verdict.test.ts's). */
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

  private push(incarnation: string, workflowID: string, step: number, kind: 'step' | 'return', atMs: number): this {
    const seq = (this.seqs.get(incarnation) ?? 0) + 1;
    this.seqs.set(incarnation, seq);
    this.executions.push({ workflowID, step, kind, incarnation, pid: 1, seq, atMs });
    return this;
  }

  run(incarnation: string, workflowID: string, step: number, atMs: number): this {
    return this.push(incarnation, workflowID, step, 'step', atMs);
  }

  returned(incarnation: string, workflowID: string, atMs: number): this {
    return this.push(incarnation, workflowID, N, 'return', atMs);
  }

  fault(incarnation: string, kind: FaultKind, atMs: number): this {
    this.faults.push({ incarnation, kind, atMs });
    return this;
  }

  success(workflowID: string, by: string[]): this {
    const seed = this.expected.get(workflowID)!;
    this.workflows.set(workflowID, {
      workflowID,
      status: 'SUCCESS',
      output: expectedResult(seed, N),
      executorID: 'x',
      recoveryAttempts: 1,
      steps: by.map((b, k) => ({ functionID: k, name: FAULT_STEP, output: { v: stepValue(seed, k), by: b }, error: null })),
    });
    return this;
  }

  judge(): Verdict {
    return judge({ scenario: 'hand-made', stepsPerWorkflow: N, expected: this.expected, executions: this.executions, faults: this.faults, workflows: this.workflows });
  }
}

const counts = (v: Verdict) => ({ allowedExtra: v.counts.allowedExtra, unexplained: v.counts.unexplained, wrong: v.counts.wrong });

/** wf1: A runs step 0 at 100; the fault; B runs everything again from 500 and its results are checkpointed. */
function rerunAfter(incarnation: string, kind: FaultKind): Verdict {
  return new Story()
    .enqueue('wf1')
    .run('A', 'wf1', 0, 100)
    .fault(incarnation, kind, 110)
    .run('B', 'wf1', 0, 500)
    .run('B', 'wf1', 1, 510)
    .run('B', 'wf1', 2, 520)
    .returned('B', 'wf1', 530)
    .success('wf1', ['B', 'B', 'B'])
    .judge();
}

describe('the verdict on server- and network-level faults', () => {
  it('a kill of the worker explains its step in flight (the contrast for what follows)', () => {
    assert.deepEqual(counts(rerunAfter('A', 'kill')), { allowedExtra: 1, unexplained: 0, wrong: 0 });
  });

  for (const kind of ['restart', 'short-outage', 'terminate', 'lost-reply'] as const) {
    it(`a ${kind} of the database explains no execution`, () => {
      const v = rerunAfter('postgres', kind);
      assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 1, wrong: 0 });
      assert.match(v.problems[0]!, /the run by A seq 1 at 100 is not explained: A had no fault/);
    });
  }

  it('a lost reply explains nothing even when recorded under the worker whose connection it cut', () => {
    const v = rerunAfter('A', 'lost-reply');
    assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 1, wrong: 0 });
  });

  it('a partition explains the step the partitioned worker had started before the takeover', () => {
    // A is black-holed at 1000 while in step 1; b takes its work over at 4000 and runs step 1 again.
    const v = new Story()
      .enqueue('wf1')
      .run('A', 'wf1', 0, 100)
      .run('A', 'wf1', 1, 900)
      .fault('A', 'partition', 4000)
      .run('B', 'wf1', 1, 4100)
      .run('B', 'wf1', 2, 4200)
      .returned('B', 'wf1', 4300)
      .success('wf1', ['A', 'B', 'B'])
      .judge();
    assert.deepEqual(counts(v), { allowedExtra: 1, unexplained: 0, wrong: 0 });
    assert.match(v.line, /partitions=1 executions=4 allowed-extra=1 unexplained=0/);
  });

  it('a partition explains a step started during it, before the takeover (the lease was still valid)', () => {
    const v = new Story()
      .enqueue('wf1')
      .run('A', 'wf1', 0, 100)
      .run('A', 'wf1', 1, 2500) // the partition began at 1000; A's lease still looked valid to it
      .fault('A', 'partition', 4000)
      .run('B', 'wf1', 1, 4100)
      .run('B', 'wf1', 2, 4200)
      .returned('B', 'wf1', 4300)
      .success('wf1', ['A', 'B', 'B'])
      .judge();
    assert.deepEqual(counts(v), { allowedExtra: 1, unexplained: 0, wrong: 0 });
  });

  it('a partition does not explain a step the partitioned worker started after the takeover', () => {
    const v = new Story()
      .enqueue('wf1')
      .fault('A', 'partition', 4000)
      .run('A', 'wf1', 0, 4050) // past its lease, after its work was taken over: two live runs
      .run('B', 'wf1', 0, 4100)
      .run('B', 'wf1', 1, 4200)
      .run('B', 'wf1', 2, 4300)
      .returned('B', 'wf1', 4400)
      .success('wf1', ['B', 'B', 'B'])
      .judge();
    assert.deepEqual(counts(v), { allowedExtra: 0, unexplained: 1, wrong: 0 });
    assert.match(v.problems[0]!, /started 50 ms after A's partition at 4000/);
  });

  it('a partition does not explain a step the healed worker went on from', () => {
    const v = new Story()
      .enqueue('wf1')
      .run('A', 'wf1', 0, 100)
      .fault('A', 'partition', 4000)
      .run('B', 'wf1', 0, 4100)
      .run('B', 'wf1', 1, 4200)
      .run('B', 'wf1', 2, 4300)
      .returned('B', 'wf1', 4400)
      .run('A', 'wf1', 1, 9000) // healed, A carried on with a workflow it no longer owned
      .success('wf1', ['B', 'B', 'B'])
      .judge();
    assert.ok(v.counts.unexplained >= 1, v.line);
    assert.match(v.problems.join('\n'), /A went on to step 1/);
  });

  it('the counts line names every kind of fault', () => {
    const v = new Story()
      .enqueue('wf1')
      .run('A', 'wf1', 0, 100)
      .run('A', 'wf1', 1, 110)
      .run('A', 'wf1', 2, 120)
      .returned('A', 'wf1', 130)
      .success('wf1', ['A', 'A', 'A'])
      .fault('postgres', 'restart', 10)
      .fault('postgres', 'terminate', 20)
      .fault('postgres', 'terminate', 30)
      .fault('postgres', 'short-outage', 40)
      .fault('A', 'lost-reply', 50)
      .fault('B', 'partition', 60)
      .judge();
    assert.equal(
      v.line,
      'faults: hand-made workflows=1 lost-replies=1 partitions=1 restarts=1 short-outages=1 terminations=2 executions=3 allowed-extra=0 unexplained=0 lost=0 stuck=0 wrong=0',
    );
  });
});
