// Where a receiver's time goes: one source (Redis Streams, or Kafka on the mock cluster) into completed one-step
// workflows on PostgreSQL, reporting launch time apart from intake, statements per message by name, group-commit
// batch sizes, claims, and how completions follow intake over time.
//
//   npx tsx bench/receivers-profile.ts [redis|kafka] [messages]

import { logLevel } from 'kafkajs';
import { DBOS } from '../src/index.js';
import { RedisReceiver } from '../src/receivers/redis.js';
import { KafkaReceiver } from '../src/receivers/kafka.js';
import { receiverStatuses } from '../src/receivers/status.js';
import { dbStatements, groupCommitBatch, queueClaimed, queueClaims } from '../src/metrics/instruments.js';
import { filledKafka, filledRedis } from './receivers.js';
import { dropDatabase, freshBenchDatabase } from './stats.js';

const source = process.argv[2] ?? 'redis';
const n = Number(process.argv[3] ?? 5000);

async function statementCounts(): Promise<Map<string, number>> {
  return new Map((await dbStatements.samples()).map((s) => [s.labels[0]!, s.value]));
}

const url = freshBenchDatabase(`prof_${source}`);
let done = 0;
const step = DBOS.registerStep(async () => 1, { name: 'profStep' });
const wf = DBOS.registerWorkflow(
  async () => {
    await step();
    done++;
  },
  { name: 'profWorkflow' },
);

let stop: () => Promise<void>;
if (source === 'redis') {
  const server = await filledRedis(n);
  const receiver = new RedisReceiver({ url: server.url, blockMs: 100 });
  receiver.registerConsumer(wf as never, 'bench', { group: 'durable', batchSize: Number(process.env.BATCH ?? 100) });
  stop = () => server.stop();
} else {
  const broker = await filledKafka(n);
  const receiver = new KafkaReceiver({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  receiver.registerConsumer(wf as never, 'bench', {
    config: { groupId: 'durable', sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 },
  });
  stop = () => broker.stop();
}

DBOS.setConfig({ name: 'receiver-profile', systemDatabaseUrl: url, logLevel: 'error', applicationVersion: 'bench' });
await DBOS.migrate(url); // as the bench does: the clock starts at launch on a migrated database
const t0 = Date.now();
const cpu0 = process.cpuUsage();
const before = await statementCounts();
await DBOS.launch();
const launched = Date.now();
const timeline: string[] = [];
const every = setInterval(() => {
  const s = receiverStatuses()[0];
  timeline.push(`${String(Date.now() - t0).padStart(6)} ms  taken ${s?.taken ?? 0}  done ${done}  state ${s?.state}`);
}, 250);
let firstTaken = 0;
while (done < n) {
  if (!firstTaken && (receiverStatuses()[0]?.taken ?? 0) > 0) firstTaken = Date.now();
  await new Promise((r) => setTimeout(r, 5));
}
const end = Date.now();
const cpu = process.cpuUsage(cpu0);
clearInterval(every);
const after = await statementCounts();
await DBOS.shutdown({ deregister: true });
await dropDatabase(url);
await stop();

console.log(`${source}: ${n} messages; launch ${launched - t0} ms; launch -> first stored ${firstTaken - launched} ms; first stored -> all done ${end - firstTaken} ms`);
console.log(`  this process's CPU: ${Math.round((cpu.user + cpu.system) / 1000)} ms over ${end - t0} ms`);
console.log(`  rate from start ${Math.round((n / (end - t0)) * 1000)} msg/s, from launch ${Math.round((n / (end - launched)) * 1000)} msg/s`);
let total = 0;
const rows: Array<[string, number]> = [];
for (const [name, count] of after) {
  const d = count - (before.get(name) ?? 0);
  if (d > 0) rows.push([name, d]);
  total += d;
}
rows.sort((a, b) => b[1] - a[1]);
console.log(`  statements: ${total} (${(total / n).toFixed(3)} per message)`);
for (const [name, d] of rows.slice(0, 15)) console.log(`    ${name.padEnd(48)} ${String(d).padStart(7)}  ${(d / n).toFixed(3)}/msg`);
for (const h of groupCommitBatch.samples()) console.log(`  group commit ${h.labels.join(',')}: ${h.count} batches, mean ${(h.sum / h.count).toFixed(1)}`);
for (const c of queueClaims.samples()) console.log(`  claims ${c.labels.join(',')}: ${c.value}`);
for (const c of queueClaimed.samples()) console.log(`  claimed ${c.labels.join(',')}: ${c.value}`);
if (process.env.TIMELINE) console.log(timeline.join('\n'));
process.exit(0);
