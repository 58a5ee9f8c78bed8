// The Kafka receiver against a real Kafka protocol peer (librdkafka's mock cluster, test/support/kafka/), on both
// system databases: every message runs once and the group's committed offsets end at the end of each partition;
// ordering per partition; a consumer that kafkajs stops for good (a non-retriable error) is rebuilt, logged and
// alerted, and goes on consuming; a commit refused mid-rebalance is survived without a crash; the brokers going away
// and coming back lose and duplicate nothing; a backlog of unfinished workflows pauses the consumer, which resumes
// once it drains. The process-level kill test is kafka-kill.test.ts.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { DBOS, WorkflowQueue } from '../../src/index.js';
import { KafkaReceiver, kafkaWorkflowID, type KafkaMessage } from '../../src/receivers/kafka.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { kafkaMockUnavailable, startKafkaMock, type KafkaMock } from '../support/kafka/broker.js';
import { launchOn } from '../support/launch.js';
import { OverlapTracker } from '../support/overlap.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

const alerts: Array<{ name: string; message: string; metadata: Record<string, string> }> = [];
DBOS.setAlertHandler(async (name, message, metadata) => {
  alerts.push({ name, message, metadata });
});

after(dropFreshDatabases);
new WorkflowQueue('kafka-slow');

/** Consumer settings that notice a lost member in seconds, not the default 30. */
const group = (groupId: string) => ({ groupId, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });

const mockMissing = kafkaMockUnavailable && process.env.CI !== 'true' ? kafkaMockUnavailable : undefined;

describeEachBackend('the Kafka receiver against the mock cluster', (kind) => {
  let broker: KafkaMock;
  let kafka: Kafka;
  let producer: Producer;
  let url = '';
  let receiver: KafkaReceiver;
  let slowReceiver: KafkaReceiver;
  const runs = new Map<string, number>();
  const tracker = new OverlapTracker();
  /** Ordered consumer: the offsets of each partition in the order their workflows started. */
  const startOrder = new Map<number, number[]>();
  let gate = latch();
  /** The next offset of each partition of each topic, as the producer's acknowledgements say. */
  const produced = new Map<string, number>();

  async function produce(topic: string, partitions: number, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let p = 0; p < partitions; p++) {
      const n = Math.floor(count / partitions) + (p < count % partitions ? 1 : 0);
      if (n === 0) continue;
      const messages = Array.from({ length: n }, (_, i) => ({ key: `k${p}-${i}`, value: `${topic}:${p}:${i}`, partition: p }));
      const [ack] = await producer.send({ topic, messages });
      const base = Number(ack!.baseOffset);
      for (let i = 0; i < n; i++) ids.push(`${topic}/${p}@${base + i}`);
      produced.set(`${topic}/${p}`, base + n);
    }
    return ids;
  }

  const ranOnce = (ids: string[]) => ids.every((id) => runs.get(id) === 1);

  async function committedToTheEnd(groupId: string, topic: string): Promise<boolean> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets!.partitions.every((p) => Number(p.offset) === (produced.get(`${topic}/${p.partition}`) ?? 0));
    } finally {
      await admin.disconnect();
    }
  }

  before(async () => {
    if (mockMissing) return;
    broker = await startKafkaMock();
    for (const [topic, partitions] of [['events', 3], ['ordered', 3], ['slow', 2]] as const) await broker.createTopic(topic, partitions);
    kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();

    const handle = DBOS.registerWorkflow(
      async (topic: string, partition: number, message: KafkaMessage) => {
        const key = `${topic}/${partition}@${message.offset}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        return message.value?.toString();
      },
      { name: 'handleEvent' },
    );
    const inOrder = DBOS.registerWorkflow(
      async (topic: string, partition: number, message: KafkaMessage) => {
        tracker.enter(message.offset, `${partition}`);
        startOrder.set(partition, [...(startOrder.get(partition) ?? []), Number(message.offset)]);
        await DBOS.sleepms(5);
        tracker.exit(`${partition}`);
        runs.set(`${topic}/${partition}@${message.offset}`, (runs.get(`${topic}/${partition}@${message.offset}`) ?? 0) + 1);
      },
      { name: 'handleInOrder' },
    );
    const slow = DBOS.registerWorkflow(
      async (topic: string, partition: number, message: KafkaMessage) => {
        await gate.promise;
        runs.set(`${topic}/${partition}@${message.offset}`, (runs.get(`${topic}/${partition}@${message.offset}`) ?? 0) + 1);
      },
      { name: 'handleSlowly' },
    );
    const config = { brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } };
    receiver = new KafkaReceiver(config, { maxRetries: 5, retryTime: 100, multiplier: 2 }, { rebuildAfterMs: 200 });
    receiver.registerConsumer(handle, 'events', { config: group('g-events') });
    receiver.registerConsumer(inOrder, 'ordered', { ordering: 'partition', batchSize: 7, config: group('g-ordered') });
    slowReceiver = new KafkaReceiver(config, undefined, { maxUnfinished: 30 });
    slowReceiver.registerConsumer(slow, 'slow', { queueName: 'kafka-slow', batchSize: 10, config: group('g-slow') });
    url = freshDatabase(kind, 'kafka_broker');
    await launchOn(url);
  });

  after(async () => {
    if (mockMissing) return;
    gate.release();
    await DBOS.shutdown({ deregister: true });
    await producer?.disconnect();
    await broker?.stop();
  });

  it('runs every message once, as its workflow, and commits the group to the end of each partition', { skip: mockMissing }, async () => {
    const ids = await produce('events', 3, 300);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 30_000, message: 'all 300 messages to run' });
    const [first] = ids[0]!.split('@');
    const [topic, partition] = first!.split('/');
    const row = await DBOS.getWorkflowStatus(kafkaWorkflowID(topic!, Number(partition), 'g-events', ids[0]!.split('@')[1]!));
    assert.equal(row?.workflowName, 'handleEvent');
    await waitUntil(() => committedToTheEnd('g-events', 'events'), { timeoutMs: 15_000, message: 'offsets committed to the end' });
    await waitUntil(
      () => {
        const s = receiver.status().find((c) => c.group === 'g-events');
        return s?.state === 'running' && s.taken >= 300 && Object.values(s.lag).every((l) => l === 0) && s;
      },
      { timeoutMs: 10_000, message: 'the status to say running, 300 taken, no lag' },
    );
    assert.equal([...runs.keys()].filter((k) => k.startsWith('events/')).length, 300);
  });

  it("ordering 'partition' runs one message at a time per partition, in offset order", { skip: mockMissing }, async () => {
    const ids = await produce('ordered', 3, 90);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 30_000, message: 'all 90 ordered messages to run' });
    for (const p of ['0', '1', '2']) assert.equal(tracker.max(p), 1, `partition ${p} ran one at a time`);
    for (const p of [0, 1, 2]) {
      const offsets = ids.filter((id) => id.startsWith(`ordered/${p}@`)).map((id) => Number(id.split('@')[1]));
      assert.deepEqual(startOrder.get(p), offsets, `partition ${p} started in offset order`);
    }
    await waitUntil(() => committedToTheEnd('g-ordered', 'ordered'), { timeoutMs: 15_000, message: 'ordered offsets committed to the end' });
  });

  it('rebuilds a consumer kafkajs stopped for good, logs and alerts it, and goes on consuming', { skip: mockMissing || kind !== 'sqlite' }, async () => {
    const before = receiver.status().find((c) => c.group === 'g-events')!.crashes;
    await broker.failNext(8, [30]); // the next OffsetCommit: GROUP_AUTHORIZATION_FAILED, which kafkajs does not retry
    const ids = await produce('events', 3, 30);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 40_000, message: 'the 30 messages after the crash to run' });
    const status = await waitUntil(
      () => {
        const s = receiver.status().find((c) => c.group === 'g-events');
        return s && s.crashes === before + 1 && s.state === 'running' && s;
      },
      { timeoutMs: 10_000, message: 'the status to show one crash, and running again' },
    );
    assert.match(status.lastCrash!.error, /authorization/i);
    const alert = alerts.find((a) => a.name === 'EventReceiverCrashed' && a.metadata.group === 'g-events');
    assert.ok(alert, 'an EventReceiverCrashed alert');
    assert.equal(alert.metadata.source, 'kafka');
    assert.match(alert.metadata.error!, /authorization/i);
    await waitUntil(() => committedToTheEnd('g-events', 'events'), { timeoutMs: 15_000, message: 'offsets committed to the end' });
  });

  it('survives a commit refused during a rebalance (kafkajs rejoins; no crash)', { skip: mockMissing || kind !== 'sqlite' }, async () => {
    const before = receiver.status().find((c) => c.group === 'g-events')!.crashes;
    await broker.failNext(8, [27]); // REBALANCE_IN_PROGRESS
    const ids = await produce('events', 3, 30);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 40_000, message: 'the 30 messages after the refused commit to run' });
    await waitUntil(() => committedToTheEnd('g-events', 'events'), { timeoutMs: 20_000, message: 'offsets committed to the end' });
    assert.equal(receiver.status().find((c) => c.group === 'g-events')!.crashes, before);
  });

  it('loses and duplicates nothing when the brokers go away and come back', { skip: mockMissing }, async () => {
    const first = await produce('events', 3, 60);
    await waitUntil(() => ranOnce(first), { timeoutMs: 30_000, message: 'the first 60 to run' });
    await broker.down();
    // The schedule, not a condition: the consumers find the brokers gone for 3 s (they reconnect, or crash and rebuild).
    await new Promise((r) => setTimeout(r, 3000));
    await broker.up();
    const second = await produce('events', 3, 60);
    await waitUntil(() => ranOnce(second), { timeoutMs: 60_000, message: 'the 60 produced after the brokers came back to run' });
    await waitUntil(() => committedToTheEnd('g-events', 'events'), { timeoutMs: 20_000, message: 'offsets committed to the end' });
    assert.ok(ranOnce([...first, ...second]));
    await waitUntil(() => receiver.status().every((s) => s.state === 'running'), { timeoutMs: 20_000, message: 'every consumer running again' });
  });

  it('pauses while maxUnfinished workflows are stored but not finished, and resumes once they drain', { skip: mockMissing }, async () => {
    gate = latch();
    const ids = await produce('slow', 2, 120);
    const stored = async () =>
      Number((await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE queue_name = 'kafka-slow'`))[0]!.n);
    await waitUntil(() => slowReceiver.status()[0]?.state === 'paused', { timeoutMs: 20_000, message: 'the slow consumer to pause' });
    const atPause = await stored();
    assert.ok(atPause <= 30, `at most maxUnfinished (30) stored while paused, found ${atPause}`);
    gate.release();
    await waitUntil(() => ranOnce(ids), { timeoutMs: 60_000, message: 'all 120 slow messages to run once the gate opens' });
    assert.equal(await stored(), 120);
    await waitUntil(() => slowReceiver.status()[0]?.state === 'running', { timeoutMs: 10_000, message: 'the slow consumer running again' });
    await waitUntil(() => committedToTheEnd('g-slow', 'slow'), { timeoutMs: 15_000, message: 'slow offsets committed to the end' });
  });
});
