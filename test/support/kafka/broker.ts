// The Kafka broker of the tests: librdkafka's mock cluster (a real Kafka protocol peer, in memory), run by our own
// small C program (mock-cluster.c), compiled on first use into a scratch folder keyed by the source's hash, started
// per test file on ports it picks, stopped afterwards. Needs Debian's librdkafka-dev (.ci/run installs it).
//
//   const broker = await startKafkaMock();        // broker.bootstraps: '127.0.0.1:40123'
//   await broker.createTopic('orders', 4);        // the mock has no CreateTopics request
//   await broker.down(); await broker.up();       // every broker drops its connections and refuses new ones, then not
//   await broker.failNext(8, [27]);               // the next OffsetCommit (API key 8) fails: REBALANCE_IN_PROGRESS
//   await broker.stop();

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('./mock-cluster.c', import.meta.url));

/** Why the mock cluster cannot run here (no compiler, no librdkafka-dev), or undefined when it can. */
export const kafkaMockUnavailable: string | undefined = (() => {
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) return 'librdkafka-dev is not installed (apt-get install -y librdkafka-dev)';
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'no C compiler (cc)';
  }
  return undefined;
})();

/** The compiled program, built once per version of the source (concurrent test files race harmlessly: rename is atomic). */
function binary(): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'transact-kafka-mock');
  const path = join(dir, `mock-cluster-${hash}`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const partial = `${path}.${process.pid}`;
  execFileSync('cc', ['-O1', '-o', partial, source, '-lrdkafka'], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(partial, path);
  return path;
}

export interface KafkaMock {
  readonly bootstraps: string;
  readonly brokers: string[];
  createTopic(name: string, partitions: number): Promise<void>;
  /** Every broker drops its connections and refuses new ones (the cluster keeps its data). */
  down(): Promise<void>;
  up(): Promise<void>;
  /** The next requests with this API key fail with these error codes, one each. */
  failNext(apiKey: number, codes: number[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startKafkaMock(brokerCount = 1): Promise<KafkaMock> {
  if (kafkaMockUnavailable) throw new Error(`The Kafka mock cluster cannot run: ${kafkaMockUnavailable}`);
  const child: ChildProcess = spawn(binary(), [String(brokerCount)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      for (const w of waiters.splice(0)) w();
      resolve();
    }),
  );

  /** The next line from `from` on that matches, within the deadline. */
  async function lineAfter(from: number, match: (line: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.slice(from).find(match);
      if (found) return found;
      if (exited) throw new Error(`The Kafka mock exited before ${what}: ${stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`The Kafka mock did not answer ${what} within ${timeoutMs} ms: ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async function command(text: string): Promise<void> {
    const from = lines.length;
    const name = text.split(' ')[0]!;
    child.stdin!.write(`${text}\n`);
    const answer = await lineAfter(from, (l) => l.startsWith(`ok ${name}`) || l.startsWith(`error ${name}`), `"${text}"`);
    if (answer.startsWith('error')) throw new Error(`Kafka mock: ${answer}`);
  }

  const first = await lineAfter(0, (l) => l.startsWith('bootstraps '), 'its bootstrap addresses');
  const bootstraps = first.slice('bootstraps '.length).trim();
  return {
    bootstraps,
    brokers: bootstraps.split(','),
    createTopic: (name, partitions) => command(`topic ${name} ${partitions}`),
    down: () => command('down'),
    up: () => command('up'),
    failNext: (apiKey, codes) => command(`errors ${apiKey} ${codes.join(' ')}`),
    async stop() {
      if (exited) return;
      child.stdin!.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
