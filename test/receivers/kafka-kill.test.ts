// Kafka, the kill test (support/kill-scenario.ts) on both system databases: two consumer processes in one group on
// a 4-partition topic of the mock cluster, ordering 'partition', 1,000 messages, one process SIGKILLed at message
// 350 and restarted, then shut down cleanly so the survivor reads the last 100 alone. Exactly once (counted in the
// ledger), offsets in order per partition, the group committed to the end of every partition, the survivor running.

import { after, before, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { kafkaMockUnavailable, startKafkaMock, type KafkaMock } from '../support/kafka/broker.js';
import { killScenario } from './support/kill-scenario.js';

after(dropFreshDatabases);

const skip = kafkaMockUnavailable && process.env.CI !== 'true' ? kafkaMockUnavailable : undefined;
const PARTITIONS = 4;

describeEachBackend('Kafka: two consumer processes, one SIGKILLed and restarted', (backend) => {
  let broker: KafkaMock;
  let producer: Producer;
  let kafka: Kafka;
  before(async () => {
    if (skip) return;
    broker = await startKafkaMock();
    kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  it('runs 1,000 messages exactly once, in order per partition; the survivor never stops consuming', { skip, timeout: 240_000 }, async () => {
    const topic = `kill${backend}`;
    const group = 'killgroup';
    await broker.createTopic(topic, PARTITIONS);
    const next = new Map<number, number>();
    await killScenario(backend, {
      name: `kafkajs-${topic}`,
      env: { RECEIVER_KIND: 'kafka', RECEIVER_URL: broker.bootstraps, RECEIVER_TOPIC: topic, RECEIVER_GROUP: group, RECEIVER_ORDERING: 'partition' },
      async produce(seeds) {
        const ids: string[] = [];
        const byPartition = new Map<number, number[]>();
        seeds.forEach((s) => byPartition.set(s % PARTITIONS, [...(byPartition.get(s % PARTITIONS) ?? []), s]));
        const order = new Map<number, string>();
        for (const [partition, list] of byPartition) {
          const [ack] = await producer.send({ topic, messages: list.map((s) => ({ value: String(s), partition })) });
          const base = Number(ack!.baseOffset);
          list.forEach((s, i) => order.set(s, `kafkajs-${topic}-${partition}-${group}-${base + i}`));
          next.set(partition, base + list.length);
        }
        for (const s of seeds) ids.push(order.get(s)!);
        return ids;
      },
      orderOf(workflowID) {
        const m = /-(\d+)-killgroup-(\d+)$/.exec(workflowID)!;
        return { key: m[1]!, position: Number(m[2]) };
      },
      async committedToTheEnd() {
        const admin = kafka.admin();
        await admin.connect();
        try {
          const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          return offsets!.partitions.every((p) => Number(p.offset) === (next.get(p.partition) ?? 0));
        } finally {
          await admin.disconnect();
        }
      },
    });
  });
});
