// The crash-test kit on sample workflows (test/testing/fixtures/workflows.ts), on both backends: a correct workflow
// passes at every boundary; a step that is not idempotent, an ID drawn with Math.random() and a branch on Date.now()
// are each flagged, with the boundary and the step.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { assertCrashSafe, crashTest } from '../../src/testing/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';

process.env.TRANSACT_TEST_LEDGER ??= join(scratchDir('ledger'), 'ledger.log');
const { chargesOf, checkout, checkoutByClock, checkoutChargesTwice, checkoutRandomReceipt, LATE_AFTER_MS } = await import('./fixtures/workflows.js');
const { rmSync } = await import('node:fs');

function resetLedger(): void {
  rmSync(process.env.TRANSACT_TEST_LEDGER!, { force: true });
}

after(dropFreshDatabases);

describeEachBackend('crashTest', (kind) => {
  const database = () => (kind === 'postgres' ? freshDatabase(kind, 'kit') : undefined);

  it('passes a correct workflow at every boundary, and names the steps that ran twice', async () => {
    const report = await crashTest(checkout, ['order-1', 500], {
      systemDatabaseUrl: database(),
      setup: resetLedger,
      verify: () => assert.equal(chargesOf('order-1'), 1, 'charged once'),
    });
    assertCrashSafe(report);
    console.log(report.summary);
    // reserve, charge, sleep, ship, the child start and the wait for its result, and the child's own step.
    const names = report.reference.operations.map((o) => o.name);
    for (const name of ['reserve', 'charge', 'DBOS.sleep', 'ship', 'sendReceipt', 'DBOS.getResult', 'email']) assert.ok(names.includes(name), name);
    const labels = report.boundaries.map((b) => b.label);
    for (const label of ['before step 0 (reserve)', 'during step 1 (charge)', 'after it ran, before the checkpoint of step 1 (charge)', 'after the checkpoint of step 1 (charge)', 'before the outcome of the workflow is recorded', 'during step 0 (email) in child crash-test-4']) {
      assert.ok(labels.includes(label), `crashed ${label}; got ${labels.join(' | ')}`);
    }
    assert.ok(report.boundaries.every((b) => b.crashed && b.sameResult && b.reranAfterCheckpoint.length === 0));
    // Of the crashed workflow, exactly the step in flight ran twice: crashed during it or between its run and its
    // checkpoint, never otherwise. (The child runs beside its parent, so a step of it may be in flight too.)
    for (const b of report.boundaries) {
      const inFlight = b.crash.boundary === 'during' || b.crash.boundary === 'beforeCheckpoint';
      const expected = inFlight && !b.crash.name.startsWith('DBOS.') ? [b.crash.name] : [];
      const ofCrashed = b.ranTwice.filter((s) => s.workflowID === b.crash.workflowID);
      assert.deepEqual(ofCrashed.map((s) => s.name), expected, b.label);
    }
    assert.deepEqual(new Set(report.ranTwice.map((t) => t.step.name)), new Set(['reserve', 'charge', 'ship', 'email']));
  });

  it('flags a step that is not idempotent: it charged twice when crashed while in flight', async () => {
    const report = await crashTest(checkoutChargesTwice, ['order-2', 700], {
      systemDatabaseUrl: database(),
      setup: resetLedger,
      verify: () => assert.equal(chargesOf('order-2'), 1, 'the card must be charged once'),
    });
    console.log(report.summary);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.failures.map((f) => f.label),
      ['during step 1 (charge)', 'after it ran, before the checkpoint of step 1 (charge)'],
    );
    for (const f of report.failures) {
      assert.deepEqual(f.ranTwice.map((s) => s.name), ['charge']);
      assert.match(f.problems.join('\n'), /verify failed: .*charged once/);
    }
    assert.throws(() => assertCrashSafe(report), /during step 1 \(charge\)/);
  });

  it('flags an ID drawn with Math.random() in workflow code: a different child on replay and against the reference', async () => {
    const report = await crashTest(checkoutRandomReceipt, ['order-3'], { systemDatabaseUrl: database(), setup: resetLedger });
    console.log(report.summary);
    assert.equal(report.ok, false);
    // Crashed after the child start was recorded: the replay asks for another child than the one recorded.
    const afterStart = report.boundaries.find((b) => b.label === 'after the checkpoint of step 1 (sendReceipt)')!;
    const onReplay = afterStart.nondeterminism.find((d) => d.kind === 'different child' && d.message.startsWith('on recovery'));
    assert.ok(onReplay, afterStart.problems.join('\n'));
    assert.equal(onReplay.functionID, 1);
    assert.notEqual(onReplay.expected!.childWorkflowID, onReplay.actual!.childWorkflowID);
    // And every run's child differs from the reference run's.
    assert.ok(report.boundaries.filter((b) => b.crash.workflowID === 'crash-test').every((b) => b.nondeterminism.some((d) => d.kind === 'different child')));
  });

  it('flags a branch on Date.now() in workflow code: after downtime the replay takes the other branch', async () => {
    const report = await crashTest(checkoutByClock, ['order-4'], {
      systemDatabaseUrl: database(),
      setup: resetLedger,
      downtimeMs: LATE_AFTER_MS * 2,
      boundaries: ['afterCheckpoint'],
      operations: ['DBOS.now', 'thank'],
    });
    console.log(report.summary);
    assert.equal(report.ok, false);
    const after = report.boundaries.find((b) => b.label === 'after the checkpoint of step 1 (thank)')!;
    const mismatch = after.nondeterminism.find((d) => d.kind === 'replay mismatch');
    assert.ok(mismatch, after.problems.join('\n'));
    assert.deepEqual([mismatch.functionID, mismatch.expected!.name, mismatch.actual!.name], [1, 'thank', 'apologize']);
    // Crashed right after DBOS.now was recorded, the recovered run took the late branch: a different step at ID 1.
    const early = report.boundaries.find((b) => b.label === 'after the checkpoint of step 0 (DBOS.now)')!;
    assert.ok(early.nondeterminism.some((d) => d.kind === 'different step' && d.functionID === 1), early.problems.join('\n'));
  });
});

describeEachBackend('crashTest in a real process (SIGKILL)', (kind) => {
  it('kills a child process at each boundary of the charge step and recovers here: the double charge is caught', async () => {
    const killed: number[] = [];
    const report = await crashTest(checkoutChargesTwice, ['order-5', 900], {
      systemDatabaseUrl: kind === 'postgres' ? freshDatabase(kind, 'kitproc') : undefined,
      childProcess: { module: new URL('./fixtures/workflows.ts', import.meta.url) },
      operations: ['charge'],
      setup: resetLedger,
      verify: () => assert.equal(chargesOf('order-5'), 1, 'the card must be charged once'),
    });
    console.log(report.summary);
    assert.deepEqual(
      report.boundaries.map((b) => [b.label, b.crashed, b.ok]),
      [
        ['before step 1 (charge)', true, true],
        ['during step 1 (charge)', true, false],
        ['after it ran, before the checkpoint of step 1 (charge)', true, false],
        ['after the checkpoint of step 1 (charge)', true, true],
      ],
    );
    for (const b of report.boundaries) {
      assert.ok(b.killedPid && b.killedPid !== process.pid, 'ran in another process');
      killed.push(b.killedPid);
      assert.ok(b.sameResult, b.label);
    }
    assert.equal(new Set(killed).size, 4, 'a process of its own for each crash');
    // The killed process had charged; the recovery here charged again (the ledger is shared through a file).
    assert.deepEqual(report.failures[0]!.ranTwice.map((s) => s.name), ['charge']);
  });
});
