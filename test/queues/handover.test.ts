// How work changes hands between executors without a control plane: an executor whose process is gone from this host
// is taken over at once (not a lease later); a clean shutdown gives its unfinished work back to its queues for a live
// executor to continue; a heartbeat table made before incarnations existed gains its new columns. The multi-process
// versions, with real SIGKILL, SIGSTOP and shutdowns, are in test/faults/.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, it } from 'node:test';
import { DBOS, DBOSClient } from '../../src/index.js';
import { hostID } from '../../src/queues/host.js';
import { NATIVE_SERIALIZATION, serializeArgs, serializeValue } from '../../src/serialization/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { launchOn, TEST_APP, TEST_VERSION } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const stepRuns = new Map<string, number>();
const handStep = DBOS.registerStep(
  async (key: string) => {
    stepRuns.set(key, (stepRuns.get(key) ?? 0) + 1);
    return key;
  },
  { name: 'handStep' },
);

/** Records a step, then waits for a message: stopped by a shutdown while it waits. */
const waiter = DBOS.registerWorkflow(
  async (key: string) => {
    await handStep(key);
    const message = await DBOS.recv<string>('go', 60);
    return `${key}:${message}`;
  },
  { name: 'handWaiter' },
);
void waiter;

/** A PID that no process has now: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

async function statusOf(url: string, id: string) {
  return (await queryRows(url, 'SELECT status, executor_id, owner_xid, queue_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [id]))[0];
}

after(dropFreshDatabases);

describeEachBackend('handing work over between executors', (kind) => {
  after(() => DBOS.shutdown());

  it("takes over at once an executor whose process is gone from this host, though its lease has not lapsed", async () => {
    const url = freshDatabase(kind, 'gone');
    await launchOn(url, { executorID: 'survivor', executorLeaseMs: 60_000 });
    const id = `orphan-${kind}`;
    await execSql(
      url,
      `INSERT INTO dbos.workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name,
         owner_xid, serialization, recovery_attempts)
       VALUES ($1, 'PENDING', 'handWaiter', 'crashed', $2, $3, 'token-of-the-dead', $4, 1)`,
      [id, TEST_VERSION, TEST_APP, NATIVE_SERIALIZATION],
    );
    await execSql(url, 'INSERT INTO dbos.workflow_input (workflow_uuid, inputs) VALUES ($1, $2)', [id, serializeArgs([id], 'native').text]);
    await execSql(
      url,
      `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, serialization, started_at_epoch_ms, completed_at_epoch_ms)
       VALUES ($1, 0, 'handStep', $2, $3, 1, 1)`,
      [id, serializeValue(id).text, NATIVE_SERIALIZATION],
    );
    // Its heartbeat is fresh (it beat just now, then its process died): only the free PID tells it is gone.
    await execSql(
      url,
      `INSERT INTO dbos.transact_executor_heartbeats (executor_id, application_name, application_version, last_heartbeat_epoch_ms,
         started_at_epoch_ms, hostname, pid, incarnation, host_id)
       VALUES ('crashed', $1, $2, $3, $3, 'here', $4, 'its-incarnation', $5)`,
      [TEST_APP, TEST_VERSION, Date.now(), deadPid(), hostID()],
    );
    const started = Date.now();
    await waitUntil(async () => (await statusOf(url, id))?.executor_id === 'survivor', { timeoutMs: 30_000, message: 'the takeover' });
    assert.ok(Date.now() - started < 30_000, 'well within the 60 s lease');
    await DBOS.send(id, 'go', 'go');
    assert.equal(await DBOS.retrieveWorkflow(id).getResult(), `${id}:go`);
    assert.equal(stepRuns.get(id), undefined, 'the recorded step did not run again');
    const beats = await queryRows(url, 'SELECT executor_id FROM dbos.transact_executor_heartbeats ORDER BY executor_id');
    assert.deepEqual(beats.map((b) => b.executor_id), ['survivor']);
    await DBOS.shutdown();
  });

  it('gives unfinished work back to its queues at a clean shutdown, for a live executor to continue at once', async () => {
    const url = freshDatabase(kind, 'handback');
    await launchOn(url, { executorID: 'leaving', executorLeaseMs: 60_000 });
    const id = `handed-back-${kind}`;
    await DBOS.startWorkflow(waiter, { workflowID: id })(id);
    await waitUntil(async () => (await DBOS.listWorkflowSteps(id))?.some((s) => s.name === 'DBOS.sleep'), { message: 'the recv to wait' });
    await DBOS.shutdown();

    const row = await statusOf(url, id);
    assert.equal(row?.status, 'ENQUEUED', 'given back, not left PENDING under a departed executor');
    assert.equal(row?.owner_xid, null);
    assert.equal(row?.queue_name, '_dbos_internal_queue');
    assert.deepEqual(await queryRows(url, 'SELECT * FROM dbos.transact_executor_heartbeats'), [], 'gone, not dead');

    // Another executor (another ID, another process's role) continues it from its last checkpoint.
    await launchOn(url, { executorID: 'staying', executorLeaseMs: 60_000 });
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      await waitUntil(async () => (await statusOf(url, id))?.executor_id === 'staying', { message: 'the live executor to claim it' });
      await client.send(id, 'go', 'go');
      assert.equal(await client.retrieveWorkflow(id).getResult(), `${id}:go`);
    } finally {
      await client.destroy();
    }
    assert.equal(stepRuns.get(id), 1, 'the step recorded before the shutdown ran once');
    await DBOS.shutdown();
  });

  it('adds the incarnation columns to a heartbeat table made before them', async () => {
    const url = freshDatabase(kind, 'oldbeats');
    await launchOn(url, { executorID: 'first' });
    await DBOS.shutdown();
    await execSql(url, 'DROP TABLE dbos.transact_executor_heartbeats');
    await execSql(
      url,
      `CREATE TABLE dbos.transact_executor_heartbeats (executor_id text NOT NULL, application_name text NOT NULL,
         application_version text NOT NULL, last_heartbeat_epoch_ms bigint NOT NULL, started_at_epoch_ms bigint NOT NULL,
         hostname text, pid integer, PRIMARY KEY (application_name, executor_id))`,
    );
    await launchOn(url, { executorID: 'second' });
    const [row] = await queryRows(url, 'SELECT incarnation, host_id FROM dbos.transact_executor_heartbeats WHERE executor_id = $1', ['second']);
    assert.ok(row?.incarnation, 'an incarnation is recorded');
    assert.equal(row?.host_id, hostID());
    await DBOS.shutdown();
  });
});
