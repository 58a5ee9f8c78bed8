// Delete, rewind, reprioritize, delay and application versions, from the application (also inside a workflow) and
// from a DBOSClient, checked against the rows they leave behind.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSError,
  DBOSInvalidQueuePriorityError,
  DBOSInvalidWorkflowTransitionError,
  DBOSNonExistentWorkflowError,
  WorkflowQueue,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { execSql } from '../support/exec.js';
import { engineOn, TEST_APP, TEST_VERSION } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

// ------------------------------------------------------------------------------------------------ workflows

const counts = new Map<string, number>();
/** A side effect we can count: how many times each labelled step really ran. */
const count = DBOS.registerStep(
  async (label: string) => {
    const n = (counts.get(label) ?? 0) + 1;
    counts.set(label, n);
    return `${label}#${n}`;
  },
  { name: 'count' },
);

const leaf = DBOS.registerWorkflow(
  async (n: number) => {
    await DBOS.setEvent('leaf', n);
    return n;
  },
  { name: 'leaf' },
);
const middle = DBOS.registerWorkflow(async (n: number) => leaf(n + 1), { name: 'middle' });
/** Leaves rows in every table: steps, an event, a stream, a consumed message, and a child with a grandchild. */
const root = DBOS.registerWorkflow(
  async (tag: string) => {
    await count(tag);
    await DBOS.setEvent('root', tag);
    await DBOS.writeStream('out', tag);
    const message = await DBOS.recv<string>('inbox', 30);
    return [message, await middle(1)];
  },
  { name: 'root' },
);

let rewindGate = latch();
/** Steps 0 count a, 1 setEvent, 2 count b, (gate), 3 setEvent, 4 writeStream, 5 closeStream. */
const progress = DBOS.registerWorkflow(
  async (tag: string) => {
    const a = await count(`${tag}-a`);
    await DBOS.setEvent('progress', 1);
    const b = await count(`${tag}-b`);
    await rewindGate.promise;
    await DBOS.setEvent('progress', 2);
    await DBOS.writeStream('s', b);
    await DBOS.closeStream('s');
    return [a, b];
  },
  { name: 'progress' },
);

const started: string[] = [];
let blockGate = latch();
const queued = DBOS.registerWorkflow(
  async (label: string, wait: boolean) => {
    started.push(label);
    if (wait) await blockGate.promise;
    return label;
  },
  { name: 'queued' },
);

/** Management calls from inside a workflow, each a checkpointed step. */
const operator = DBOS.registerWorkflow(
  async (target: string) => {
    await DBOS.deleteWorkflow(target, true);
    return (await DBOS.getLatestApplicationVersion())?.versionName ?? null;
  },
  { name: 'operator' },
);

new WorkflowQueue('admin-serial', { workerConcurrency: 1 });
new WorkflowQueue('admin-later');
new WorkflowQueue('admin-versions');

// ------------------------------------------------------------------------------------------------ helpers

const TABLES: [table: string, idColumn: string][] = [
  ['workflow_status', 'workflow_uuid'],
  ['workflow_input', 'workflow_uuid'],
  ['workflow_output', 'workflow_uuid'],
  ['operation_outputs', 'workflow_uuid'],
  ['notifications', 'destination_uuid'],
  ['workflow_events', 'workflow_uuid'],
  ['workflow_events_history', 'workflow_uuid'],
  ['streams', 'workflow_uuid'],
];

/** How many rows each table holds for the workflow, e.g. { workflow_status: 1, streams: 1, ... }. */
async function rowCounts(url: string, workflowID: string): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [table, column] of TABLES) {
    const [row] = await queryRows(url, `SELECT count(*) AS n FROM dbos.${table} WHERE ${column} = $1`, [workflowID]);
    result[table] = Number(row!.n);
  }
  return result;
}

async function childOf(url: string, parentID: string): Promise<string> {
  const rows = await queryRows(url, 'SELECT workflow_uuid FROM dbos.workflow_status WHERE parent_workflow_id = $1', [parentID]);
  assert.equal(rows.length, 1, `${parentID} has one child`);
  return String(rows[0]!.workflow_uuid);
}

async function column(url: string, workflowID: string, name: string): Promise<unknown> {
  const [row] = await queryRows(url, `SELECT ${name} AS v FROM dbos.workflow_status WHERE workflow_uuid = $1`, [workflowID]);
  return row?.v;
}

after(dropFreshDatabases);

describeEachBackend('admin operations', (kind) => {
  const databaseUrl = engineOn(kind, 'admin');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(), applicationName: TEST_APP, pollingIntervalMs: 50 });
  });
  after(() => client.destroy());
  beforeEach(() => {
    counts.clear();
    started.length = 0;
    blockGate = latch();
  });

  async function runRoot(id: string): Promise<{ middleID: string; leafID: string }> {
    const handle = await DBOS.startWorkflow(root, { workflowID: id })(id);
    await DBOS.send(id, 'hello', 'inbox');
    await DBOS.send(id, 'never read', 'elsewhere');
    assert.deepEqual(await handle.getResult(), ['hello', 2]);
    const middleID = await childOf(databaseUrl(), id);
    return { middleID, leafID: await childOf(databaseUrl(), middleID) };
  }

  it('deletes a workflow from every table, with its descendants only when asked', async () => {
    const url = databaseUrl();
    const kept = await runRoot(`del-alone-${kind}`);
    const before = await rowCounts(url, `del-alone-${kind}`);
    for (const [table] of TABLES) assert.ok(before[table]! > 0, `the workflow has rows in ${table} before the delete`);

    await DBOS.deleteWorkflow(`del-alone-${kind}`);
    assert.deepEqual(Object.values(await rowCounts(url, `del-alone-${kind}`)), TABLES.map(() => 0));
    assert.equal(await column(url, kept.middleID, 'status'), 'SUCCESS', 'the child stays without deleteChildren');
    assert.equal(await column(url, kept.leafID, 'status'), 'SUCCESS', 'the grandchild stays too');

    const family = await runRoot(`del-tree-${kind}`);
    assert.ok((await rowCounts(url, family.leafID)).workflow_events! > 0);
    await client.deleteWorkflows([`del-tree-${kind}`, 'no-such-workflow'], true);
    for (const id of [`del-tree-${kind}`, family.middleID, family.leafID]) {
      assert.deepEqual(Object.values(await rowCounts(url, id)), TABLES.map(() => 0), `${id} is gone from every table`);
    }
    assert.equal(await DBOS.getWorkflowStatus(`del-tree-${kind}`), null);
  });

  it('deletes from inside a workflow as a checkpointed step', async () => {
    const url = databaseUrl();
    const tree = await runRoot(`del-op-target-${kind}`);
    const handle = await DBOS.startWorkflow(operator, { workflowID: `del-op-${kind}` })(tree.middleID);
    assert.equal(await handle.getResult(), TEST_VERSION);
    const steps = await DBOS.listWorkflowSteps(`del-op-${kind}`);
    assert.deepEqual(
      steps?.map((s) => [s.functionID, s.name]),
      [
        [0, 'DBOS.deleteWorkflow'],
        [1, 'DBOS.getLatestApplicationVersion'],
      ],
    );
    assert.equal(await column(url, tree.middleID, 'status'), undefined);
    assert.equal(await column(url, tree.leafID, 'status'), undefined, 'deleteChildren reached the grandchild');
    assert.equal(await column(url, `del-op-target-${kind}`, 'status'), 'SUCCESS', 'the parent of the target stays');
  });

  it('rewinds a finished workflow under the same ID from startStep, keeping the earlier steps', async () => {
    const url = databaseUrl();
    const id = `rewind-${kind}`;
    rewindGate = latch();
    rewindGate.release();
    const first = await DBOS.startWorkflow(progress, { workflowID: id })('r');
    assert.deepEqual(await first.getResult(), ['r-a#1', 'r-b#1']);
    const [step0] = await queryRows(url, 'SELECT completed_at_epoch_ms FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id = 0', [id]);
    await DBOS.send(id, 'arrived after the end', 'inbox');

    rewindGate = latch(); // the re-run waits after step 2 so the rewound state can be inspected
    const handle = await DBOS.rewindWorkflow<string[]>(id, { startStep: 2 });
    assert.equal(handle.workflowID, id);
    await waitUntil(async () => {
      const rows = await queryRows(url, 'SELECT function_id FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id = 2', [id]);
      return rows.length === 1;
    }, { message: 'the re-run to record step 2' });
    assert.equal(counts.get('r-b'), 2, 'step 2 ran again');
    const fids = await queryRows(url, 'SELECT function_id FROM dbos.operation_outputs WHERE workflow_uuid = $1 ORDER BY function_id', [id]);
    assert.deepEqual(fids.map((r) => Number(r.function_id)), [0, 1, 2], 'steps 3-5 were forgotten');
    const [kept] = await queryRows(url, 'SELECT completed_at_epoch_ms FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_id = 0', [id]);
    assert.equal(Number(kept!.completed_at_epoch_ms), Number(step0!.completed_at_epoch_ms), 'step 0 kept its record');
    assert.equal(await column(url, id, 'status'), 'PENDING');
    assert.equal(await DBOS.getEvent<number>(id, 'progress', 1), 1, 'the event is back to its value before the cut');
    const history = await queryRows(url, 'SELECT function_id FROM dbos.workflow_events_history WHERE workflow_uuid = $1', [id]);
    assert.deepEqual(history.map((r) => Number(r.function_id)), [1]);
    assert.equal((await rowCounts(url, id)).workflow_output, 0, 'the outcome was deleted');
    assert.equal((await rowCounts(url, id)).notifications, 0, 'the unconsumed message was deleted');
    const ends = await queryRows(url, `SELECT count(*) AS n FROM dbos.streams WHERE workflow_uuid = $1 AND value LIKE '%STREAM_CLOSED%'`, [id]);
    assert.equal(Number(ends[0]!.n), 0, 'the stream is open again');

    rewindGate.release();
    assert.deepEqual(await handle.getResult(), ['r-a#1', 'r-b#2']);
    assert.equal(counts.get('r-a'), 1, 'step 0 did not run again');
    assert.equal(await DBOS.getEvent<number>(id, 'progress', 1), 2);
    assert.equal(await column(url, id, 'status'), 'SUCCESS');

    // From a client, from the start: everything runs again, and the ID comes back.
    assert.equal(await client.rewindWorkflow(id), id);
    assert.deepEqual(await client.retrieveWorkflow(id).getResult(), ['r-a#2', 'r-b#3']);
  });

  it('refuses to rewind a workflow that has not finished, or does not exist', async () => {
    rewindGate = latch();
    const handle = await DBOS.startWorkflow(progress, { workflowID: `rewind-busy-${kind}` })('busy');
    await waitUntil(() => counts.get('busy-b') === 1, { message: 'the workflow to wait at its gate' });
    await assert.rejects(DBOS.rewindWorkflow(handle.workflowID), (err: Error) => {
      assert.ok(err instanceof DBOSInvalidWorkflowTransitionError);
      assert.match(err.message, /PENDING/);
      return true;
    });
    await assert.rejects(client.rewindWorkflow('no-such-workflow'), DBOSNonExistentWorkflowError);
    await assert.rejects(DBOS.rewindWorkflow(handle.workflowID, { startStep: -1 }), RangeError);
    rewindGate.release();
    assert.deepEqual(await handle.getResult(), ['busy-a#1', 'busy-b#1'], 'the refused rewind changed nothing');
  });

  it('reorders a queue by changing a waiting workflow priority', async () => {
    const url = databaseUrl();
    const blocker = await DBOS.startWorkflow(queued, { queueName: 'admin-serial' })('blocker', true);
    await waitUntil(() => started.includes('blocker'));
    const handles = [];
    for (const label of ['a', 'b', 'c']) {
      handles.push(await DBOS.startWorkflow(queued, { queueName: 'admin-serial', enqueueOptions: { priority: 5 } })(label, false));
    }
    await client.setWorkflowPriority(handles[2]!.workflowID, 1);
    assert.equal(Number(await column(url, handles[2]!.workflowID, 'priority')), 1);
    blockGate.release();
    await Promise.all([blocker, ...handles].map((h) => h.getResult()));
    assert.deepEqual(started, ['blocker', 'c', 'a', 'b']);

    await assert.rejects(DBOS.setWorkflowPriority(blocker.workflowID, 0), (err: Error) => {
      assert.ok(err instanceof DBOSInvalidWorkflowTransitionError);
      assert.match(err.message, /SUCCESS/);
      return true;
    });
    await assert.rejects(DBOS.setWorkflowPriority(blocker.workflowID, -1), DBOSInvalidQueuePriorityError);
    await assert.rejects(client.setWorkflowPriority(blocker.workflowID, 1.5), DBOSInvalidQueuePriorityError);
    await assert.rejects(DBOS.setWorkflowPriority('no-such-workflow', 1), DBOSNonExistentWorkflowError);
  });

  it('moves the start of a delayed workflow later and earlier', async () => {
    const url = databaseUrl();
    const handle = await DBOS.startWorkflow(queued, { queueName: 'admin-later', enqueueOptions: { delaySeconds: 3600 } })('late', false);
    const id = handle.workflowID;
    assert.equal(await column(url, id, 'status'), 'DELAYED');

    const later = Date.now() + 7_200_000;
    await client.setWorkflowDelay(id, { delayUntilEpochMS: later });
    assert.equal(Number(await column(url, id, 'delay_until_epoch_ms')), later);
    await DBOS.setWorkflowPriority(id, 7); // allowed while DELAYED
    assert.equal(Number(await column(url, id, 'priority')), 7);

    const before = Date.now();
    await DBOS.setWorkflowDelay(id, 0.3);
    const after = Date.now();
    const due = Number(await column(url, id, 'delay_until_epoch_ms'));
    assert.ok(due >= before + 300 - 200 && due <= after + 300 + 200, `due ${due - before} ms after the call`);
    assert.equal(await handle.getResult(), 'late');
    assert.ok(Number(await column(url, id, 'started_at_epoch_ms')) >= due, 'it did not start before its new time');

    await assert.rejects(DBOS.setWorkflowDelay(id, 1), (err: Error) => {
      assert.ok(err instanceof DBOSInvalidWorkflowTransitionError);
      assert.match(err.message, /SUCCESS/);
      return true;
    });
    await assert.rejects(client.setWorkflowDelay('no-such-workflow', { delaySeconds: 1 }), DBOSNonExistentWorkflowError);
    await assert.rejects(client.setWorkflowDelay(id, {}), TypeError);
  });

  it('lists application versions, and makes one the latest', async () => {
    const url = databaseUrl();
    const insert = 'INSERT INTO dbos.application_versions (version_id, version_name, version_timestamp, created_at, application_name) VALUES ($1, $2, $3, $3, $4)';
    await execSql(url, insert, [randomUUID(), 'admin-old', Date.now() - 60_000, TEST_APP]);
    await execSql(url, insert, [randomUUID(), 'admin-other', Date.now() - 30_000, 'other-app']);

    const names = (versions: { versionName: string }[]) => versions.map((v) => v.versionName);
    assert.deepEqual(names(await DBOS.listApplicationVersions()), [TEST_VERSION, 'admin-old']);
    assert.deepEqual(names(await client.listApplicationVersions()), [TEST_VERSION, 'admin-old']);
    const everyone = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      assert.deepEqual(names(await everyone.listApplicationVersions()), [TEST_VERSION, 'admin-other', 'admin-old']);
    } finally {
      await everyone.destroy();
    }
    const latest = await DBOS.getLatestApplicationVersion();
    assert.equal(latest?.versionName, TEST_VERSION);
    assert.equal(typeof latest?.versionTimestamp, 'number');
    assert.equal(typeof latest?.createdAt, 'number');

    const promotedAfter = Date.now() - 1000;
    await DBOS.setLatestApplicationVersion('admin-old');
    const promoted = await client.getLatestApplicationVersion();
    assert.equal(promoted?.versionName, 'admin-old');
    assert.ok(promoted!.versionTimestamp >= promotedAfter, 'its timestamp is now');
    assert.deepEqual(names(await DBOS.listApplicationVersions()), ['admin-old', TEST_VERSION]);

    // No longer the latest, this process leaves workflows enqueued without a version alone ...
    const unversioned = await client.enqueue({ queueName: 'admin-versions', workflowName: 'queued' }, 'unversioned', false);
    const versioned = await DBOS.startWorkflow(queued, { queueName: 'admin-versions' })('versioned', false);
    assert.equal(await versioned.getResult(), 'versioned');
    assert.equal(await column(url, unversioned.workflowID, 'status'), 'ENQUEUED', 'the older, unversioned one was passed over');

    // ... until it is the latest again, here made so by another process (a client): this one notices within seconds.
    await client.setLatestApplicationVersion(TEST_VERSION);
    assert.equal((await DBOS.getLatestApplicationVersion())?.versionName, TEST_VERSION);
    assert.equal(await unversioned.getResult(), 'unversioned');

    await assert.rejects(client.setLatestApplicationVersion('no-such-version'), (err: Error) => {
      assert.ok(err instanceof DBOSError);
      assert.match(err.message, /no-such-version does not exist/);
      return true;
    });
    const other = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: 'other-app' });
    try {
      await assert.rejects(other.setLatestApplicationVersion('admin-old'), /does not exist/, "another application's version is out of reach");
    } finally {
      await other.destroy();
    }
  });
});
