// The NATS JetStream receiver against a real nats-server (a private one per describe, JetStream on disk), on both
// system databases: the kill test (support/kill-scenario.ts: two consumer processes on one durable consumer, 1,000
// messages, one SIGKILLed at 350 and restarted, its unacknowledged messages redelivered after ack_wait; the survivor
// alone for the last 100; exactly once by the ledger; nothing pending or unacknowledged), and a restart of the server
// in the middle of a stream, survived without losing or duplicating a message.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { DBOS } from '../../src/index.js';
import { NatsReceiver, natsWorkflowID, type NatsMessage } from '../../src/receivers/nats.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { natsUnavailable, startNats, type PrivateServer } from '../support/brokers.js';
import { launchOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';
import { killScenario } from './support/kill-scenario.js';

after(dropFreshDatabases);
const skip = natsUnavailable && process.env.CI !== 'true' ? natsUnavailable : undefined;

interface Nats {
  server: PrivateServer;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

async function natsFor(): Promise<Nats> {
  const server = await startNats();
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  return { server, nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

async function publish(n: Nats, stream: string, seeds: number[]): Promise<number[]> {
  const acks = await Promise.all(seeds.map((s) => n.js.publish(`${stream}.msg`, String(s))));
  return acks.map((a) => a.seq);
}

async function settled(n: Nats, stream: string, durable: string): Promise<boolean> {
  const info = await n.jsm.consumers.info(stream, durable);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describeEachBackend('NATS JetStream: two consumer processes, one SIGKILLed and restarted', (backend) => {
  let n: Nats;
  before(async () => {
    if (skip) return;
    n = await natsFor();
  });
  after(async () => {
    await n?.nc.close();
    await n?.server.stop();
  });

  it('runs 1,000 messages exactly once; a dead process\'s messages are redelivered; the survivor never stops', { skip, timeout: 240_000 }, async () => {
    const stream = `KILL${backend.toUpperCase()}`;
    const durable = 'killgroup';
    await n.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await killScenario(backend, {
      name: `nats-${stream}`,
      env: { RECEIVER_KIND: 'nats', RECEIVER_URL: n.server.url, RECEIVER_TOPIC: stream, RECEIVER_GROUP: durable },
      async produce(seeds) {
        return (await publish(n, stream, seeds)).map((seq) => natsWorkflowID(stream, durable, seq));
      },
      committedToTheEnd: () => settled(n, stream, durable),
    });
  });
});

describeEachBackend('NATS JetStream: a restart of the server', (backend) => {
  let n: Nats;
  const runs = new Map<number, number>();
  let receiver: NatsReceiver;
  before(async () => {
    if (skip) return;
    n = await natsFor();
    await n.jsm.streams.add({ name: 'EVENTS', subjects: ['EVENTS.>'] });
    const handle = DBOS.registerWorkflow(
      async (message: NatsMessage) => {
        runs.set(message.seq, (runs.get(message.seq) ?? 0) + 1);
        return message.data;
      },
      { name: 'handleNatsMessage' },
    );
    receiver = new NatsReceiver({ servers: n.server.url, reconnectMs: 100 });
    receiver.registerConsumer(handle, 'EVENTS', { durable: 'g', batchSize: 20, ackWaitMs: 5000 });
    await launchOn(freshDatabase(backend, 'nats_restart'));
  });
  after(async () => {
    await DBOS.shutdown({ deregister: true });
    await n?.nc.close();
    await n?.server.stop();
  });

  it('loses and duplicates nothing when the server stops and starts again mid-stream', { skip }, async () => {
    const first = await publish(n, 'EVENTS', Array.from({ length: 200 }, (_, i) => i));
    await waitUntil(() => first.every((s) => runs.get(s) === 1), { timeoutMs: 30_000, message: 'the first 200 to run' });
    const status = await DBOS.getWorkflowStatus(natsWorkflowID('EVENTS', 'g', first[0]!));
    assert.equal(status?.workflowName, 'handleNatsMessage');
    assert.equal(await DBOS.retrieveWorkflow(natsWorkflowID('EVENTS', 'g', first[5]!)).getResult(), '5');
    await n.server.stop();
    await waitUntil(() => receiver.status()[0]?.state === 'crashed', { timeoutMs: 15_000, message: 'the consumer to notice the server is gone' });
    await n.server.start();
    const second = await waitUntil(async () => publish(n, 'EVENTS', Array.from({ length: 200 }, (_, i) => 200 + i)).catch(() => undefined), {
      timeoutMs: 15_000,
      message: 'publishing after the restart',
    });
    await waitUntil(() => second.every((s) => runs.get(s) === 1), { timeoutMs: 30_000, message: 'the 200 published after the restart to run' });
    assert.ok([...first, ...second].every((s) => runs.get(s) === 1), 'each message ran once');
    await waitUntil(() => settled(n, 'EVENTS', 'g'), { timeoutMs: 15_000, message: 'nothing pending or unacknowledged' });
    await waitUntil(() => receiver.status()[0]?.state === 'running', { timeoutMs: 10_000, message: 'the consumer running again' });
    assert.ok(receiver.status()[0]!.crashes >= 1, 'the lost server was reported');
  });
});
