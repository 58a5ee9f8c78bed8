// Real processes for crash and concurrency tests: a worker script runs under tsx, reports progress as lines on
// stdout, and can be SIGKILLed at any moment.

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tsxLoader = require.resolve('tsx');

export interface Worker {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching, or throws at the deadline. */
  waitForLine(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  stderr(): string;
}

export function startWorker(script: string | URL, env: Record<string, string>, args: string[] = []): Worker {
  const path = script instanceof URL ? fileURLToPath(script) : script;
  const child = spawn(process.execPath, ['--import', tsxLoader, path, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  let exitValue: number | string | undefined;
  void exited.then((v) => (exitValue = v));
  return {
    process: child,
    lines,
    stderr: () => err,
    exited,
    async waitForLine(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((l) => (typeof match === 'string' ? l.includes(match) : match.test(l)));
        if (found) return found;
        if (exitValue !== undefined) throw new Error(`worker exited (${exitValue}) before printing ${match}; stderr: ${err}`);
        if (Date.now() > deadline) throw new Error(`Timed out waiting for worker line ${match}; stderr: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async kill(signal = 'SIGKILL') {
      if (exitValue === undefined) child.kill(signal);
      return exited;
    },
  };
}
