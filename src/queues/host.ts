// Where this process runs, for telling whether another executor's process is still alive. Two processes that share
// a host, a boot and a PID namespace see each other's PIDs, so one can tell at once that the other is gone (a crash,
// a Ctrl-C, a SIGKILL) instead of waiting for its heartbeat lease to lapse.

import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, uptime } from 'node:os';

function bootID(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // No procfs: the boot time, to the minute, tells boots of one machine apart.
    return `boot-${Math.round((Date.now() / 1000 - uptime()) / 60)}`;
  }
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'pid';
  }
}

let cached: string | undefined;

/** This process's host, boot and PID namespace, as one string. */
export function hostID(): string {
  cached ??= `${hostname()}/${bootID()}/${pidNamespace()}`;
  return cached;
}

/** Whether a process with this PID exists on this host (it may be another process that reused the PID: then true). */
export function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
