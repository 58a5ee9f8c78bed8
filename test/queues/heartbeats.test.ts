// Heartbeats and the takeover of dead executors, in one process: rows written the way a crashed executor leaves
// them (its PENDING workflows and a heartbeat that stopped) are taken back to their queues by a live executor once
// the lease has passed, and run to completion without re-running recorded steps. The multi-process versions, with
// real SIGKILL and SIGSTOP, are in multiprocess.test.ts.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { NATIVE_SERIALIZATION, serializeArgs, serializeValue } from '../../src/serialization/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { launchOn, TEST_APP, TEST_VERSION } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const LEASE_MS = 1500;
/** Step runs by workflow and step index: several dead executors' workflows may be taken over in one beat. */
const calls = new Map<string, number>();

const ghostStep = DBOS.registerStep(
  async (i: number) => {
    const key = `${DBOS.workflowID}:${i}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return i * 10;
  },
  { name: 'ghostStep' },
);

const ghostWork = DBOS.registerWorkflow(
  async () => {
    let sum = 0;
    for (let i = 0; i < 3; i++) sum += await ghostStep(i);
    return sum;
  },
  { name: 'ghostWork' },
);
void ghostWork;

/** Leaves the rows an executor that died mid-workflow leaves: a PENDING workflow (step 0 recorded) and its heartbeat. */
async function deadExecutor(url: string, executorID: string, version: string, heartbeatAgeMs: number, workflowID: string) {
  await execSql(
    url,
    `INSERT INTO dbos.workflow_status (workflow_uuid, status, name, executor_id, application_version, application_name,
       owner_xid, serialization, recovery_attempts)
     VALUES ($1, 'PENDING', 'ghostWork', $2, $3, $4, 'token-of-the-dead', $5, 1)`,
    [workflowID, executorID, version, TEST_APP, NATIVE_SERIALIZATION],
  );
  await execSql(url, 'INSERT INTO dbos.workflow_input (workflow_uuid, inputs) VALUES ($1, $2)', [workflowID, serializeArgs([], 'native').text]);
  await execSql(
    url,
    `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, serialization, started_at_epoch_ms,
       completed_at_epoch_ms)
     VALUES ($1, 0, 'ghostStep', $2, $3, 1, 1)`,
    [workflowID, serializeValue(0).text, NATIVE_SERIALIZATION],
  );
  const last = Date.now() - heartbeatAgeMs;
  await execSql(
    url,
    `INSERT INTO dbos.transact_executor_heartbeats (executor_id, application_name, application_version, last_heartbeat_epoch_ms,
       started_at_epoch_ms)
     VALUES ($1, $2, $3, $4, $4)`,
    [executorID, TEST_APP, version, last],
  );
}

async function statusOf(url: string, workflowID: string): Promise<Record<string, unknown> | undefined> {
  return (await queryRows(url, 'SELECT status, executor_id FROM dbos.workflow_status WHERE workflow_uuid = $1', [workflowID]))[0];
}

async function heartbeats(url: string): Promise<string[]> {
  const rows = await queryRows(url, 'SELECT executor_id FROM dbos.transact_executor_heartbeats ORDER BY executor_id');
  return rows.map((r) => r.executor_id as string);
}

after(dropFreshDatabases);

describeEachBackend('executor heartbeats', (kind) => {
  let url: string;
  before(async () => {
    url = freshDatabase(kind, 'beat');
    await launchOn(url, { executorID: 'live', executorLeaseMs: LEASE_MS });
  });
  after(() => DBOS.shutdown());

  it('takes the PENDING workflows of an executor whose lease lapsed back to a queue, and runs them from where they were', async () => {
    calls.clear();
    await deadExecutor(url, 'dead', TEST_VERSION, 60_000, `dead-wf-${kind}`);
    await deadExecutor(url, 'old-version', 'some-other-version', 60_000, `other-version-wf-${kind}`);
    // Seen a moment from now (its clock a little ahead): still alive when the dead one is taken over, which waits
    // until this executor has itself beaten for a whole lease.
    const recentBeatAt = Date.now() + 3000; // its heartbeat is no older than this
    await deadExecutor(url, 'recently-seen', TEST_VERSION, -3000, `recent-wf-${kind}`);
    // An executor of a retired version that finished its work: its row goes; one that left work keeps its row.
    await execSql(
      url,
      `INSERT INTO dbos.transact_executor_heartbeats (executor_id, application_name, application_version, last_heartbeat_epoch_ms,
         started_at_epoch_ms)
       VALUES ('retired', $1, 'retired-version', $2, $2)`,
      [TEST_APP, Date.now() - 60_000],
    );
    const seenAt = Date.now();

    assert.equal(await DBOS.retrieveWorkflow(`dead-wf-${kind}`).getResult(), 30);
    const dead = `dead-wf-${kind}`;
    assert.deepEqual([0, 1, 2].map((i) => calls.get(`${dead}:${i}`)), [undefined, 1, 1], 'the recorded step did not run again');
    assert.deepEqual(await statusOf(url, `dead-wf-${kind}`), { status: 'SUCCESS', executor_id: 'live' });
    assert.ok(!(await heartbeats(url)).includes('dead'), "the dead executor's heartbeat is gone");
    await waitUntil(async () => !(await heartbeats(url)).includes('retired'), { message: "the retired executor's heartbeat to be pruned" });

    // An executor of another version is not ours to take over; one seen within the lease is still alive.
    assert.equal((await statusOf(url, `other-version-wf-${kind}`))?.status, 'PENDING');
    // (Checked only while its lease cannot have lapsed yet: on a loaded machine the lines above may take longer.)
    const recentStatus = (await statusOf(url, `recent-wf-${kind}`))?.status;
    if (Date.now() < recentBeatAt + LEASE_MS) assert.equal(recentStatus, 'PENDING');
    // ...until its lease passes without a heartbeat.
    assert.equal(await DBOS.retrieveWorkflow(`recent-wf-${kind}`).getResult(), 30);
    assert.ok(Date.now() - seenAt >= LEASE_MS, `taken over ${Date.now() - seenAt} ms after its last heartbeat`);
    assert.equal((await statusOf(url, `other-version-wf-${kind}`))?.status, 'PENDING');
    assert.deepEqual(await heartbeats(url), ['live', 'old-version']);
  });

  it('keeps a heartbeat while launched and removes it on a clean shutdown', async () => {
    const [row] = await queryRows(url, `SELECT * FROM dbos.transact_executor_heartbeats WHERE executor_id = 'live'`);
    assert.equal(row?.application_name, TEST_APP);
    assert.equal(row?.application_version, TEST_VERSION);
    assert.equal(Number(row?.pid), process.pid);
    const before = Number(row?.last_heartbeat_epoch_ms);
    await waitUntil(async () => {
      const [again] = await queryRows(url, `SELECT last_heartbeat_epoch_ms FROM dbos.transact_executor_heartbeats WHERE executor_id = 'live'`);
      return Number(again?.last_heartbeat_epoch_ms) > before;
    }, { message: 'the heartbeat to be refreshed' });
    await DBOS.shutdown();
    assert.ok(!(await heartbeats(url)).includes('live'));
  });

  it("adds the heartbeat table to a database made without it (DBOS's own schema), at the same version", async () => {
    await execSql(url, 'DROP TABLE dbos.transact_executor_heartbeats');
    await launchOn(url, { executorID: 'live', executorLeaseMs: LEASE_MS });
    assert.deepEqual(await heartbeats(url), ['live']);
    const versions = await queryRows(url, 'SELECT version FROM dbos.dbos_migrations');
    assert.deepEqual(versions.map((v) => Number(v.version)), [123]);
  });
});
