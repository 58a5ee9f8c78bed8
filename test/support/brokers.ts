// Private Redis and NATS servers for the receiver tests: each on a free port of its own with its data in a scratch
// folder, so a test can stop and start its server (a broker restart) without touching anyone else's. Redis keeps its
// data across a restart in an append-only file (fsync always); NATS keeps JetStream's on disk.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { scratchDir } from './backends.js';
import { waitUntil } from './wait.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface PrivateServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM: Redis and NATS flush what they hold) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
}

function serverProcess(command: string, args: () => string[], port: number, url: string, name: string): PrivateServer {
  let child: ChildProcess | undefined;
  let output = '';
  const server: PrivateServer = {
    port,
    url,
    async start() {
      output = '';
      const proc = spawn(command, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await waitUntil(async () => {
        if (proc.exitCode !== null) throw new Error(`${name} exited: ${output.slice(-1000)}`);
        return accepts(port);
      }, { timeoutMs: 15_000, message: `${name} to accept connections on ${port}` });
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return server;
}

export const redisUnavailable = existsSync('/usr/bin/redis-server') ? undefined : 'redis-server is not installed';
export const natsUnavailable = existsSync('/usr/sbin/nats-server') || existsSync('/usr/bin/nats-server') ? undefined : 'nats-server is not installed';

/** A redis-server of the test's own; its data survives a stop and start. */
export async function startRedis(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = scratchDir('redis');
  const server = serverProcess(
    '/usr/bin/redis-server',
    () => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no'],
    port,
    `redis://127.0.0.1:${port}`,
    'redis-server',
  );
  await server.start();
  return server;
}

/** A nats-server with JetStream of the test's own; its streams survive a stop and start. */
export async function startNats(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = scratchDir('nats');
  const binary = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : '/usr/bin/nats-server';
  const server = serverProcess(binary, () => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], port, `nats://127.0.0.1:${port}`, 'nats-server');
  await server.start();
  return server;
}
