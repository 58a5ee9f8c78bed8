// Flow control on one process, on both backends: worker and global concurrency, the rate limit, and partitions each
// with their own limit. Overlap is measured where the work runs (a step), which lies inside the claimed interval, so
// a measured overlap above a limit is a real breach.

import assert from 'node:assert/strict';
import { after, afterEach, before, it } from 'node:test';
import { DBOS, DBOSInvalidWorkflowInputError, WorkflowQueue } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { OverlapTracker } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';

const tracker = new OverlapTracker();

const occupy = DBOS.registerStep(
  async (label: string, key: string, ms: number) => {
    tracker.enter(label, key);
    await new Promise((r) => setTimeout(r, ms));
    tracker.exit(key);
    return label;
  },
  { name: 'occupy' },
);

const job = DBOS.registerWorkflow(async (label: string, key: string, ms: number) => occupy(label, key, ms), { name: 'job' });

new WorkflowQueue('worker5', { workerConcurrency: 5 });
new WorkflowQueue('global3', { globalConcurrency: 3 });
new WorkflowQueue('rate4', { rateLimit: { limitPerPeriod: 4, periodSec: 1 } });
new WorkflowQueue('partitioned', { partitionConcurrency: 1 });
new WorkflowQueue('legacy-partitioned', { partitionQueue: true, concurrency: 2 });
new WorkflowQueue('partition-workers', { workerConcurrency: 3, partitionWorkerConcurrency: 1 });
new WorkflowQueue('partition-rate', { partitionRateLimit: { limitPerPeriod: 2, periodSec: 1 } });

/** Items for each partition key, interleaved (a0, b0, a1, b1, ...) so every partition has work waiting from the start. */
function perPartition(keys: string[], count: number, ms: number): { label: string; key: string; ms: number }[] {
  return Array.from({ length: count }, (_, i) => keys.map((key) => ({ label: `${key}${i}`, key, ms }))).flat();
}

async function runAll(queueName: string, items: { label: string; key?: string; ms: number }[]): Promise<string[]> {
  const handles = [];
  for (const item of items) {
    const enqueueOptions = item.key === undefined ? undefined : { queuePartitionKey: item.key };
    handles.push(await DBOS.startWorkflow(job, { queueName, enqueueOptions })(item.label, item.key ?? '', item.ms));
  }
  return Promise.all(handles.map((h) => h.getResult()));
}

after(dropFreshDatabases);

describeEachBackend('queue limits', (kind) => {
  let url: string;
  before(async () => {
    url = freshDatabase(kind, 'limits');
    await launchOn(url);
  });
  after(() => DBOS.shutdown());
  afterEach(() => tracker.reset());

  it('never runs more than workerConcurrency (5) at once in a process', async () => {
    const labels = Array.from({ length: 25 }, (_, i) => `w${i}`);
    assert.deepEqual(await runAll('worker5', labels.map((label) => ({ label, ms: 100 }))), labels);
    assert.equal(tracker.max(), 5);
  });

  it('never runs more than globalConcurrency (3) at once', async () => {
    const labels = Array.from({ length: 15 }, (_, i) => `g${i}`);
    assert.deepEqual(await runAll('global3', labels.map((label) => ({ label, ms: 100 }))), labels);
    assert.equal(tracker.max(), 3);
  });

  it('starts at most limitPerPeriod (4) workflows in any period (1 s), by the database clock', async () => {
    const labels = Array.from({ length: 10 }, (_, i) => `r${i}`);
    await runAll('rate4', labels.map((label) => ({ label, ms: 1 })));
    const rows = await queryRows(url, `SELECT started_at_epoch_ms FROM dbos.workflow_status WHERE queue_name = 'rate4'`);
    const starts = rows.map((r) => Number(r.started_at_epoch_ms)).sort((a, b) => a - b);
    assert.equal(starts.length, 10);
    for (const t of starts) {
      const inWindow = starts.filter((s) => s >= t && s < t + 1000).length;
      assert.ok(inWindow <= 4, `${inWindow} starts within 1 s of ${t}: ${starts.map((s) => s - starts[0]!).join(', ')}`);
    }
    assert.ok(starts[9]! - starts[0]! >= 2000, 'ten starts at four per second span at least two periods');
  });

  it('runs each partition within its own limit (partitionConcurrency 1), partitions side by side', async () => {
    const items = perPartition(['a', 'b', 'c'], 4, 100);
    await runAll('partitioned', items);
    for (const key of ['a', 'b', 'c']) assert.equal(tracker.max(key), 1, `partition ${key}`);
    assert.ok(tracker.max() >= 2, `partitions ran side by side (at most ${tracker.max()} at once)`);
  });

  it('applies the limits of a 4.x partitionQueue to each partition', async () => {
    const items = perPartition(['x', 'y'], 6, 100);
    await runAll('legacy-partitioned', items);
    for (const key of ['x', 'y']) assert.equal(tracker.max(key), 2, `partition ${key}`);
    assert.equal(tracker.max(), 4);
  });

  it('applies partitionWorkerConcurrency per partition inside the worker limit', async () => {
    const items = perPartition(['p', 'q', 'r', 's'], 3, 100);
    await runAll('partition-workers', items);
    for (const key of ['p', 'q', 'r', 's']) assert.equal(tracker.max(key), 1, `partition ${key}`);
    assert.equal(tracker.max(), 3);
  });

  it('applies a partition rate limit to each partition separately', async () => {
    const items = perPartition(['m', 'n'], 4, 1);
    await runAll('partition-rate', items);
    const rows = await queryRows(
      url,
      `SELECT queue_partition_key AS k, started_at_epoch_ms AS t FROM dbos.workflow_status WHERE queue_name = 'partition-rate'`,
    );
    const all = rows.map((r) => Number(r.t)).sort((a, b) => a - b);
    for (const key of ['m', 'n']) {
      const starts = rows.filter((r) => r.k === key).map((r) => Number(r.t)).sort((a, b) => a - b);
      for (const t of starts) {
        const inWindow = starts.filter((s) => s >= t && s < t + 1000).length;
        assert.ok(inWindow <= 2, `partition ${key}: ${inWindow} starts within 1 s of ${t}`);
      }
    }
    assert.ok(all[3]! - all[0]! < 1000, 'both partitions started their first two within the first window');
  });

  it('rejects an enqueue to a partitioned queue without a partition key, at the caller', async () => {
    await assert.rejects(DBOS.startWorkflow(job, { queueName: 'partitioned', workflowID: `nokey-${kind}` })('x', '', 1), (err: Error) => {
      assert.ok(err instanceof DBOSInvalidWorkflowInputError);
      assert.match(err.message, /partitioned.*queuePartitionKey/);
      return true;
    });
    assert.equal(await DBOS.getWorkflowStatus(`nokey-${kind}`), null, 'nothing was written');
  });
});
