// Event receivers on the console and in the metrics, against real brokers: a Redis Streams receiver on a private
// redis-server and a Kafka receiver on librdkafka's mock cluster, in the process the console runs in (PostgreSQL).
// /api/receivers and /metrics say what each consumer is doing (state, lag, messages acknowledged, stored and finished);
// the Receivers panel shows it in a real browser (Debian's Chromium); a Kafka consumer that kafkajs stops for good
// shows as crashed with its cause, raises EventReceiverCrashed, and once rebuilt shows as running with its crash counted.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { DBOS, DBOSClient, startAdminServer, type AdminServer } from '../../src/index.js';
import { KafkaReceiver, type KafkaMessage } from '../../src/receivers/kafka.js';
import { RedisReceiver } from '../../src/receivers/redis.js';
import { receiverStatuses, type ReceiverStatus } from '../../src/receivers/status.js';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { ARTIFACTS, browserUnavailable, launchBrowser, type Browser } from '../support/browser.js';
import { redisUnavailable, startRedis, type PrivateServer } from '../support/brokers.js';
import { kafkaMockUnavailable, startKafkaMock, type KafkaMock } from '../support/kafka/broker.js';
import { launchOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';

const alerts: Array<{ name: string; metadata: Record<string, string>; state?: string }> = [];
DBOS.setAlertHandler(async (name, _message, metadata) => {
  // What the consumer's status said when the alert came: crashed, with the cause.
  alerts.push({ name, metadata, state: receiverStatuses().find((s) => s.group === metadata.group)?.state });
});

after(dropFreshDatabases);

const skip = process.env.CI === 'true' ? false : (browserUnavailable ?? redisUnavailable ?? kafkaMockUnavailable ?? postgresUnavailable);

const redisRuns = new Map<string, number>();
const kafkaRuns = new Map<string, number>();
const fromRedis = DBOS.registerWorkflow(
  async (_stream: string, id: string) => {
    redisRuns.set(id, (redisRuns.get(id) ?? 0) + 1);
  },
  { name: 'panelFromRedis' },
);
const fromKafka = DBOS.registerWorkflow(
  async (_topic: string, partition: number, message: KafkaMessage) => {
    const key = `${partition}@${message.offset}`;
    kafkaRuns.set(key, (kafkaRuns.get(key) ?? 0) + 1);
  },
  { name: 'panelFromKafka' },
);

describe('event receivers on the console and in the metrics [postgres]', { skip }, () => {
  let redisServer: PrivateServer;
  let redis: Redis;
  let broker: KafkaMock;
  let producer: Producer;
  let client: DBOSClient;
  let server: AdminServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    broker = await startKafkaMock();
    await broker.createTopic('panel', 2);
    producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();

    new RedisReceiver({ url: redisServer.url, blockMs: 200 }).registerConsumer(fromRedis, 'panel-stream', { group: 'g-panel-redis', batchSize: 20 });
    // A slow rebuild, so the crashed state lasts long enough to be seen in the browser before the consumer is rebuilt.
    const kafka = new KafkaReceiver({ brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } }, undefined, {
      rebuildAfterMs: 12_000,
    });
    kafka.registerConsumer(fromKafka, 'panel', {
      config: { groupId: 'g-panel-kafka', sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 },
    });
    const url = freshDatabase('postgres', 'receivers_panel');
    await launchOn(url);
    client = await DBOSClient.create({ systemDatabaseUrl: url });
    server = await startAdminServer(client, { port: 0 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await client?.destroy();
    await DBOS.shutdown({ deregister: true });
    await producer?.disconnect();
    redis?.disconnect();
    await redisServer?.stop();
    await broker?.stop();
  });

  const get = async (path: string) => {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return res;
  };
  const receivers = async () => ((await (await get('/api/receivers')).json()) as { pid: number; receivers: ReceiverStatus[] }).receivers;
  const metrics = async () => (await get('/metrics')).text();
  /** The value of one series of the scrape, found by its name and label text (in the order the labels are declared). */
  const series = (text: string, name: string, labels: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const text = (selector: string) => page.textContent(selector).then((t) => t ?? '');
  const waitText = (selector: string, pattern: RegExp, message?: string, timeoutMs = 15_000) =>
    waitUntil(async () => pattern.test(await text(selector)) && (await text(selector)), { timeoutMs, message: message ?? `${selector} ~ ${pattern}` });
  const redisRow = '#receiverRows tr[data-receiver="redis:panelFromRedis"]';
  const kafkaRow = '#receiverRows tr[data-receiver="kafka:panelFromKafka"]';

  it('needs the token, like every other API call', async () => {
    const res = await fetch(`${server.url}/api/receivers`);
    assert.equal(res.status, 401);
  });

  it('reports a running Redis consumer: messages acknowledged, stored and finished, lag 0, on the API and in /metrics', async () => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 50; i++) pipeline.xadd('panel-stream', '*', 'n', String(i));
    await pipeline.exec();
    const status = await waitUntil(
      async () => {
        const s = (await receivers()).find((r) => r.source === 'redis');
        return s && s.taken === 50 && s.stored === 50 && s.finished === 50 && s.lag['panel-stream'] === 0 && s;
      },
      { timeoutMs: 30_000, message: 'the Redis consumer to show 50 messages acknowledged, stored and finished, and no lag' },
    );
    assert.equal(status.state, 'running');
    assert.equal(status.group, 'g-panel-redis');
    assert.equal(status.crashes, 0);
    assert.equal(redisRuns.size, 50);
    assert.ok([...redisRuns.values()].every((n) => n === 1));

    const scrape = await metrics();
    const l = 'source="redis",consumer="panelFromRedis",group="g-panel-redis"';
    assert.equal(series(scrape, 'transact_receiver_state', `${l},state="running"`), 1);
    assert.equal(series(scrape, 'transact_receiver_state', `${l},state="crashed"`), 0);
    assert.equal(series(scrape, 'transact_receiver_messages_total', `${l},stage="acknowledged"`), 50);
    assert.equal(series(scrape, 'transact_receiver_messages_total', `${l},stage="stored"`), 50);
    assert.equal(series(scrape, 'transact_receiver_messages_total', `${l},stage="finished"`), 50);
    assert.equal(series(scrape, 'transact_receiver_lag', `${l},partition="panel-stream"`), 0);
    assert.equal(series(scrape, 'transact_receiver_crashes_total', l), 0);
    assert.match(scrape, /# TYPE transact_receiver_messages_total counter/);
  });

  it('shows the receivers on the Receivers panel', async () => {
    await page.goto(server.consoleUrl);
    await page.click('#nav a[data-view="receivers"]');
    await waitText(`${redisRow} td:nth-child(4)`, /^running$/);
    const cells = await page.$$eval(`${redisRow} td`, (tds) => tds.map((td) => td.textContent ?? ''));
    assert.equal(cells[0], 'redis');
    assert.equal(cells[2], 'g-panel-redis');
    assert.match(cells[6]!, /^0 panel-stream: 0/);
    assert.deepEqual(cells.slice(7), ['50', '50', '50']);
    assert.match(await text('#receiverHint'), new RegExp(`pid ${process.pid}`));
    assert.ok(await page.isHidden('#receiverAlert'), 'no alert while nothing crashed');
    await waitText(`${kafkaRow} td:nth-child(4)`, /^running$/);
    await page.screenshot({ path: join(ARTIFACTS, 'receivers.png') });
  });

  it('shows a Kafka consumer that kafkajs stopped for good as crashed, with its cause and the alert, then rebuilt', async () => {
    await broker.failNext(8, [30]); // the next OffsetCommit: GROUP_AUTHORIZATION_FAILED, which kafkajs does not retry
    await producer.send({ topic: 'panel', messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i), partition: i % 2 })) });
    await waitUntil(() => receiverStatuses().find((s) => s.source === 'kafka')?.state === 'crashed', { timeoutMs: 30_000, message: 'the Kafka consumer to crash' });

    const alert = alerts.find((a) => a.name === 'EventReceiverCrashed' && a.metadata.group === 'g-panel-kafka');
    assert.ok(alert, 'an EventReceiverCrashed alert');
    assert.equal(alert.state, 'crashed');
    assert.equal(alert.metadata.source, 'kafka');
    assert.match(alert.metadata.error!, /authorization/i);

    const crashed = (await receivers()).find((r) => r.source === 'kafka')!;
    assert.equal(crashed.state, 'crashed');
    assert.equal(crashed.crashes, 1);
    assert.match(crashed.lastCrash!.error, /authorization/i);
    const scrape = await metrics();
    const l = 'source="kafka",consumer="panelFromKafka",group="g-panel-kafka"';
    assert.equal(series(scrape, 'transact_receiver_state', `${l},state="crashed"`), 1);
    assert.equal(series(scrape, 'transact_receiver_state', `${l},state="running"`), 0);
    assert.equal(series(scrape, 'transact_receiver_crashes_total', l), 1);
    assert.ok((series(scrape, 'transact_alerts_total', 'name="EventReceiverCrashed"') ?? 0) >= 1);

    await waitText(`${kafkaRow} td:nth-child(4)`, /^crashed$/);
    await waitText('#receiverAlert', /kafka consumer panelFromKafka \(g-panel-kafka\) crashed: .*authoriz/i);
    assert.match(await text(`${kafkaRow} td:nth-child(6)`), /^1 last: .*authoriz/i);
    await page.screenshot({ path: join(ARTIFACTS, 'receivers-crashed.png') });

    // Rebuilt: it runs again, reads on, and the panel keeps the crash it had.
    await waitUntil(() => kafkaRuns.size === 10, { timeoutMs: 60_000, message: 'the 10 messages to run after the rebuild' });
    await waitText(`${kafkaRow} td:nth-child(4)`, /^running$/, 'the rebuilt consumer to show as running', 45_000);
    assert.match(await text(`${kafkaRow} td:nth-child(6)`), /^1 last: .*authoriz/i);
    assert.ok(await page.isHidden('#receiverAlert'), 'the alert banner goes once nothing is crashed');
    assert.ok([...kafkaRuns.values()].every((n) => n === 1), 'each message ran once');
    const after = (await receivers()).find((r) => r.source === 'kafka')!;
    assert.equal(after.crashes, 1);
    assert.equal(after.stored, 10);
  });
});
