import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSInvalidWorkflowTransitionError,
  DBOSNonExistentWorkflowError,
  DBOSStreamNondeterminismError,
  DBOSStreamTimeoutError,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { afterLooking, RECV_LOOKS, STREAM_LOOKS, statementsDuring } from './waiting.js';

// Writes the values (and closes the stream if asked), then stays active until told to finish.
const writer = DBOS.registerWorkflow(
  async (values: unknown[], close: boolean) => {
    for (const v of values) await DBOS.writeStream('s', v);
    if (close) await DBOS.closeStream('s');
    await DBOS.recv('finish', 30);
    return 'written';
  },
  { name: 'writer' },
);

// Writes one value each time it is told to, then closes the stream.
const stepwise = DBOS.registerWorkflow(
  async (count: number) => {
    for (let i = 0; i < count; i++) {
      await DBOS.recv('next', 30);
      await DBOS.writeStream('s', i);
    }
    await DBOS.closeStream('s');
  },
  { name: 'stepwise' },
);

let writingAttempts = 0;
const flakyWriter = DBOS.registerStep(
  async () => {
    writingAttempts++;
    await DBOS.writeStream('s', 'a');
    await DBOS.writeStream('s', 'b');
    if (writingAttempts === 1) throw new Error('the first attempt fails after writing');
    await DBOS.writeStream('s', 'c');
    await DBOS.closeStream('s');
    return writingAttempts;
  },
  { name: 'flakyWriter', retriesAllowed: true, intervalSeconds: 0.01, maxAttempts: 3 },
);
const stepWriter = DBOS.registerWorkflow(async () => flakyWriter(), { name: 'stepWriter' });

// Writes concurrently, from the workflow and from a step at once: every value lands at an offset of its own.
const concurrentWriter = DBOS.registerWorkflow(
  async (n: number) => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < n; i++) writes.push(DBOS.writeStream('s', `w${i}`));
    writes.push(DBOS.runStep(async () => {
      await Promise.all(Array.from({ length: n }, (_, i) => DBOS.writeStream('s', `s${i}`)));
    }, { name: 'concurrentStep' }));
    await Promise.all(writes);
    await DBOS.closeStream('s');
  },
  { name: 'concurrentWriter' },
);

const streamReader = DBOS.registerWorkflow(
  async (workflowID: string) => {
    const got: unknown[] = [];
    for await (const v of DBOS.readStream(workflowID, 's')) got.push(v);
    return got;
  },
  { name: 'streamReader' },
);

// Reads two streams at once (refused: the second read's IDs would depend on arrival order), then one after the other.
const twoStreamReader = DBOS.registerWorkflow(
  async (first: string, second: string) => {
    const [a, b] = await Promise.allSettled([readAll(DBOS.readStream(first, 's')), readAll(DBOS.readStream(second, 's'))]);
    const refused = b.status === 'rejected' && b.reason instanceof DBOSStreamNondeterminismError ? (b.reason as Error).name : String(b.status);
    const sequential = [await readAll(DBOS.readStream(first, 's')), await DBOS.readStreamOffset(second, 's', 0)];
    return { concurrent: a.status === 'fulfilled' ? a.value : 'rejected', refused, sequential };
  },
  { name: 'twoStreamReader' },
);

async function readAll<T>(values: AsyncIterable<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const v of values) got.push(v);
  return got;
}

after(dropFreshDatabases);

describeEachBackend('streams', (kind) => {
  const url = engineOn(kind, 'stream');

  it('values are read in order, and the stream ends where it was closed', async () => {
    const id = `closed-${kind}`;
    const values = ['x', 2, { at: new Date(5) }];
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: id })(values, true));
    assert.deepEqual(await readAll(DBOS.readStream(id, 's')), values, 'ends at the close although the writer is active');
    assert.deepEqual(await readAll(DBOS.readStream(id, 's', { offset: 1 })), values.slice(1));
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      assert.deepEqual(await readAll(client.readStream(id, 's')), values);
    } finally {
      await client.destroy();
    }
    await DBOS.send(id, 'now', 'finish');
    await handle.getResult();

    assert.deepEqual(
      (await DBOS.listWorkflowSteps(id))?.map((s) => [s.functionID, s.name]),
      [
        [0, 'DBOS.writeStream'],
        [1, 'DBOS.writeStream'],
        [2, 'DBOS.writeStream'],
        [3, 'DBOS.closeStream'],
        [4, 'DBOS.recv'],
        [5, 'DBOS.sleep'],
      ],
    );
    const rows = await queryRows(
      url(),
      'SELECT "offset", function_id, value, serialization FROM dbos.streams WHERE workflow_uuid = $1 AND key = $2 ORDER BY "offset"',
      [id, 's'],
    );
    assert.deepEqual(
      rows.map((r) => [r.offset, r.function_id]),
      [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    );
    assert.deepEqual([rows[3]!.value, rows[3]!.serialization], ['"__DBOS_STREAM_CLOSED__"', 'portable_json']);
  });

  it('a stream is read while it is being written, each value as soon as it is written', async () => {
    const id = `live-${kind}`;
    await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(stepwise, { workflowID: id })(3));
    const values = DBOS.readStream<number>(id, 's', { pollingIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const { pending } = await afterLooking(STREAM_LOOKS, async () => ({ pending: values.next() }));
      const sentAt = Date.now();
      await DBOS.send(id, 'go', 'next');
      assert.deepEqual(await pending, { value: i, done: false });
      assert.ok(Date.now() - sentAt < 2000, `value ${i} arrived after ${Date.now() - sentAt} ms`);
    }
    assert.deepEqual(await values.next(), { value: undefined, done: true });
  });

  it('a stream ends when its writer is done, closed or not; a wait for a value can time out', async () => {
    const id = `unclosed-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: id })(['only'], false));
    const values = DBOS.readStream(id, 's', { timeoutSeconds: 0.2 });
    assert.deepEqual(await values.next(), { value: 'only', done: false });
    await assert.rejects(values.next(), DBOSStreamTimeoutError, 'the writer is active but writes nothing more');

    await DBOS.send(id, 'now', 'finish');
    await handle.getResult();
    assert.deepEqual(await readAll(DBOS.readStream(id, 's')), ['only']);
  });

  it("a retried step's stream writes appear once", async () => {
    writingAttempts = 0;
    const id = `retried-${kind}`;
    assert.equal(await (await DBOS.startWorkflow(stepWriter, { workflowID: id })()).getResult(), 2);
    assert.deepEqual(await readAll(DBOS.readStream(id, 's')), ['a', 'b', 'c']);
    const rows = await queryRows(url(), 'SELECT function_id FROM dbos.streams WHERE workflow_uuid = $1 ORDER BY "offset"', [id]);
    assert.deepEqual(
      rows.map((r) => r.function_id),
      [0, 0, 0, 0],
      'written by the step (function ID 0), close marker included',
    );
  });

  it('concurrent writes to one stream each get an offset of their own', async () => {
    const id = `concurrent-${kind}`;
    await (await DBOS.startWorkflow(concurrentWriter, { workflowID: id })(5)).getResult();
    const values = await readAll(DBOS.readStream<string>(id, 's'));
    assert.deepEqual([...values].sort(), ['s0', 's1', 's2', 's3', 's4', 'w0', 'w1', 'w2', 'w3', 'w4']);
    const offsets = await queryRows(url(), 'SELECT "offset" FROM dbos.streams WHERE workflow_uuid = $1 ORDER BY "offset"', [id]);
    assert.deepEqual(
      offsets.map((r) => r.offset),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  it('a stream read in a workflow is checkpointed value by value, end included', async () => {
    const source = `source-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: source })(['p', 'q'], true));
    const readerHandle = await DBOS.startWorkflow(streamReader, { workflowID: `stream-reader-${kind}` })(source);
    assert.deepEqual(await readerHandle.getResult(), ['p', 'q']);
    const steps = await DBOS.listWorkflowSteps(readerHandle.workflowID);
    assert.deepEqual(
      steps?.map((s) => [s.functionID, s.name, s.output]),
      [
        [0, 'DBOS.readStream', 'p'],
        [1, 'DBOS.readStream', 'q'],
        [2, 'DBOS.readStream', '__DBOS_STREAM_CLOSED__'],
      ],
    );
    await DBOS.send(source, 'now', 'finish');
    await handle.getResult();
  });

  it('two stream reads at once in one workflow are refused with the stream nondeterminism error; one after another is fine', async () => {
    const [first, second] = [`first-${kind}`, `second-${kind}`];
    const writers = await Promise.all(
      [first, second].map((id, i) => afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: id })([`${i}a`, `${i}b`], true))),
    );
    const result = await twoStreamReader(first, second);
    assert.deepEqual(result, { concurrent: ['0a', '0b'], refused: 'DBOSStreamNondeterminismError', sequential: [['0a', '0b'], '1a'] });
    for (const id of [first, second]) await DBOS.send(id, 'now', 'finish');
    await Promise.all(writers.map((h) => h.getResult()));
  });

  it('readStreamOffset reads one value; past the end of the stream it is a stream timeout', async () => {
    const id = `offsets-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: id })(['zero', 'one'], true));
    assert.equal(await DBOS.readStreamOffset(id, 's', 1), 'one');
    await assert.rejects(DBOS.readStreamOffset(id, 's', 2), DBOSStreamTimeoutError);
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      assert.equal(await client.readStreamOffset(id, 's', 0), 'zero');
    } finally {
      await client.destroy();
    }
    await DBOS.send(id, 'now', 'finish');
    await handle.getResult();
  });

  it('reading the stream of a missing workflow, or writing outside a workflow, is a typed error', async () => {
    await assert.rejects(readAll(DBOS.readStream('no-such-workflow', 's')), DBOSNonExistentWorkflowError);
    await assert.rejects(DBOS.writeStream('s', 1), DBOSInvalidWorkflowTransitionError);
    await assert.rejects(DBOS.closeStream('s'), DBOSInvalidWorkflowTransitionError);
  });

  if (kind === 'postgres') {
    it('a stream write from a workflow costs one statement', async () => {
      const id = `budget-${kind}`;
      const cost = await statementsDuring(async () => {
        await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(writer, { workflowID: id })([1, 2, 3], true));
      });
      assert.equal(cost.transact_write_stream, 4, 'three values and the close, one statement each');
      await DBOS.send(id, 'now', 'finish');
      await DBOS.retrieveWorkflow(id).getResult();
    });
  }
});
