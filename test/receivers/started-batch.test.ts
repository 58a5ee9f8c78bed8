// The intake's started batch (src/sysdb/batch-enqueue.ts): rows stored already claimed, to run at once. An attempt
// whose reply was lost committed rows that nobody runs; the retry, under the same token, must hand them back (and a
// row stored by anyone else, or under another token, must not come back: whoever stored it runs it).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { insertStartedBatch, type QueuedRow } from '../../src/sysdb/batch-enqueue.js';
import type { SqlDriver } from '../../src/sysdb/driver.js';
import { openSystemDatabase } from '../../src/sysdb/open.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';

after(dropFreshDatabases);

const who = { executorID: 'intake-test', applicationID: '', applicationName: 'started-batch' };

function rows(ids: string[]): QueuedRow[] {
  return ids.map((workflowID) => ({
    workflowID,
    name: 'wf',
    className: null,
    queueName: 'intake',
    queuePartitionKey: null,
    applicationVersion: 'v1',
    serialization: 'superjson',
    inputs: JSON.stringify({ json: [workflowID] }),
    createdAtEpochMs: null,
    creatorXid: randomUUID(),
  }));
}

describeEachBackend('the started batch of the intake', (kind) => {
  let db: SqlDriver;
  before(async () => {
    const url = freshDatabase(kind, 'started');
    const location = kind === 'postgres' ? { kind, url, schema: 'dbos' } : { kind, file: url.slice('sqlite:'.length) };
    db = await openSystemDatabase(location as Parameters<typeof openSystemDatabase>[0], { migrate: true, poolSize: 2 });
  });
  after(() => db?.close());

  it('returns what it stored, claimed, with its inputs', async () => {
    const token = randomUUID();
    const started = await insertStartedBatch(db, rows(['a1', 'a2']), who, token);
    assert.deepEqual(started.map((c) => c.row.workflowID).sort(), ['a1', 'a2']);
    for (const c of started) {
      assert.equal(c.row.status, 'PENDING');
      assert.equal(c.row.executorID, who.executorID);
      assert.equal(c.row.inputs, JSON.stringify({ json: [c.row.workflowID] }));
    }
  });

  it('hands back, to a retry under the same token, rows an attempt whose reply was lost stored', async () => {
    const token = randomUUID();
    await insertStartedBatch(db, rows(['b1', 'b2']), who, token); // committed; its reply "lost"
    const retried = await insertStartedBatch(db, rows(['b1', 'b2', 'b3']), who, token);
    assert.deepEqual(retried.map((c) => c.row.workflowID).sort(), ['b1', 'b2', 'b3']);
    assert.equal(retried.find((c) => c.row.workflowID === 'b1')?.row.inputs, JSON.stringify({ json: ['b1'] }));
  });

  it('does not hand back rows stored under another token (another chunk, another process)', async () => {
    await insertStartedBatch(db, rows(['c1']), who, randomUUID());
    const other = await insertStartedBatch(db, rows(['c1', 'c2']), who, randomUUID());
    assert.deepEqual(other.map((c) => c.row.workflowID), ['c2']);
  });
});
