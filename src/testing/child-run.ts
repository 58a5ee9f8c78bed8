// The crashed half of a crash test in a real process: a child process imports the application's module (which
// registers its workflows), runs the workflow on the run's database, and SIGKILLs itself at the chosen boundary
// (src/testing/crash-child.ts). Its events come back as lines on its standard output, each written synchronously
// before the run goes on, so the parent knows exactly what the child did before it died.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DBOSConfig } from '../runtime/config.js';
import { serializeArgs } from '../serialization/index.js';
import type { DatabaseLocation } from '../sysdb/open.js';
import type { CrashPoint, Observed } from './probe.js';

/** What the child is told (as JSON in the TRANSACT_CRASH_CHILD environment variable). */
export interface ChildOrder {
  /** A file URL. */
  module: string;
  workflow: { name: string; className: string };
  /** The arguments, serialized natively. */
  args: string;
  workflowID: string;
  location: DatabaseLocation;
  executorID: string;
  crash: CrashPoint;
  /** The JSON-safe part of the test's extra configuration. */
  config: DBOSConfig;
}

export const CHILD_ENV = 'TRANSACT_CRASH_CHILD';

export interface ChildRun {
  module: string | URL;
  workflow: { name: string; className: string };
  args: unknown[];
  workflowID: string;
  location: DatabaseLocation;
  executorID: string;
  crash: CrashPoint;
  config?: DBOSConfig;
  timeoutMs: number;
}

/** Runs the workflow in a child process until it kills itself at the crash point (or the workflow ends). */
export async function runCrashInChild(run: ChildRun): Promise<{ crashed: boolean; events: Observed[]; error?: unknown; pid?: number }> {
  const order: ChildOrder = {
    module: moduleURL(run.module),
    workflow: run.workflow,
    args: serializeArgs(run.args, 'native', 'the arguments of the crash test').text,
    workflowID: run.workflowID,
    location: run.location,
    executorID: run.executorID,
    crash: run.crash,
    config: jsonSafe(run.config ?? {}),
  };
  const child = spawn(process.execPath, [...loaderArgs(), childScript()], {
    env: { ...process.env, [CHILD_ENV]: JSON.stringify(order) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Observed[] = [];
  let crashing = false;
  let finished = false;
  let failure: string | undefined;
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('transact-event ')) events.push(JSON.parse(line.slice('transact-event '.length)) as Observed);
      else if (line === 'transact-crashing') crashing = true;
      else if (line === 'transact-finished') finished = true;
      else if (line.startsWith('transact-failed ')) failure = line.slice('transact-failed '.length);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let timer: NodeJS.Timeout | undefined;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut?: boolean }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, signal: 'SIGKILL', timedOut: true });
    }, run.timeoutMs);
  });
  clearTimeout(timer);
  if (exit.timedOut) return { crashed: false, events, pid: child.pid, error: new Error(`the child process did not reach the crash point within ${run.timeoutMs} ms`) };
  if (crashing && exit.signal === 'SIGKILL') return { crashed: true, events, pid: child.pid };
  if (finished && exit.code === 0) return { crashed: false, events, pid: child.pid };
  const why = failure ?? `exit ${exit.code ?? exit.signal}`;
  return { crashed: false, events, pid: child.pid, error: new Error(`the child process failed (${why})${stderr ? `: ${stderr.trim()}` : ''}`) };
}

function moduleURL(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^[a-z]+:\/\//i.test(module) ? module : pathToFileURL(module).href;
}

/** The child's script: the built .js next to this file, or the .ts source when run from source (tsx). */
function childScript(): string {
  const js = fileURLToPath(new URL('./crash-child.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./crash-child.ts', import.meta.url));
}

/** This process's loaders (`--import tsx` and the like), without the test runner's own flags. */
function loaderArgs(): string[] {
  return process.execArgv.filter((arg) => !arg.startsWith('--test') && !arg.startsWith('--inspect') && !arg.startsWith('--watch'));
}

function jsonSafe(config: DBOSConfig): DBOSConfig {
  return JSON.parse(JSON.stringify(config, (_key, value: unknown) => (typeof value === 'function' ? undefined : value))) as DBOSConfig;
}
