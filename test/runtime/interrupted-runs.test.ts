// A write the system database refuses for good is not the workflow's failure: the run is interrupted (its code sees
// DBOSRunInterruptedError at that point and at every durable operation after it), nothing is recorded as the
// workflow's outcome, and the workflow goes back to its queue to resume from its last checkpoint. Concurrent runs
// that shared a commit with the refused write are not affected. The refusal is made by a trigger on the step table,
// the way a full disk, a dropped permission or a broken constraint would refuse it.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSRunInterruptedError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

let poisonedRuns = 0;
let healthyRuns = 0;
const seenByCode: string[] = [];

const poisoned = DBOS.registerStep(
  async () => {
    poisonedRuns++;
    return 'written?';
  },
  { name: 'poisoned' },
);
const healthy = DBOS.registerStep(
  async (i: number) => {
    healthyRuns++;
    return i;
  },
  { name: 'healthy' },
);

const victim = DBOS.registerWorkflow(
  async () => {
    try {
      return await poisoned();
    } catch (err) {
      // Code that catches everything must not turn the interruption into an outcome of its own.
      seenByCode.push((err as Error).name);
      await healthy(-1);
      return 'caught';
    }
  },
  { name: 'interruptedVictim' },
);
const bystander = DBOS.registerWorkflow(async (i: number) => healthy(i), { name: 'interruptedBystander' });

async function refuseSteps(url: string, name: string): Promise<void> {
  if (url.startsWith('sqlite:')) {
    await execSql(
      url,
      `CREATE TRIGGER refuse_${name} BEFORE INSERT ON operation_outputs WHEN NEW.function_name = '${name}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    return;
  }
  await execSql(url, `CREATE OR REPLACE FUNCTION dbos.refuse_step() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`);
  await execSql(url, `CREATE TRIGGER refuse_${name} BEFORE INSERT ON dbos.operation_outputs
    FOR EACH ROW WHEN (NEW.function_name = '${name}') EXECUTE FUNCTION dbos.refuse_step()`);
}

async function acceptSteps(url: string, name: string): Promise<void> {
  await execSql(url, url.startsWith('sqlite:') ? `DROP TRIGGER refuse_${name}` : `DROP TRIGGER refuse_${name} ON dbos.operation_outputs`);
}

after(dropFreshDatabases);

describeEachBackend('a write the database refuses interrupts the run, never decides its outcome', (kind) => {
  const url = engineOn(kind, 'interrupt');

  it('leaves the workflow to be resumed, and it finishes once the database accepts the write', async () => {
    poisonedRuns = 0;
    healthyRuns = 0;
    seenByCode.length = 0;
    await refuseSteps(url(), 'poisoned');
    const id = `victim-${kind}`;
    await DBOS.startWorkflow(victim, { workflowID: id })();
    // Concurrent workflows share commits with the refused write; each of theirs is written on its own.
    const others = await Promise.all(Array.from({ length: 8 }, (_, i) => DBOS.startWorkflow(bystander)(i)));
    assert.deepEqual(await Promise.all(others.map((h) => h.getResult())), [0, 1, 2, 3, 4, 5, 6, 7]);

    await waitUntil(() => seenByCode.length > 0, { message: 'the victim to be interrupted' });
    assert.deepEqual([...new Set(seenByCode)], [DBOSRunInterruptedError.name], 'the code saw the interruption');
    // Given back to its queue, not failed: no outcome is recorded, and the step its catch block called never ran.
    await waitUntil(async () => {
      const [row] = await queryRows(url(), 'SELECT status, queue_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [id]);
      return row && ['DELAYED', 'ENQUEUED'].includes(String(row.status)) && row;
    }, { message: 'the victim to go back to its queue' });
    assert.equal(healthyRuns, 8, "the catch block's step did not run");
    const outputs = await queryRows(url(), 'SELECT * FROM dbos.workflow_output WHERE workflow_uuid = $1', [id]);
    assert.equal(outputs.length, 0, 'no outcome recorded');

    await acceptSteps(url(), 'poisoned');
    assert.equal(await DBOS.retrieveWorkflow(id).getResult(), 'written?');
    const [row] = await queryRows(url(), 'SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1', [id]);
    assert.equal(row?.status, 'SUCCESS');
    assert.ok(poisonedRuns >= 2, 'the refused step ran again (it was in flight when its write was refused)');
    const steps = await DBOS.listWorkflowSteps(id);
    assert.deepEqual(steps?.map((s) => s.name), ['poisoned']);
  });
});
