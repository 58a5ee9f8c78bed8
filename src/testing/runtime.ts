// A test runtime in one line: `const rt = await testRuntime()` launches DBOS on a fresh embedded database (a file in
// a temporary folder, or in memory) with a virtual clock if asked, and `await rt.shutdown()` (or `await using`) takes
// it all down again. Works with node:test, Vitest and Jest alike: it needs no server.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, shutdown } from '../process/lifecycle.js';
import { getConfig, setConfig } from '../process/state.js';
import type { DBOSConfig } from '../runtime/config.js';
import { useVirtualClock, type VirtualClock } from './clock.js';

export interface TestRuntimeOptions {
  /** The application's name (default: DBOS.setConfig's, else `test`). */
  name?: string;
  /** `true`: a virtual clock (`rt.clock.advance('3 days')`) for every durable timer. Default false. */
  virtualClock?: boolean;
  /** The database in memory instead of a temporary file (a DBOSClient cannot open it then). Default false. */
  inMemory?: boolean;
  /** Another system database (e.g. a PostgreSQL URL); default: a new embedded one. */
  systemDatabaseUrl?: string;
  /** Further settings (DBOS.setConfig's are the base). Default log level: `warn`. */
  config?: DBOSConfig;
}

export interface TestRuntime {
  /** The system database the runtime launched on (give it to a DBOSClient). */
  systemDatabaseUrl: string;
  /** With `virtualClock`: the clock to move. */
  clock?: VirtualClock;
  /** Shuts DBOS down, removes the temporary database and puts the real clock back. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Launches DBOS for a test (register your workflows before, as for DBOS.launch). */
export async function testRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const dir = options.systemDatabaseUrl || options.inMemory ? undefined : mkdtempSync(join(tmpdir(), 'transact-test-runtime-'));
  const systemDatabaseUrl = options.systemDatabaseUrl ?? (options.inMemory ? 'sqlite::memory:' : `sqlite:${join(dir!, 'system.sqlite')}`);
  const previous = getConfig();
  const clock = options.virtualClock ? useVirtualClock() : undefined;
  setConfig({
    ...previous,
    logLevel: 'warn',
    ...options.config,
    name: options.name ?? options.config?.name ?? previous.name ?? 'test',
    systemDatabaseUrl,
  });
  try {
    await launch();
  } catch (err) {
    clock?.uninstall();
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let down: Promise<void> | undefined;
  const stop = () =>
    (down ??= (async () => {
      try {
        await shutdown();
      } finally {
        clock?.uninstall();
        setConfig(previous);
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    })());
  return { systemDatabaseUrl, clock, shutdown: stop, [Symbol.asyncDispose]: stop };
}
