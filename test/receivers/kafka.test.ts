// The Kafka receiver's own rules, without a broker (kafka-broker.test.ts has one): DBOS's workflow IDs and default
// group IDs, options refused at registration, and launches that fail cleanly, leaving nothing running: a consumer
// that is not a registered workflow, and a broker that cannot be reached (kafkajs really tries to connect).
// How messages become workflows is MessageIntake's, tested in intake.test.ts.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSInitializationError, DBOSNotRegisteredError } from '../../src/index.js';
import { defaultGroupId, KafkaReceiver, kafkaWorkflowID, type KafkaMessage } from '../../src/receivers/kafka.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

after(dropFreshDatabases);
afterEach(() => DBOS.shutdown({ deregister: true }));

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

it("names workflows and default consumer groups the way DBOS does, so a switch keeps the group's offsets", () => {
  assert.equal(kafkaWorkflowID('orders', 2, 'billing', '1041'), 'kafkajs-orders-2-billing-1041');
  assert.equal(defaultGroupId('KafkaExample', 'consumerWorkflow', ['example-topic']), 'dbos-kafka-group-KafkaExample-consumerWorkflow-example-topic');
  assert.equal(defaultGroupId('', 'handle', ['a.b', /orders-.*/]), 'dbos-kafka-group--handle-ab-orders-');
  assert.equal(defaultGroupId('C', 'm', ['t'.repeat(300)]).length, 255);
});

it('refuses options that could never work, at registration', () => {
  const receiver = new KafkaReceiver({ brokers: ['127.0.0.1:9092'] });
  const fn = async (_t: string, _p: number, _m: KafkaMessage) => {};
  assert.throws(() => receiver.registerConsumer(fn, 't', { ordering: 'partition', queueName: 'mine' }), DBOSInitializationError);
  assert.throws(() => receiver.registerConsumer(fn, 't', { batchSize: 0 }), DBOSInitializationError);
  assert.throws(() => receiver.registerConsumer(fn, 't', { ordering: 'random' as never }), DBOSInitializationError);
});

it('fails the launch when a consumer is not a registered workflow (decorated or not), before connecting', async () => {
  const receiver = new KafkaReceiver({ brokers: [`127.0.0.1:${await closedPort()}`] });
  class Handlers {
    @receiver.consumer('events')
    static async notAWorkflow(_t: string, _p: number, _m: KafkaMessage) {}
  }
  void Handlers;
  await assert.rejects(launchOn(freshDatabase('sqlite', 'kafka_unregistered')), (err: Error) => {
    assert.ok(err instanceof DBOSNotRegisteredError);
    assert.match(err.message, /notAWorkflow.*registered workflow/);
    return true;
  });
  assert.equal(DBOS.isInitialized(), false);
});

it('fails the launch when the broker cannot be reached, after its retries, leaving nothing launched', async () => {
  const handle = DBOS.registerWorkflow(async (_t: string, _p: number, _m: KafkaMessage) => {}, { name: 'handleEvent' });
  const port = await closedPort();
  const receiver = new KafkaReceiver(
    { brokers: [`127.0.0.1:${port}`], retry: { retries: 0 }, connectionTimeout: 500, logLevel: 0 },
    { maxRetries: 1, retryTime: 10, multiplier: 1 },
  );
  receiver.registerConsumer(handle, 'events');
  await assert.rejects(launchOn(freshDatabase('sqlite', 'kafka_unreachable')), /ECONNREFUSED|Connection error|connect/i);
  assert.equal(DBOS.isInitialized(), false);
});

it('two consumers in one group are refused at launch', async () => {
  const first = DBOS.registerWorkflow(async (_t: string, _p: number, _m: KafkaMessage) => {}, { name: 'first' });
  const second = DBOS.registerWorkflow(async (_t: string, _p: number, _m: KafkaMessage) => {}, { name: 'second' });
  const receiver = new KafkaReceiver({ brokers: [`127.0.0.1:${await closedPort()}`] });
  receiver.registerConsumer(first, 'a', { config: { groupId: 'shared' } });
  receiver.registerConsumer(second, 'b', { config: { groupId: 'shared' } });
  await assert.rejects(launchOn(freshDatabase('sqlite', 'kafka_groups')), /consumer first and Kafka consumer second share group ID shared/);
  assert.equal(DBOS.isInitialized(), false);
});
