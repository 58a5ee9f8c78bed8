// Event receivers: messages per second from a source into completed one-step workflows (PostgreSQL system database),
// beside a plain consumer of the same client library that does no durable work (reads, acknowledges, counts), in the
// same run, on the same broker, over the same pre-filled backlog. Exactly once is checked too: every message's
// workflow ran its step once and ended SUCCESS. Kafka on librdkafka's mock cluster; Redis and NATS on private servers.
//
//   npx tsx bench/receivers.ts [messages]      (also part of `npm run bench`)

import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { DBOS } from '../src/index.js';
import { KafkaReceiver } from '../src/receivers/kafka.js';
import { RedisReceiver } from '../src/receivers/redis.js';
import { NatsReceiver } from '../src/receivers/nats.js';
import { startKafkaMock, kafkaMockUnavailable, type KafkaMock } from '../test/support/kafka/broker.js';
import { startNats, startRedis, type PrivateServer } from '../test/support/brokers.js';
import { benchBaseUrl, dropDatabase, fmt, freshBenchDatabase } from './stats.js';

const until = async (done: () => boolean, timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 300_000)) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`benchmark timed out (${done.toString()})`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Result {
  source: string;
  plain: number;
  transact: number;
}

/** Runs the Transact side: launch with `register`, wait for `n` completions, check exactly once, shut down. */
async function durable(tag: string, n: number, register: (wf: (...args: never[]) => Promise<unknown>) => void): Promise<number> {
  const url = freshBenchDatabase(`recv_${tag}`);
  let steps = 0;
  let done = 0;
  const step = DBOS.registerStep(async () => ++steps, { name: 'receiverBenchStep' });
  const wf = DBOS.registerWorkflow(
    async () => {
      await step();
      done++;
    },
    { name: `receiverBench_${tag}` },
  );
  register(wf as never);
  DBOS.setConfig({ name: 'receiver-bench', systemDatabaseUrl: url, logLevel: 'error', applicationVersion: 'bench' });
  // The database is created and migrated first, as a deployment does once: the clock then covers launch (connect,
  // subscribe, join the group) and the intake, as the plain consumer's covers its own start.
  if (!process.env.BENCH_COUNT_MIGRATION) await DBOS.migrate(url);
  const start = Date.now();
  await DBOS.launch();
  await until(() => done >= n);
  const ms = Date.now() - start;
  await DBOS.shutdown({ deregister: true });
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM dbos.workflow_status WHERE status = 'SUCCESS' AND name = $1`, [`receiverBench_${tag}`]);
  await db.end();
  await dropDatabase(url);
  if (rows[0].n !== n || steps !== n || done !== n) throw new Error(`${tag}: exactly once broken: ${rows[0].n} stored, ${steps} steps, ${done} done of ${n}`);
  return (n / ms) * 1000;
}

/** A mock Kafka cluster whose topic `bench` (4 partitions) holds `n` messages. */
export async function filledKafka(n: number): Promise<KafkaMock> {
  const broker = await startKafkaMock();
  await broker.createTopic('bench', 4);
  const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  for (let sent = 0; sent < n; sent += 500) {
    await producer.send({ topic: 'bench', messages: Array.from({ length: Math.min(500, n - sent) }, (_, i) => ({ value: String(sent + i), partition: (sent + i) % 4 })) });
  }
  await producer.disconnect();
  return broker;
}

/** A private Redis whose stream `bench` holds `n` entries. */
export async function filledRedis(n: number): Promise<PrivateServer> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  for (let sent = 0; sent < n; sent += 500) {
    const p = redis.pipeline();
    for (let i = sent; i < Math.min(n, sent + 500); i++) p.xadd('bench', '*', 'seed', String(i));
    await p.exec();
  }
  redis.disconnect();
  return server;
}

async function kafkaBench(n: number): Promise<Result> {
  const broker = await filledKafka(n);
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const group = { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 };

  let read = 0;
  const consumer = kafka.consumer({ groupId: 'plain', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: ['bench'], fromBeginning: true });
  const start = Date.now();
  await consumer.run({ eachBatch: async ({ batch }) => void (read += batch.messages.length) });
  await until(() => read >= n);
  const plain = (n / (Date.now() - start)) * 1000;
  await consumer.disconnect();

  const transact = await durable('kafka', n, (wf) => {
    const receiver = new KafkaReceiver({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    receiver.registerConsumer(wf as never, 'bench', { config: { groupId: 'durable', ...group } });
  });
  await broker.stop();
  return { source: 'Kafka (kafkajs, mock cluster, 4 partitions)', plain, transact };
}

async function redisBench(n: number): Promise<Result> {
  const server = await filledRedis(n);
  const redis = new Redis(server.url);
  await redis.xgroup('CREATE', 'bench', 'plain', '0');
  const start = Date.now();
  let read = 0;
  while (read < n) {
    const reply = (await redis.call('XREADGROUP', 'GROUP', 'plain', 'c', 'COUNT', 100, 'BLOCK', 100, 'STREAMS', 'bench', '>')) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length > 0) await redis.xack('bench', 'plain', ...entries.map((e) => e[0]));
    read += entries.length;
  }
  const plain = (n / (Date.now() - start)) * 1000;
  redis.disconnect();
  const transact = await durable('redis', n, (wf) => {
    const receiver = new RedisReceiver({ url: server.url, blockMs: 100 });
    receiver.registerConsumer(wf as never, 'bench', { group: 'durable', batchSize: 100 });
  });
  await server.stop();
  return { source: 'Redis Streams (ioredis, batches of 100)', plain, transact };
}

async function natsBench(n: number): Promise<Result> {
  const server = await startNats();
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH', subjects: ['BENCH.>'] });
  const js = jetstream(nc);
  for (let sent = 0; sent < n; sent += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - sent) }, (_, i) => js.publish('BENCH.m', String(sent + i))));
  }
  await jsm.consumers.add('BENCH', { durable_name: 'plain', ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get('BENCH', 'plain');
  const start = Date.now();
  let read = 0;
  while (read < n) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
    for await (const m of batch) {
      m.ack();
      read++;
    }
  }
  const plain = (n / (Date.now() - start)) * 1000;
  await nc.close();
  const transact = await durable('nats', n, (wf) => {
    const receiver = new NatsReceiver({ servers: server.url });
    receiver.registerConsumer(wf as never, 'BENCH', { durable: 'durable', batchSize: 100 });
  });
  await server.stop();
  return { source: 'NATS JetStream (pull, batches of 100)', plain, transact };
}

export async function runReceiverBench(_url = benchBaseUrl, n = 5000): Promise<void> {
  console.log(`\nEvent receivers: ${n} messages into completed one-step workflows (PostgreSQL), vs a plain consumer (same run)`);
  const runs: Array<(n: number) => Promise<Result>> = [redisBench, natsBench];
  if (!kafkaMockUnavailable) runs.unshift(kafkaBench);
  for (const run of runs) {
    const r = await run(n);
    console.log(`${r.source.padEnd(46)} Transact ${fmt(r.transact, 0).padStart(6)} msg/s   plain consumer ${fmt(r.plain, 0).padStart(6)} msg/s   ratio ${fmt(r.transact / r.plain)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runReceiverBench(benchBaseUrl, Number(process.argv[2] ?? 5000));
