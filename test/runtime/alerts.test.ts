// DBOS.setAlertHandler: one handler per process, set before launch, receiving Transact's own alerts with DBOS's
// handler signature (name, message, string metadata). Both alerts are produced for real here: an executor whose
// heartbeat lapsed (rows left the way a crashed executor leaves them) is taken over, and the workflow it left, which
// had already been started too many times, is dead-lettered.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSError } from '../../src/index.js';
import { NATIVE_SERIALIZATION, serializeArgs } from '../../src/serialization/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { launchOn, TEST_APP, TEST_VERSION } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const alerts: { name: string; message: string; metadata: Record<string, string> }[] = [];
let failNext = false;

const fragile = DBOS.registerWorkflow(async () => 'never runs', { name: 'fragile', maxRecoveryAttempts: 2 });
void fragile;

/** A crashed executor's leftovers: its heartbeat (long stale) and a PENDING workflow already started many times. */
async function crashedExecutor(url: string, executorID: string, workflowID: string): Promise<void> {
  await execSql(
    url,
    `INSERT INTO dbos.workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name,
       owner_xid, serialization, recovery_attempts)
     VALUES ($1, 'PENDING', 'fragile', $2, $3, $4, 'token-of-the-dead', $5, 7)`,
    [workflowID, executorID, TEST_VERSION, TEST_APP, NATIVE_SERIALIZATION],
  );
  await execSql(url, 'INSERT INTO dbos.workflow_input (workflow_uuid, inputs) VALUES ($1, $2)', [workflowID, serializeArgs([], 'native').text]);
  const last = Date.now() - 60_000;
  await execSql(
    url,
    `INSERT INTO dbos.transact_executor_heartbeats (executor_id, application_name, application_version, last_heartbeat_epoch_ms,
       started_at_epoch_ms)
     VALUES ($1, $2, $3, $4, $4)`,
    [executorID, TEST_APP, TEST_VERSION, last],
  );
}

it('takes one handler, before launch only', async () => {
  DBOS.setAlertHandler(async (name, message, metadata) => {
    if (failNext) {
      failNext = false;
      throw new Error('the handler itself failed');
    }
    alerts.push({ name, message, metadata });
  });
  assert.throws(() => DBOS.setAlertHandler(async () => {}), DBOSError, 'a second handler is refused');
});

after(dropFreshDatabases);

describeEachBackend('alerts', (kind) => {
  it('alerts on an executor taken over and on a workflow dead-lettered; a failing handler disturbs nothing', async () => {
    const url = freshDatabase(kind, 'alerts');
    alerts.length = 0;
    failNext = false;
    await DBOS.migrate(url);
    await crashedExecutor(url, `crashed-${kind}`, `left-behind-${kind}`);
    await launchOn(url, { executorID: `live-${kind}`, executorLeaseMs: 1500 });
    try {
      assert.throws(() => DBOS.setAlertHandler(async () => {}), DBOSError, 'refused after launch');
      await waitUntil(() => alerts.length >= 2, { message: 'two alerts' });
      const lapsed = alerts.find((a) => a.name === 'ExecutorLeaseLapsed');
      assert.ok(lapsed, JSON.stringify(alerts));
      assert.deepEqual(lapsed.metadata, { executorIDs: `crashed-${kind}`, requeuedWorkflows: '1', takenOverBy: `live-${kind}` });
      const dead = alerts.find((a) => a.name === 'WorkflowMaxRecoveryAttemptsExceeded');
      assert.ok(dead, JSON.stringify(alerts));
      assert.equal(dead.metadata.workflowID, `left-behind-${kind}`);
      assert.equal(dead.metadata.workflowName, 'fragile');
      assert.equal(dead.metadata.maxRecoveryAttempts, '2');
      assert.match(dead.message, /left-behind/);
      const [row] = await queryRows(url, 'SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1', [`left-behind-${kind}`]);
      assert.equal(row?.status, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED');

      // A handler that throws is logged; the engine goes on, and the next alert is delivered.
      failNext = true;
      await crashedExecutor(url, `crashed-again-${kind}`, `left-again-${kind}`);
      await waitUntil(
        () => alerts.some((a) => a.name === 'WorkflowMaxRecoveryAttemptsExceeded' && a.metadata.workflowID === `left-again-${kind}`),
        { message: 'the dead-letter alert after the failed delivery' },
      );
      assert.equal(failNext, false, 'the failing delivery happened');
    } finally {
      await DBOS.shutdown();
    }
  });
});
