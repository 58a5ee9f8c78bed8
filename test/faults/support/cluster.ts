// The worker processes of a fault scenario, and the faults done to them. Each process run is an incarnation with a
// name the test chooses (`w2#3`: the third process in slot w2); every fault is written to the ledger with the moment
// it took effect:
//   kill      SIGKILL, stamped once the process has exited (nothing of it can run after that)
//   stop      SIGSTOP, stamped once the kernel reports the process stopped
//   shutdown  SIGTERM makes the worker call DBOS.shutdown(); the worker itself stamps that moment in the ledger
// A process that exits on its own (a crash) is noted, and the scenario fails on it.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startWorker, type Worker } from '../../support/child.js';
import { waitUntil } from '../../support/wait.js';
import type { Ledger } from './ledger.js';

const workerScript = new URL('../fixtures/fault-worker.ts', import.meta.url);

export interface WorkerRun {
  label: string;
  incarnation: string;
  executorID: string | undefined;
  worker: Worker;
  /** The worker's own process (inside its PID namespace's wrapper, if it has one), which the faults go to. */
  pid: number;
  /** Runs in a PID namespace of its own: to the others it is on another host (they cannot look its PID up). */
  ownPidNamespace: boolean;
  startedAtMs: number;
  /** When the process was seen to exit, and how. */
  exitedAtMs?: number;
  exit?: number | string;
  /** Set when the test ended the process on purpose (kill or clean shutdown). */
  ended?: 'kill' | 'shutdown' | 'cleanup' | 'refused';
}

export interface StartOptions {
  /** DBOS__VMID; undefined leaves Transact's default. */
  executorID?: string;
  env?: Record<string, string>;
  /**
   * Run the worker in a PID namespace of its own (`unshare --pid --fork`, needs root): the other workers cannot
   * tell from its PID whether it is alive, as if it ran on another host, so only its heartbeat lease speaks for it.
   */
  ownPidNamespace?: boolean;
  /** The worker script (default: fixtures/fault-worker.ts); it must speak the same lines and write the same ledger. */
  script?: URL;
}

/** Whether workers can be given a PID namespace of their own here (root and unshare), or why not. */
export const ownPidNamespaceUnavailable: string | undefined = (() => {
  if (process.getuid?.() !== 0) return 'needs root (unshare --pid)';
  try {
    readFileSync('/usr/bin/unshare');
    return undefined;
  } catch {
    return 'no /usr/bin/unshare';
  }
})();

export class Cluster {
  readonly runs: WorkerRun[] = [];
  private readonly perLabel = new Map<string, number>();

  constructor(
    private readonly ledger: Ledger,
    /** The environment every worker gets (system DB, ledger, queue, version, lease, ...). */
    private readonly env: Record<string, string>,
  ) {}

  start(label: string, options: StartOptions = {}): WorkerRun {
    const n = (this.perLabel.get(label) ?? 0) + 1;
    this.perLabel.set(label, n);
    const incarnation = `${label}#${n}`;
    const env: Record<string, string> = {
      ...this.env,
      ...options.env,
      FAULT_LEDGER_URL: this.ledger.url,
      FAULT_INCARNATION: incarnation,
      FAULT_LABEL: label,
    };
    if (options.executorID !== undefined) env.DBOS__VMID = options.executorID;
    else if (process.env.DBOS__VMID !== undefined) throw new Error('DBOS__VMID is set in the test environment: a default executor ID cannot be tested');
    const script = options.script ?? workerScript;
    const worker = options.ownPidNamespace ? startInOwnPidNamespace(env, script) : startWorker(script, env);
    const run: WorkerRun = {
      label,
      incarnation,
      executorID: options.executorID,
      worker,
      pid: worker.process.pid!, // for a wrapped worker, replaced by the worker's own PID once it is ready
      ownPidNamespace: options.ownPidNamespace ?? false,
      startedAtMs: Date.now(),
    };
    void worker.exited.then((exit) => {
      run.exitedAtMs = Date.now();
      run.exit = exit;
    });
    this.runs.push(run);
    return run;
  }

  async ready(run: WorkerRun, timeoutMs = 30_000): Promise<void> {
    await run.worker.waitForLine(`ready ${run.incarnation}`, timeoutMs);
    if (run.ownPidNamespace) run.pid = childOf(run.worker.process.pid!);
  }

  private signal(run: WorkerRun, signal: NodeJS.Signals): void {
    process.kill(run.pid, signal);
  }

  /** The processes still running (stopped ones included). */
  live(): WorkerRun[] {
    return this.runs.filter((r) => r.exit === undefined);
  }

  /** SIGKILL; the fault is stamped once the process is gone. */
  async kill(run: WorkerRun): Promise<void> {
    if (run.exit !== undefined) throw new Error(`${run.incarnation} had already exited (${run.exit}): ${run.worker.stderr().slice(-2000)}`);
    run.ended = 'kill';
    this.signal(run, 'SIGKILL');
    await run.worker.exited;
    await this.ledger.recordFault(run.incarnation, 'kill', Date.now());
  }

  /** SIGSTOP; the fault is stamped once the process is stopped. Returns that moment. */
  async stop(run: WorkerRun): Promise<number> {
    this.signal(run, 'SIGSTOP');
    await waitUntil(() => processState(run.pid) === 'T', { timeoutMs: 5000, intervalMs: 5, message: `${run.incarnation} stopped` });
    const atMs = Date.now();
    await this.ledger.recordFault(run.incarnation, 'stop', atMs);
    return atMs;
  }

  /** A fault done to every live process at once (the system database went away): stamped now for each. */
  async stampAll(kind: 'outage'): Promise<number> {
    const atMs = Date.now();
    for (const run of this.live()) await this.ledger.recordFault(run.incarnation, kind, atMs);
    return atMs;
  }

  cont(run: WorkerRun): void {
    this.signal(run, 'SIGCONT');
  }

  /** SIGTERM: the worker shuts Transact down cleanly and exits with 0. Resolves when it has exited. */
  async shutdown(run: WorkerRun, timeoutMs = 30_000): Promise<void> {
    run.ended = 'shutdown';
    this.signal(run, 'SIGTERM');
    await Promise.race([
      run.worker.exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${run.incarnation} did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs).unref(),
      ),
    ]);
    if (run.exit !== 0 && (await run.worker.exited) !== 0) {
      throw new Error(`${run.incarnation} exited with ${await run.worker.exited} after SIGTERM: ${run.worker.stderr().slice(-2000)}`);
    }
  }

  /** Asks the worker (SIGUSR2) how many workflow bodies it is inside, and how many it has returned from. */
  async status(run: WorkerRun, timeoutMs = 10_000): Promise<{ inFlight: number; returned: number }> {
    const before = run.worker.lines.filter((l) => l.startsWith('status ')).length;
    this.signal(run, 'SIGUSR2');
    const line = await waitUntil(() => run.worker.lines.filter((l) => l.startsWith('status '))[before], {
      timeoutMs,
      message: `a status line from ${run.incarnation}`,
    });
    const [, inFlight, returned] = line.split(' ').map(Number);
    return { inFlight: inFlight!, returned: returned! };
  }

  /** Processes that exited although the test did not end them: crashes, with their stderr. */
  crashes(): string[] {
    return this.runs
      .filter((r) => r.exit !== undefined && r.ended === undefined)
      .map((r) => `${r.incarnation} (pid ${r.pid}) exited by itself with ${r.exit}: ${r.worker.stderr().slice(-1500)}`);
  }

  /** SIGKILLs whatever is left (SIGKILL also ends a stopped process); not a fault of the scenario. */
  async killAll(): Promise<void> {
    await Promise.all(
      this.live().map(async (r) => {
        r.ended ??= 'cleanup';
        await r.worker.kill('SIGKILL');
      }),
    );
  }
}

const require = createRequire(import.meta.url);

/**
 * The worker under `unshare --pid --fork --kill-child`: the worker is PID 1 of a new PID namespace (so its heartbeat
 * row names a namespace the others do not share), and it dies with its wrapper. Same interface as startWorker.
 */
function startInOwnPidNamespace(env: Record<string, string>, script: URL): Worker {
  const command = ['--pid', '--fork', '--kill-child', process.execPath, '--import', require.resolve('tsx'), fileURLToPath(script)];
  const child = spawn('unshare', command, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve((exitValue = code ?? signal ?? -1))));
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
      if (exitValue === undefined) child.kill(signal); // --kill-child: the worker dies with its wrapper
      return exited;
    },
  };
}

/** The one child of a process (the worker under its unshare wrapper), as the kernel lists it. */
function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length !== 1) throw new Error(`expected one child of ${pid}, found ${children.join(',') || 'none'}`);
  return children[0]!;
}

/** The process's state letter from /proc (R, S, D, T, Z, ...), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
