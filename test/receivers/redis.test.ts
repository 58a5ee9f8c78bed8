// The Redis Streams receiver against a real redis-server (a private one per describe, its data kept across restarts),
// on both system databases: the kill test (support/kill-scenario.ts: two consumer processes in one group, 1,000
// entries, one SIGKILLed at 350 and restarted under a new consumer name, so its pending entries are claimed by
// XAUTOCLAIM; the survivor alone for the last 100; exactly once by the ledger; nothing left pending or unread), and a
// restart of Redis in the middle of a stream, survived without losing or duplicating an entry.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { DBOS } from '../../src/index.js';
import { RedisReceiver, redisWorkflowID } from '../../src/receivers/redis.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { redisUnavailable, startRedis, type PrivateServer } from '../support/brokers.js';
import { launchOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';
import { killScenario } from './support/kill-scenario.js';

after(dropFreshDatabases);
const skip = redisUnavailable && process.env.CI !== 'true' ? redisUnavailable : undefined;

/** Pending entries and unread ones (lag) of a group: both 0 once everything is acknowledged. */
async function backlog(redis: Redis, stream: string, group: string): Promise<{ pending: number; lag: number }> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  for (const g of groups) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    if (info.name === group) return { pending: Number(info.pending), lag: Number(info.lag) };
  }
  throw new Error(`no group ${group} on ${stream}`);
}

async function add(redis: Redis, stream: string, seeds: number[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const s of seeds) pipeline.xadd(stream, '*', 'seed', String(s));
  const replies = (await pipeline.exec())!;
  return replies.map(([err, id]) => {
    if (err) throw err;
    return String(id);
  });
}

describeEachBackend('Redis Streams: two consumer processes, one SIGKILLed and restarted', (backend) => {
  let server: PrivateServer;
  let redis: Redis;
  before(async () => {
    if (skip) return;
    server = await startRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('runs 1,000 entries exactly once; a dead consumer\'s pending entries are claimed; the survivor never stops', { skip, timeout: 240_000 }, async () => {
    const stream = `kill${backend}`;
    const group = 'killgroup';
    await killScenario(backend, {
      name: `redis-${stream}`,
      env: { RECEIVER_KIND: 'redis', RECEIVER_URL: server.url, RECEIVER_TOPIC: stream, RECEIVER_GROUP: group },
      async produce(seeds) {
        return (await add(redis, stream, seeds)).map((id) => redisWorkflowID(stream, group, id));
      },
      async committedToTheEnd() {
        const b = await backlog(redis, stream, group);
        return b.pending === 0 && b.lag === 0;
      },
    });
  });
});

describeEachBackend('Redis Streams: a restart of Redis', (backend) => {
  let server: PrivateServer;
  let redis: Redis;
  const runs = new Map<string, number>();
  let receiver: RedisReceiver;
  before(async () => {
    if (skip) return;
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 50 });
    redis.on('error', () => {});
    const handle = DBOS.registerWorkflow(
      async (stream: string, id: string, fields: Record<string, string>) => {
        runs.set(`${stream}@${id}`, (runs.get(`${stream}@${id}`) ?? 0) + 1);
        return fields.seed;
      },
      { name: 'handleEntry' },
    );
    receiver = new RedisReceiver({ url: server.url, blockMs: 200, reconnectMs: 100, claimIdleMs: 2000 });
    receiver.registerConsumer(handle, 'events', { group: 'g', batchSize: 20 });
    await launchOn(freshDatabase(backend, 'redis_restart'));
  });
  after(async () => {
    await DBOS.shutdown({ deregister: true });
    redis?.disconnect();
    await server?.stop();
  });

  it('loses and duplicates nothing when Redis stops and starts again mid-stream', { skip }, async () => {
    const first = (await add(redis, 'events', Array.from({ length: 200 }, (_, i) => i))).map((id) => `events@${id}`);
    await waitUntil(() => first.every((k) => runs.get(k) === 1), { timeoutMs: 30_000, message: 'the first 200 to run' });
    const [sample] = first;
    const status = await DBOS.getWorkflowStatus(redisWorkflowID('events', 'g', sample!.split('@')[1]!));
    assert.equal(status?.workflowName, 'handleEntry');
    await server.stop();
    await waitUntil(() => receiver.status()[0]?.state === 'crashed', { timeoutMs: 10_000, message: 'the consumer to notice Redis is gone' });
    await server.start();
    const second = (await add(redis, 'events', Array.from({ length: 200 }, (_, i) => 200 + i))).map((id) => `events@${id}`);
    await waitUntil(() => second.every((k) => runs.get(k) === 1), { timeoutMs: 30_000, message: 'the 200 added after the restart to run' });
    assert.ok([...first, ...second].every((k) => runs.get(k) === 1), 'each entry ran once');
    await waitUntil(async () => {
      const b = await backlog(redis, 'events', 'g');
      return b.pending === 0 && b.lag === 0;
    }, { timeoutMs: 10_000, message: 'nothing pending or unread' });
    const s = receiver.status()[0]!;
    assert.equal(s.state, 'running');
    assert.ok(s.crashes >= 1, 'the lost connection was reported');
  });
});
