// MessageIntake, the exactly-once core every receiver runs its messages through: one workflow per message under the
// message's ID, one batch insert per chunk, the source acknowledged only once a chunk's workflows are stored, a
// redelivered message finding its workflow instead of running again, ordered intake running one at a time in order,
// a message that can never be stored dropped (and only that), an error that would hit every message retried, and
// flow control pausing intake while too many workflows are stored but unfinished. The messages are built here (the
// receivers' own tests use real brokers); the workflows and database are real.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, WorkflowQueue } from '../../src/index.js';
import { systemDatabaseStats } from '../../src/process/state.js';
import { MessageIntake, type IntakeHooks, type IntakeItem, type IntakeTarget } from '../../src/receivers/intake.js';
import { KAFKA_ORDERED_QUEUE, KAFKA_QUEUE, kafkaWorkflowID, type KafkaMessage } from '../../src/receivers/kafka.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { OverlapTracker } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

new WorkflowQueue(KAFKA_QUEUE);
new WorkflowQueue(KAFKA_ORDERED_QUEUE, { partitionConcurrency: 1 });
const SLOW_QUEUE = 'intake-slow';
new WorkflowQueue(SLOW_QUEUE);

const runs = new Map<string, number>();
const tracker = new OverlapTracker();
let gate = latch();

const consume = DBOS.registerWorkflow(
  async (topic: string, partition: number, message: KafkaMessage) => {
    const key = `${topic}/${partition}@${message.offset}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return `${message.key?.toString()}=${message.value?.toString()}`;
  },
  { name: 'consumeMessage' },
);

const consumeInOrder = DBOS.registerWorkflow(
  async (_topic: string, partition: number, message: KafkaMessage) => {
    tracker.enter(message.offset, `${partition}`);
    await DBOS.sleepms(20);
    tracker.exit(`${partition}`);
  },
  { name: 'consumeInOrder' },
);

const consumeSlowly = DBOS.registerWorkflow(
  async (_topic: string, _partition: number, _message: KafkaMessage) => {
    await gate.promise;
  },
  { name: 'consumeSlowly' },
);

const other = DBOS.registerWorkflow(async () => 'someone else', { name: 'notAConsumer' });
const notRegistered = async (_t: string, _p: number, _m: KafkaMessage) => {};

function messages(count: number, from = 0): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: Buffer.from(`v${from + i}`),
    offset: String(from + i),
    timestamp: String(Date.now()),
    attributes: 0,
    headers: { trace: Buffer.from('t') },
  })) as KafkaMessage[];
}

type Item = IntakeItem & { offset: string };

function items(topic: string, partition: number, list: KafkaMessage[], ordered = false): Item[] {
  return list.map((m) => ({
    workflowID: kafkaWorkflowID(topic, partition, 'group', m.offset),
    args: [topic, partition, m],
    ...(ordered ? { partitionKey: `group:${topic}:${partition}` } : {}),
    position: `${topic}/${partition}@${m.offset}`,
    offset: m.offset,
  }));
}

function target(fn: (...args: never[]) => Promise<unknown>, queueName = KAFKA_QUEUE, batchSize = 8): IntakeTarget {
  return { fn, label: 'test consumer', queueName, batchSize };
}

function hooks(onCommit: (offset: string) => Promise<void> | void = () => {}, abandoned = () => false): IntakeHooks<Item> & { commits: string[] } {
  const commits: string[] = [];
  return {
    commits,
    async commit(chunk) {
      const offset = chunk[chunk.length - 1]!.offset;
      await onCommit(offset);
      commits.push(offset);
    },
    heartbeat: async () => {},
    abandoned,
  };
}

after(dropFreshDatabases);
afterEach(() => tracker.reset());

describeEachBackend('message intake', (kind) => {
  const url = engineOn(kind, 'intake');
  const stop = new AbortController();
  after(() => stop.abort());
  const intake = (maxUnfinished?: number) => new MessageIntake({ backoff: { retryTime: 10, multiplier: 2 }, stopped: stop.signal, maxUnfinished });
  const stored = async (topic: string) =>
    Number((await queryRows(url(), `SELECT count(*) AS n FROM dbos.workflow_status WHERE workflow_uuid LIKE $1`, [`kafkajs-${topic}-%`]))[0]!.n);

  it('makes each message one workflow, one insert per chunk, and commits a chunk only once its workflows are stored', async () => {
    const topic = `orders-${kind}`;
    // The next chunk may be stored while a commit is on its way (the two overlap), never the other way round.
    const h = hooks(async (offset) => assert.ok((await stored(topic)) >= Number(offset) + 1, `stored before committing ${offset}`));
    // KAFKA_QUEUE holds nothing back: its rows are stored claimed by this executor (and started at once).
    const inserts = () => systemDatabaseStats()!.byStatement.get(kind === 'postgres' ? 'transact_insert_started_batch' : 'BEGIN') ?? 0;
    const before = inserts();
    assert.equal(await intake().take(target(consume), items(topic, 0, messages(20)), h), 'done');
    assert.deepEqual(h.commits, ['7', '15', '19'], 'one commit per chunk of 8');
    if (kind === 'postgres') assert.equal(inserts() - before, 3, 'one statement per chunk');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => DBOS.retrieveWorkflow(kafkaWorkflowID(topic, 0, 'group', String(i))).getResult()),
    );
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => `k${i}=v${i}`), 'the message (Buffers included) reached the workflow');
    const [row] = await queryRows(url(), 'SELECT name, queue_name, status FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      kafkaWorkflowID(topic, 0, 'group', '0'),
    ]);
    assert.deepEqual([row?.name, row?.queue_name, row?.status], ['consumeMessage', KAFKA_QUEUE, 'SUCCESS']);

    // Delivered again (a crash before the commit, a rebalance, an offset reset): nothing runs twice.
    const again = hooks();
    assert.equal(await intake().take(target(consume), items(topic, 0, messages(20)), again), 'done');
    assert.deepEqual(again.commits, ['7', '15', '19']);
    assert.equal(await stored(topic), 20);
    await Promise.all(Array.from({ length: 20 }, (_, i) => DBOS.retrieveWorkflow(kafkaWorkflowID(topic, 0, 'group', String(i))).getResult()));
    assert.deepEqual([...new Set([...runs].filter(([k]) => k.startsWith(`${topic}/`)).map(([, n]) => n))], [1], 'each message ran once');
  });

  it('ordered intake runs one workflow at a time per partition, in offset order', async () => {
    const topic = `ordered-${kind}`;
    const [a, b] = [hooks(), hooks()];
    await Promise.all([
      intake().take(target(consumeInOrder, KAFKA_ORDERED_QUEUE, 4), items(topic, 0, messages(10), true), a),
      intake().take(target(consumeInOrder, KAFKA_ORDERED_QUEUE, 4), items(topic, 1, messages(10, 100), true), b),
    ]);
    assert.deepEqual(a.commits, ['3', '7', '9']);
    await waitUntil(() => tracker.starts.length === 20, { timeoutMs: 30_000, message: 'all 20 ordered workflows to start' });
    await Promise.all(
      [...Array(10).keys()].flatMap((i) => [0, 1].map((p) => DBOS.retrieveWorkflow(kafkaWorkflowID(topic, p, 'group', String(p * 100 + i))).getResult())),
    );
    assert.equal(tracker.max('0'), 1, 'partition 0 ran one at a time');
    assert.equal(tracker.max('1'), 1, 'partition 1 ran one at a time');
    const started = tracker.starts.map(Number);
    assert.deepEqual(started.filter((o) => o < 100), [...Array(10).keys()], 'partition 0 in offset order');
    assert.deepEqual(started.filter((o) => o >= 100), [...Array(10).keys()].map((i) => 100 + i), 'partition 1 in offset order');
    const [row] = await queryRows(url(), 'SELECT queue_name, queue_partition_key FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      kafkaWorkflowID(topic, 1, 'group', '100'),
    ]);
    assert.deepEqual([row?.queue_name, row?.queue_partition_key], [KAFKA_ORDERED_QUEUE, `group:${topic}:1`]);
  });

  it('leaves a message whose ID another workflow holds, and drops one that cannot be stored; takes the rest', async () => {
    const topic = `taken-${kind}`;
    await DBOS.startWorkflow(other, { workflowID: kafkaWorkflowID(topic, 0, 'group', '3') })();
    const list = items(topic, 0, messages(6));
    list[4]!.args = [topic, 0, { offset: '4', value: () => 'a function does not serialize' }];
    const h = hooks();
    assert.equal(await intake().take(target(consume), list, h), 'done');
    assert.deepEqual(h.commits, ['5']);
    const rows = await queryRows(url(), `SELECT workflow_uuid, name FROM dbos.workflow_status WHERE workflow_uuid LIKE $1 ORDER BY workflow_uuid`, [
      `kafkajs-${topic}-%`,
    ]);
    assert.deepEqual(
      rows.map((r) => `${String(r.workflow_uuid).split('-').at(-1)}:${r.name}`),
      ['0:consumeMessage', '1:consumeMessage', '2:consumeMessage', '3:notAConsumer', '5:consumeMessage'],
    );
  });

  it('retries (never drops) an error that would hit every message, and stops when the receiver stops', async () => {
    const stopping = new AbortController();
    const h = hooks();
    const taking = new MessageIntake({ backoff: { retryTime: 10, multiplier: 1 }, stopped: stopping.signal }).take(
      target(notRegistered),
      items(`unregistered-${kind}`, 0, messages(3)),
      h,
    );
    let settled = false;
    void taking.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100)); // a spacing, not a condition: it must still be retrying after it
    assert.equal(settled, false, 'still retrying');
    stopping.abort();
    assert.equal(await taking, 'stopped');
    assert.deepEqual(h.commits, [], 'nothing acknowledged');
  });

  it('stops without committing the rest when the source abandons the batch, or the receiver stops', async () => {
    const topic = `abandoned-${kind}`;
    let abandon = false;
    const h = hooks(() => {
      abandon = true;
    }, () => abandon);
    assert.equal(await intake().take(target(consume), items(topic, 0, messages(20)), h), 'stopped');
    assert.deepEqual(h.commits, ['7'], 'the first chunk only');
    assert.equal(await stored(topic), 8, 'nothing past the first chunk was enqueued');

    const stopped = new AbortController();
    stopped.abort();
    const none = hooks();
    const result = await new MessageIntake({ backoff: { retryTime: 10, multiplier: 2 }, stopped: stopped.signal }).take(
      target(consume),
      items(`${topic}-2`, 0, messages(3)),
      none,
    );
    assert.equal(result, 'stopped');
    assert.deepEqual(none.commits, []);
  });

  it('pauses while maxUnfinished workflows of the queue are stored but not finished, and drains', async () => {
    const topic = `slow-${kind}`;
    gate = latch();
    const slow = intake(10);
    const h = hooks();
    assert.equal(await slow.take(target(consumeSlowly, SLOW_QUEUE, 4), items(topic, 0, messages(30)), h), 'paused');
    assert.deepEqual(h.commits, ['3', '7'], 'two chunks of 4 fit under 10; the third does not');
    assert.equal(await stored(topic), 8);
    let drained = false;
    const draining = slow.drained(SLOW_QUEUE).then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 300)); // a spacing: the backlog is still full, so it must not have drained
    assert.equal(drained, false, 'not drained while the workflows wait');
    gate.release();
    await draining;
    // The rest, as a receiver does it: whenever intake pauses, wait for the drain and go on from what was committed.
    const rest = hooks();
    let left = items(topic, 0, messages(30)).slice(8);
    while ((await slow.take(target(consumeSlowly, SLOW_QUEUE, 4), left, rest)) === 'paused') {
      left = left.filter((i) => Number(i.offset) > Number(rest.commits.at(-1) ?? 7));
      await slow.drained(SLOW_QUEUE);
    }
    assert.equal(rest.commits.at(-1), '29');
    await waitUntil(async () => (await queryRows(url(), `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = $1 AND status = 'SUCCESS'`, [SLOW_QUEUE]))[0]!.n == 30, {
      timeoutMs: 30_000,
      message: 'all 30 slow workflows to finish',
    });
  });
});
