// MessageIntake, the exactly-once core of the event receivers (the Kafka receiver runs every batch through it):
// one workflow per message under the message's ID, offsets committed only once a chunk's workflows are stored, a
// redelivered message attaching instead of running again, and ordered intake running one at a time in offset order.
// The messages are built here (this machine can install no Kafka broker); the workflows and database are real.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, WorkflowQueue } from '../../src/index.js';
import { MessageIntake, type IntakeHooks, type IntakeTarget } from '../../src/receivers/intake.js';
import { KAFKA_ORDERED_QUEUE, KAFKA_QUEUE, kafkaWorkflowID, type KafkaMessage } from '../../src/receivers/kafka.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { OverlapTracker } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

new WorkflowQueue(KAFKA_QUEUE);
new WorkflowQueue(KAFKA_ORDERED_QUEUE, { partitionConcurrency: 1 });

const runs = new Map<string, number>();
const tracker = new OverlapTracker();

const consume = DBOS.registerWorkflow(
  async (topic: string, partition: number, message: KafkaMessage) => {
    const key = `${topic}/${partition}@${message.offset}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return `${message.key?.toString()}=${message.value?.toString()}`;
  },
  { name: 'consumeMessage' },
);

const consumeInOrder = DBOS.registerWorkflow(
  async (topic: string, partition: number, message: KafkaMessage) => {
    tracker.enter(message.offset, `${partition}`);
    await DBOS.sleepms(20);
    tracker.exit(`${partition}`);
  },
  { name: 'consumeInOrder' },
);

const other = DBOS.registerWorkflow(async () => 'someone else', { name: 'notAConsumer' });

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

function target(fn: (...args: never[]) => Promise<unknown>, ordering: IntakeTarget['ordering'] = 'none', batchSize = 8): IntakeTarget {
  return {
    fn,
    label: 'test consumer',
    workflowID: (topic, partition, offset) => kafkaWorkflowID(topic, partition, 'group', offset),
    queueName: ordering === 'none' ? KAFKA_QUEUE : KAFKA_ORDERED_QUEUE,
    ordering,
    orderKey: (topic, partition) => `group:${topic}:${partition}`,
    batchSize,
  };
}

function hooks(onCommit: (offset: string) => Promise<void> | void = () => {}, abandoned = () => false): IntakeHooks & { commits: string[] } {
  const commits: string[] = [];
  return {
    commits,
    async commit(offset) {
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
  const intake = () => new MessageIntake({ retryTime: 10, multiplier: 2 }, stop.signal);
  const stored = async (topic: string) =>
    Number((await queryRows(url(), `SELECT count(*) AS n FROM dbos.workflow_status WHERE workflow_uuid LIKE $1`, [`kafkajs-${topic}-%`]))[0]!.n);

  it('makes each message one workflow, and commits a chunk only once its workflows are stored', async () => {
    const topic = `orders-${kind}`;
    const h = hooks(async (offset) => assert.equal(await stored(topic), Number(offset) + 1, `stored before committing ${offset}`));
    assert.equal(await intake().take(target(consume), topic, 0, messages(20), h), true);
    assert.deepEqual(h.commits, ['7', '15', '19'], 'one commit per chunk of 8');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => DBOS.retrieveWorkflow(kafkaWorkflowID(topic, 0, 'group', String(i))).getResult()),
    );
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => `k${i}=v${i}`), 'the message (Buffers included) reached the workflow');
    const [row] = await queryRows(url(), 'SELECT name, queue_name FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      kafkaWorkflowID(topic, 0, 'group', '0'),
    ]);
    assert.deepEqual([row?.name, row?.queue_name], ['consumeMessage', KAFKA_QUEUE]);

    // Delivered again (a crash before the commit, a rebalance, an offset reset): nothing runs twice.
    const again = hooks();
    assert.equal(await intake().take(target(consume), topic, 0, messages(20), again), true);
    assert.deepEqual(again.commits, ['7', '15', '19']);
    assert.equal(await stored(topic), 20);
    await Promise.all(Array.from({ length: 20 }, (_, i) => DBOS.retrieveWorkflow(kafkaWorkflowID(topic, 0, 'group', String(i))).getResult()));
    assert.deepEqual([...new Set([...runs].filter(([k]) => k.startsWith(`${topic}/`)).map(([, n]) => n))], [1], 'each message ran once');
  });

  it('ordered intake runs one workflow at a time per partition, in offset order', async () => {
    const topic = `ordered-${kind}`;
    const [a, b] = [hooks(), hooks()];
    await Promise.all([
      intake().take(target(consumeInOrder, 'partition', 4), topic, 0, messages(10), a),
      intake().take(target(consumeInOrder, 'partition', 4), topic, 1, messages(10, 100), b),
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

  it('skips a message that can never be enqueued (its ID taken by another workflow) and takes the rest', async () => {
    const topic = `taken-${kind}`;
    await DBOS.startWorkflow(other, { workflowID: kafkaWorkflowID(topic, 0, 'group', '3') })();
    const h = hooks();
    assert.equal(await intake().take(target(consume), topic, 0, messages(6), h), true);
    assert.deepEqual(h.commits, ['5']);
    const rows = await queryRows(url(), `SELECT workflow_uuid, name FROM dbos.workflow_status WHERE workflow_uuid LIKE $1 ORDER BY workflow_uuid`, [
      `kafkajs-${topic}-%`,
    ]);
    assert.deepEqual(
      rows.map((r) => r.name),
      ['consumeMessage', 'consumeMessage', 'consumeMessage', 'notAConsumer', 'consumeMessage', 'consumeMessage'],
    );
  });

  it('stops without committing the rest when the source abandons the batch, or the receiver stops', async () => {
    const topic = `abandoned-${kind}`;
    let abandon = false;
    const h = hooks(() => {
      abandon = true;
    }, () => abandon);
    assert.equal(await intake().take(target(consume), topic, 0, messages(20), h), false);
    assert.deepEqual(h.commits, ['7'], 'the first chunk only');
    assert.equal(await stored(topic), 8, 'nothing past the first chunk was enqueued');

    const stopped = new AbortController();
    stopped.abort();
    const none = hooks();
    assert.equal(await new MessageIntake({ retryTime: 10, multiplier: 2 }, stopped.signal).take(target(consume), `${topic}-2`, 0, messages(3), none), false);
    assert.deepEqual(none.commits, []);
  });
});
