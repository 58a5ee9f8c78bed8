// DBOS's published Kafka receiver, `@dbos-inc/kafkajs-receive` 5.0.2, unchanged, on Transact, against the mock Kafka
// cluster, on both system databases. The application (fixtures/dbos-kafkajs-app.mjs, plain JavaScript under plain
// node) differs from its DBOS version by its import of DBOS only; the receiver package reaches Transact through
// `@dbos-inc/dbos-sdk` (the dev dependency fixtures/dbos-sdk-shim/, mapping it to Transact's build) and uses
// DBOS.registerLifecycleCallback, associateFunctionWithInfo, getAssociatedInfo and the eventreceiver API
// (registerInternalQueue, registerPollerQueue, getQueue, isPartitionedQueue, prepareEnqueuedWorkflow,
// enqueueWorkflows). Every message runs once (counted from the application's output), under DBOS's workflow IDs
// (`kafkajs-<topic>-<partition>-<group>-<offset>`), on DBOS's queues; the ordered consumer runs in offset order.
// Needs Transact's build (dist/): CI builds before testing; locally a stale build is rebuilt first.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { kafkaMockUnavailable, startKafkaMock, type KafkaMock } from '../support/kafka/broker.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';
import { DBOS } from '../../src/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const app = fileURLToPath(new URL('./fixtures/dbos-kafkajs-app.mjs', import.meta.url));
const installed = existsSync(join(repo, 'node_modules/@dbos-inc/kafkajs-receive/package.json'));
const skip =
  process.env.CI === 'true' ? undefined : (kafkaMockUnavailable ?? (installed ? undefined : '@dbos-inc/kafkajs-receive is not installed (npm ci)'));

/** The newest modification time under a folder. */
function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    t = Math.max(t, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return t;
}

let broker: KafkaMock;
let producer: Producer;

before(async () => {
  if (skip) return;
  const built = join(repo, 'dist/receivers/api.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(repo, 'src'))) {
    execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: repo, stdio: 'inherit' });
  }
  broker = await startKafkaMock();
  await broker.createTopic('dbos-orders', 3);
  await broker.createTopic('dbos-ordered', 2);
  producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
});
after(async () => {
  await producer?.disconnect();
  await broker?.stop();
  await dropFreshDatabases();
});

async function produce(topic: string, partitions: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const n = Math.ceil(count / partitions);
    const [ack] = await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ value: `${p}:${i}`, partition: p })) });
    for (let i = 0; i < n; i++) ids.push(`${topic}/${p}@${Number(ack!.baseOffset) + i}`);
  }
  return ids;
}

describeEachBackend("DBOS's @dbos-inc/kafkajs-receive, unchanged, on Transact", (kind) => {
  let url = '';
  let child: ChildProcess;
  const lines: string[] = [];
  let stderr = '';
  const ranOnce = (ids: string[]) => ids.every((id) => lines.filter((l) => l === `ran ${id}`).length === 1);

  before(async () => {
    if (skip) return;
    url = freshDatabase(kind, 'dbos_kafkajs');
    await DBOS.migrate(url);
    child = spawn(process.execPath, [app], { cwd: repo, env: { ...process.env, KAFKA_BROKERS: broker.bootstraps, SYSTEM_DB: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitUntil(() => lines.includes('ready') || child.exitCode !== null, { timeoutMs: 30_000, message: 'the application to launch' });
    assert.ok(lines.includes('ready'), `the application exited: ${stderr}`);
  });
  after(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });

  it("runs every message once, under DBOS's workflow IDs, on its queue", { skip }, async () => {
    const ids = await produce('dbos-orders', 3, 150);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 30_000, message: `all 150 messages to run once (${stderr.slice(-500)})` });
    const [topicPartition, offset] = ids[0]!.split('@');
    const partition = topicPartition!.split('/')[1];
    const [row] = await queryRows(url, 'SELECT name, queue_name, status FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      `kafkajs-dbos-orders-${partition}-dbos-app-orders-${offset}`,
    ]);
    assert.deepEqual([row?.name, row?.queue_name, row?.status], ['handleOrder', '_dbos_kafkajs_queue', 'SUCCESS']);
    const [{ n }] = (await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE name = 'handleOrder'`)) as [{ n: unknown }];
    assert.equal(Number(n), 150);
  });

  it("runs an ordering 'partition' consumer one at a time per partition, in offset order", { skip }, async () => {
    const ids = await produce('dbos-ordered', 2, 60);
    await waitUntil(() => ranOnce(ids), { timeoutMs: 30_000, message: 'all 60 ordered messages to run once' });
    for (const p of [0, 1]) {
      const offsets = ids.filter((id) => id.startsWith(`dbos-ordered/${p}@`)).map((id) => Number(id.split('@')[1]));
      const started = lines.filter((l) => l.startsWith(`start ${p} `)).map((l) => Number(l.split(' ')[2]));
      assert.deepEqual(started, offsets, `partition ${p} in offset order`);
    }
    const rows = await queryRows(url, `SELECT DISTINCT queue_name, queue_partition_key FROM dbos.workflow_status WHERE name = 'handleInOrder' ORDER BY 2`);
    assert.deepEqual(
      rows.map((r) => `${r.queue_name} ${r.queue_partition_key}`),
      ['_dbos_kafkajs_ordered_queue dbos-app-ordered:dbos-ordered:0', '_dbos_kafkajs_ordered_queue dbos-app-ordered:dbos-ordered:1'],
    );
  });
});
