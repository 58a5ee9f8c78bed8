// Retention on both backends, with a mix of states: a collection deletes the finished workflows past its cutoff with
// everything they own (input, output, steps, events and their history, streams, messages sent to them) and touches
// nothing active (PENDING, ENQUEUED, DELAYED) nor a finished child whose parent still runs; two collectors never
// collect at once (the lease); the engine's background duty collects by itself; the global timeout cancels old active
// workflows, and a local run of one stops.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS, DBOSClient } from '../../src/index.js';
import { garbageCollect } from '../../src/management/retention.js';
import { launchedEngine } from '../../src/process/state.js';
import { releaseLease, takeLease } from '../../src/sysdb/retention.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

const step = DBOS.registerStep(async (n: number) => n * 2, { name: 'double' });

/** Owns one of everything: input, output, steps, two values of an event (history), a stream, a consumed message. */
const full = DBOS.registerWorkflow(
  async (n: number) => {
    const a = await step(n);
    await DBOS.setEvent('progress', 1);
    await DBOS.setEvent('progress', 2);
    await DBOS.writeStream('out', a);
    await DBOS.closeStream('out');
    const msg = await DBOS.recv<string>('in', 30);
    return `${a}-${msg}`;
  },
  { name: 'full' },
);
const fails = DBOS.registerWorkflow(
  async () => {
    await step(1);
    throw new Error('on purpose');
  },
  { name: 'fails' },
);
const waits = DBOS.registerWorkflow(async () => DBOS.recv<string>('never', 600), { name: 'waits' });
const child = DBOS.registerWorkflow(async (n: number) => step(n), { name: 'child' });
let parentGate = latch();
const parent = DBOS.registerWorkflow(
  async () => {
    const handle = await DBOS.startWorkflow(child)(21);
    const value = await handle.getResult();
    await parentGate.promise;
    return value;
  },
  { name: 'parent' },
);
const quick = DBOS.registerWorkflow(async (n: number) => step(n), { name: 'quick' });

const OWNED: [string, string][] = [
  ['workflow_status', 'workflow_uuid'],
  ['workflow_input', 'workflow_uuid'],
  ['workflow_output', 'workflow_uuid'],
  ['operation_outputs', 'workflow_uuid'],
  ['workflow_events', 'workflow_uuid'],
  ['workflow_events_history', 'workflow_uuid'],
  ['streams', 'workflow_uuid'],
  ['notifications', 'destination_uuid'],
];

/** How many rows each table holds for workflow `id`. */
async function owned(url: string, id: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [table, column] of OWNED) {
    const [row] = await queryRows(url, `SELECT count(*) AS n FROM dbos.${table} WHERE ${column} = $1`, [id]);
    counts[table] = Number(row!.n);
  }
  return counts;
}

async function statusOf(url: string, id: string): Promise<string | undefined> {
  const [row] = await queryRows(url, 'SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1', [id]);
  return row?.status as string | undefined;
}

/** The latest created_at/updated_at among the rows, on the database clock: a cutoff just after them. */
async function cutoffAfter(url: string, ids: string[]): Promise<number> {
  let latest = 0;
  for (const id of ids) {
    const [row] = await queryRows(url, 'SELECT created_at, updated_at FROM dbos.workflow_status WHERE workflow_uuid = $1', [id]);
    latest = Math.max(latest, Number(row!.created_at), Number(row!.updated_at));
  }
  return latest + 1;
}

after(dropFreshDatabases);

describeEachBackend('retention', (kind) => {
  let url = '';
  let client: DBOSClient;
  before(async () => {
    url = freshDatabase(kind, 'retention');
    await launchOn(url);
    client = await DBOSClient.create({ systemDatabaseUrl: url });
  });
  after(async () => {
    parentGate.release();
    await client?.destroy();
    await DBOS.shutdown();
  });

  it('deletes finished workflows past the cutoff with all they own, and nothing active', async () => {
    parentGate = latch();
    const fullH = await DBOS.startWorkflow(full, { workflowID: `full-${kind}` })(5);
    await waitUntil(async () => (await owned(url, fullH.workflowID)).streams === 2, { message: 'the stream written and closed' });
    await DBOS.send(fullH.workflowID, 'hello', 'in');
    assert.equal(await fullH.getResult(), '10-hello');
    await DBOS.send(fullH.workflowID, 'left unread', 'in'); // a message to a finished workflow is its row too
    const failsH = await DBOS.startWorkflow(fails, { workflowID: `fails-${kind}` })();
    await assert.rejects(failsH.getResult(), /on purpose/);
    const waitsH = await DBOS.startWorkflow(waits, { workflowID: `cancelled-${kind}` })();
    await waitUntil(async () => (await statusOf(url, waitsH.workflowID)) === 'PENDING');
    await DBOS.cancelWorkflow(waitsH.workflowID);
    const parentH = await DBOS.startWorkflow(parent, { workflowID: `parent-${kind}` })();
    const childID = `${parentH.workflowID}-0`;
    await waitUntil(async () => (await statusOf(url, childID)) === 'SUCCESS', { message: 'the child finished' });
    const enqueued = await client.enqueue({ queueName: 'served-by-nobody', workflowName: 'quick', workflowID: `enqueued-${kind}` }, 1);
    const delayed = await client.enqueue(
      { queueName: 'served-by-nobody', workflowName: 'quick', workflowID: `delayed-${kind}`, delaySeconds: 3600 },
      1,
    );
    const collectable = [fullH.workflowID, failsH.workflowID, waitsH.workflowID];
    const active = [parentH.workflowID, enqueued.workflowID, delayed.workflowID];
    assert.deepEqual(await Promise.all(active.map((id) => statusOf(url, id))), ['PENDING', 'ENQUEUED', 'DELAYED']);
    const before = await owned(url, fullH.workflowID);
    for (const [table] of OWNED) assert.ok(before[table]! > 0, `the full workflow owns rows of ${table}: ${JSON.stringify(before)}`);

    const cutoff = await cutoffAfter(url, [...collectable, ...active, childID]);
    // A workflow finished after the cutoff stays.
    await waitUntil(async () => {
      const [row] = await queryRows(url, kind === 'postgres' ? 'SELECT (EXTRACT(EPOCH FROM now())*1000)::bigint AS now' : "SELECT CAST(unixepoch('subsec')*1000 AS INTEGER) AS now");
      return Number(row!.now) > cutoff;
    });
    const fresh = await DBOS.startWorkflow(quick, { workflowID: `fresh-${kind}` })(3);
    await fresh.getResult();

    const dry = await client.garbageCollect({ cutoffEpochMs: cutoff, dryRun: true });
    assert.equal(dry.deleted, collectable.length, 'a dry run counts the finished ones only (the child of a running parent stays)');
    assert.equal(await statusOf(url, fullH.workflowID), 'SUCCESS', 'a dry run deletes nothing');

    const result = await client.garbageCollect({ cutoffEpochMs: cutoff, batchSize: 2 });
    assert.equal(result.deleted, collectable.length);
    assert.equal(result.batches, 2, 'batches of 2: a full one, then a short one that ends the pass');
    for (const id of collectable) {
      const left = await owned(url, id);
      assert.deepEqual(Object.values(left), OWNED.map(() => 0), `nothing of ${id} is left: ${JSON.stringify(left)}`);
    }
    assert.deepEqual(await Promise.all(active.map((id) => statusOf(url, id))), ['PENDING', 'ENQUEUED', 'DELAYED'], 'nothing active is touched');
    assert.equal(await statusOf(url, childID), 'SUCCESS', 'the finished child of a running parent stays');
    assert.equal((await owned(url, childID)).operation_outputs, 1);
    assert.equal(await statusOf(url, fresh.workflowID), 'SUCCESS', 'a workflow newer than the cutoff stays');

    // Once the parent has finished, it and its child go; the global timeout cancels the old active ones.
    parentGate.release();
    assert.equal(await parentH.getResult(), 42);
    const timedOut = await client.globalTimeout({ cutoffEpochMs: cutoff });
    assert.equal(timedOut.cancelled, 2, 'the ENQUEUED and the DELAYED workflow');
    assert.deepEqual(await Promise.all([enqueued, delayed].map((h) => statusOf(url, h.workflowID))), ['CANCELLED', 'CANCELLED']);
    const later = await cutoffAfter(url, [parentH.workflowID, enqueued.workflowID, delayed.workflowID]);
    const second = await client.garbageCollect({ cutoffEpochMs: later });
    const gone = [parentH.workflowID, childID, enqueued.workflowID, delayed.workflowID, fresh.workflowID];
    assert.equal(second.deleted, gone.length);
    for (const id of gone) assert.equal(await statusOf(url, id), undefined, `${id} is deleted`);
  });

  it('never lets two collectors collect at once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await DBOS.startWorkflow(quick, { workflowID: `many-${kind}-${i}` })(i)).workflowID);
    for (const id of ids) await DBOS.retrieveWorkflow(id).getResult();
    const cutoff = await cutoffAfter(url, ids);
    const db = launchedEngine()!.db;

    // A lease held elsewhere: nothing is done, and the holder is named.
    assert.ok(await takeLease(db, 'retention', 'someone-else', 60_000));
    const refused = await client.garbageCollect({ cutoffEpochMs: cutoff });
    assert.deepEqual(refused.skipped, { holder: 'someone-else' });
    assert.equal(refused.deleted, 0);
    await releaseLease(db, 'retention', 'someone-else');

    // While one pass runs (one row per batch, with pauses), a second one started mid-way is refused.
    const firstBatch = latch();
    let secondResult: Awaited<ReturnType<DBOSClient['garbageCollect']>> | undefined;
    let batchesAfterSecond = 0;
    const first = garbageCollect(db, {
      cutoffEpochMs: cutoff,
      batchSize: 1,
      pauseBetweenBatches: 20,
      holder: 'first',
      onBatch: () => {
        if (secondResult) batchesAfterSecond++;
        firstBatch.release();
      },
    });
    await firstBatch.promise;
    secondResult = await client.garbageCollect({ cutoffEpochMs: cutoff });
    const firstResult = await first;
    assert.deepEqual(secondResult.skipped, { holder: 'first' });
    assert.equal(firstResult.deleted, ids.length);
    assert.ok(batchesAfterSecond > 0, 'the first pass was still collecting when the second was refused');
    // Released at the end: the next collector gets it at once.
    const third = await client.garbageCollect({ cutoffEpochMs: cutoff });
    assert.equal(third.skipped, undefined);
  });
});

describeEachBackend('background retention', (kind) => {
  let url = '';
  before(async () => {
    url = freshDatabase(kind, 'bgretention');
  });
  after(() => DBOS.shutdown());

  it('collects finished workflows older than maxAgeMs by itself, and cancels those past the global timeout', async () => {
    await launchOn(url, { retention: { maxAgeMs: 1500, globalTimeoutMs: 1500, intervalMs: 200 } });
    const done = await DBOS.startWorkflow(quick, { workflowID: `bg-done-${kind}` })(1);
    await done.getResult();
    const client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: TEST_APP });
    try {
      const stuck = await client.enqueue({ queueName: 'served-by-nobody', workflowName: 'quick', workflowID: `bg-stuck-${kind}` }, 1);
      assert.equal(await statusOf(url, done.workflowID), 'SUCCESS');
      await waitUntil(async () => (await statusOf(url, stuck.workflowID)) === 'CANCELLED', { message: 'the global timeout', timeoutMs: 20_000 });
      await waitUntil(async () => (await statusOf(url, done.workflowID)) === undefined, { message: 'the background pass', timeoutMs: 20_000 });
      await waitUntil(async () => (await statusOf(url, stuck.workflowID)) === undefined, { message: 'the cancelled one, once old', timeoutMs: 20_000 });
    } finally {
      await client.destroy();
    }
  });
});
