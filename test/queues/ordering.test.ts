// What runs when: priority with FIFO ties, deduplication (and the ID free again after completion), delayed starts,
// timeouts that start at dequeue, fan-out and fan-in from a workflow, and one busy queue not starving another.

import assert from 'node:assert/strict';
import { after, before, beforeEach, it } from 'node:test';
import {
  DBOS,
  DBOSAwaitedWorkflowCancelledError,
  DBOSQueueDuplicatedError,
  WorkflowQueue,
  type WorkflowHandle,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

const started: string[] = [];
const gates = new Map<string, ReturnType<typeof latch<void>>>();
const gateFor = (label: string) => {
  let gate = gates.get(label);
  if (!gate) gates.set(label, (gate = latch()));
  return gate;
};

const record = DBOS.registerStep(async (label: string) => started.push(label), { name: 'record' });

/** Records its start, then waits for its gate when asked to. */
const task = DBOS.registerWorkflow(
  async (label: string, wait: boolean) => {
    await record(label);
    if (wait) await gateFor(label).promise;
    return label;
  },
  { name: 'task' },
);

const sleeper = DBOS.registerWorkflow(
  async (label: string, ms: number) => {
    await record(label);
    await DBOS.sleepms(ms);
    return label;
  },
  { name: 'sleeper' },
);

const square = DBOS.registerWorkflow(async (n: number) => n * n, { name: 'square' });

const fanOut = DBOS.registerWorkflow(
  async (n: number) => {
    const handles: WorkflowHandle<number>[] = [];
    for (let i = 1; i <= n; i++) handles.push(await DBOS.startWorkflow(square, { queueName: 'fan' })(i));
    const results: number[] = [];
    for (const handle of handles) results.push(await handle.getResult());
    return results;
  },
  { name: 'fanOut' },
);

new WorkflowQueue('serial', { workerConcurrency: 1 });
new WorkflowQueue('dedup');
new WorkflowQueue('later');
new WorkflowQueue('fan', { workerConcurrency: 3 });
new WorkflowQueue('busy', { workerConcurrency: 2 });
new WorkflowQueue('quiet');

after(dropFreshDatabases);

describeEachBackend('queue order and options', (kind) => {
  let url: string;
  before(async () => {
    url = freshDatabase(kind, 'order');
    await launchOn(url);
  });
  after(() => DBOS.shutdown());
  beforeEach(() => {
    started.length = 0;
    gates.clear();
  });

  it('runs lower priorities first, and equal priorities in enqueue order', async () => {
    const blocker = await DBOS.startWorkflow(task, { queueName: 'serial' })('blocker', true);
    await waitUntil(() => started.includes('blocker'));
    const handles = [];
    for (const [label, priority] of [['p5', 5], ['p1a', 1], ['p3', 3], ['p1b', 1], ['p0', 0], ['p1c', 1]] as const) {
      handles.push(await DBOS.startWorkflow(task, { queueName: 'serial', enqueueOptions: { priority } })(label, false));
    }
    gateFor('blocker').release();
    await blocker.getResult();
    await Promise.all(handles.map((h) => h.getResult()));
    assert.deepEqual(started, ['blocker', 'p0', 'p1a', 'p1b', 'p1c', 'p3', 'p5']);
  });

  it('rejects a second active workflow with the same deduplication ID, and accepts it again once the first is done', async () => {
    const first = await DBOS.startWorkflow(task, { queueName: 'dedup', enqueueOptions: { deduplicationID: 'once' } })('d1', true);
    await assert.rejects(
      DBOS.startWorkflow(task, { queueName: 'dedup', enqueueOptions: { deduplicationID: 'once' } })('d2', false),
      DBOSQueueDuplicatedError,
    );
    const other = await DBOS.startWorkflow(task, { queueName: 'dedup', enqueueOptions: { deduplicationID: 'other' } })('d3', false);
    assert.equal(await other.getResult(), 'd3');
    gateFor('d1').release();
    assert.equal(await first.getResult(), 'd1');
    const again = await DBOS.startWorkflow(task, { queueName: 'dedup', enqueueOptions: { deduplicationID: 'once' } })('d4', false);
    assert.equal(await again.getResult(), 'd4');
    assert.deepEqual(started.sort(), ['d1', 'd3', 'd4']);
  });

  it('keeps a delayed workflow DELAYED until its delay has passed, then runs it', async () => {
    const handle = await DBOS.startWorkflow(task, { queueName: 'later', enqueueOptions: { delaySeconds: 1 } })('late', false);
    assert.equal((await handle.getStatus())?.status, 'DELAYED');
    assert.equal(await handle.getResult(), 'late');
    const [row] = await queryRows(url, 'SELECT created_at, delay_until_epoch_ms, started_at_epoch_ms FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      handle.workflowID,
    ]);
    const waited = Number(row!.started_at_epoch_ms) - Number(row!.created_at);
    assert.ok(Number(row!.started_at_epoch_ms) >= Number(row!.delay_until_epoch_ms), 'did not start before its delay ended');
    assert.ok(waited >= 1000 && waited < 2500, `started ${waited} ms after it was enqueued`);
  });

  it('starts a queued workflow timeout at dequeue, and cancels the workflow when it passes', async () => {
    const blocker = await DBOS.startWorkflow(task, { queueName: 'serial' })('hold', true);
    await waitUntil(() => started.includes('hold'));
    const enqueuedAt = Date.now();
    const timed = await DBOS.startWorkflow(sleeper, { queueName: 'serial', timeoutMS: 300 })('timed', 30_000);
    // Waiting in the queue past the timeout does not count against it.
    await waitUntil(() => Date.now() > enqueuedAt + 600, { message: '600 ms in the queue' });
    assert.equal((await timed.getStatus())?.status, 'ENQUEUED');
    gateFor('hold').release();
    await blocker.getResult();
    await assert.rejects(timed.getResult(), DBOSAwaitedWorkflowCancelledError);
    const status = await timed.getStatus();
    assert.equal(status?.status, 'CANCELLED');
    assert.ok(started.includes('timed'), 'it was dequeued and started');
    const [row] = await queryRows(url, 'SELECT created_at, workflow_deadline_epoch_ms FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      timed.workflowID,
    ]);
    const deadlineAfterEnqueue = Number(row!.workflow_deadline_epoch_ms) - Number(row!.created_at);
    // Set at enqueue it would be 300 ms after it; set at dequeue, at least 600 ms (the time in the queue) + 300.
    assert.ok(deadlineAfterEnqueue >= 800, `the deadline (${deadlineAfterEnqueue} ms after enqueue) was set at dequeue, not at enqueue`);
  });

  it('fans out to a queue from a workflow and fans the results back in', async () => {
    const handle = await DBOS.startWorkflow(fanOut, { workflowID: `fan-${kind}` })(8);
    assert.deepEqual(await handle.getResult(), [1, 4, 9, 16, 25, 36, 49, 64]);
    const steps = await DBOS.listWorkflowSteps(`fan-${kind}`);
    assert.equal(steps?.filter((s) => s.name === 'square').length, 8, 'each child start is a step of the parent');
    assert.equal(steps?.filter((s) => s.name === 'DBOS.getResult').length, 8, 'each wait is a step of the parent');
    const rows = await queryRows(url, `SELECT status, queue_name FROM dbos.workflow_status WHERE parent_workflow_id = $1`, [`fan-${kind}`]);
    assert.equal(rows.length, 8);
    assert.ok(rows.every((r) => r.status === 'SUCCESS' && r.queue_name === 'fan'));
  });

  it('does not let a busy queue starve another queue of the same process', async () => {
    const busy = [];
    for (let i = 0; i < 60; i++) busy.push(await DBOS.startWorkflow(sleeper, { queueName: 'busy' })(`busy${i}`, 25));
    const quiet = await DBOS.startWorkflow(task, { queueName: 'quiet' })('quiet', false);
    assert.equal(await quiet.getResult(), 'quiet');
    const [waiting] = await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'busy' AND status = 'ENQUEUED'`);
    assert.ok(Number(waiting!.n) > 0, 'the busy queue still had a backlog when the quiet one ran');
    await Promise.all(busy.map((h) => h.getResult()));
  });
});
