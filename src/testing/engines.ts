// Engines for the testing kit: each test run gets a system database of its own (a file in a temporary folder, or a
// schema of its own in a PostgreSQL database the caller names), and engines are launched on it, killed, and launched
// again in this process. An engine is "killed" the way SIGKILL kills a process: its runs are held at the boundary
// they are at and never go on (the RunProbe of src/runtime/context.ts), its timers stop, its connections close, and
// nothing is handed back; the next engine launched under its executor ID finds its workflows PENDING and recovers
// them, as a restarted process does.

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, type Logger, type LogLevel } from '../logger.js';
import { launchEngine, stopEngine } from '../process/launch.js';
import { getConfig, lifecycleState, registry } from '../process/state.js';
import type { Launched } from '../process/state.js';
import type { DBOSConfig } from '../runtime/config.js';
import type { RunProbe } from '../runtime/context.js';
import type { StepRow } from '../sysdb/rows.js';
import { dropSchemas, readHistory, type RecordedWorkflow } from '../sysdb/scratch.js';
import { openSystemDatabase, type DatabaseLocation } from '../sysdb/open.js';

/** The application version every engine of a test shares, so a recovering engine takes the work of a killed one. */
export const TEST_VERSION = 'transact-testing';

/** Where a test keeps its databases: a temporary folder, or schemas of a PostgreSQL database. */
export class ScratchSpace {
  private readonly dir?: string;
  private readonly schemas: string[] = [];
  private readonly prefix = `transact_test_${randomBytes(4).toString('hex')}`;
  private count = 0;
  private template?: Promise<void>;

  /** `postgresUrl`: a PostgreSQL database to hold one schema per run (created if missing); else SQLite files. */
  constructor(private readonly postgresUrl?: string) {
    if (!postgresUrl) this.dir = mkdtempSync(join(tmpdir(), 'transact-testing-'));
  }

  /** A system database nobody has used yet (on SQLite, a copy of one migrated once: a copy is faster than a migration). */
  async next(tag: string): Promise<DatabaseLocation> {
    const n = ++this.count;
    if (this.postgresUrl) {
      const schema = `${this.prefix}_${n}`;
      this.schemas.push(schema);
      return { kind: 'postgres', url: this.postgresUrl, schema };
    }
    const template = join(this.dir!, 'template.sqlite');
    if (!this.template) {
      this.template = (async () => {
        const db = await openSystemDatabase({ kind: 'sqlite', file: template }, { migrate: true, poolSize: 1 });
        await db.close();
      })();
    }
    await this.template;
    const file = join(this.dir!, `${n}-${tag.replace(/[^a-z0-9_-]/gi, '_')}.sqlite`);
    copyFileSync(template, file);
    return { kind: 'sqlite', file };
  }

  /** Removes every database this space made. */
  async dispose(): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    if (this.postgresUrl && this.schemas.length > 0) await dropSchemas(this.postgresUrl, this.schemas.splice(0));
  }
}

/** A PostgreSQL URL, or undefined for the embedded database. */
export function postgresUrlOf(systemDatabaseUrl: string | undefined): string | undefined {
  return systemDatabaseUrl && /^postgres(ql)?:\/\//.test(systemDatabaseUrl) ? systemDatabaseUrl : undefined;
}

export function urlOf(location: DatabaseLocation): string {
  return location.kind === 'sqlite' ? `sqlite:${location.file}` : location.url;
}

export interface EngineOptions {
  location: DatabaseLocation;
  executorID: string;
  probe?: RunProbe;
  /** Settings of the user's own (DBOS.setConfig and the test's options); the database and identity are the test's. */
  config?: DBOSConfig;
  logLevel?: LogLevel;
}

/** An engine on a test database. The application's registered workflows are its workflows. */
export async function launchTestEngine(options: EngineOptions): Promise<Launched> {
  const base = { ...getConfig(), ...options.config };
  const config: DBOSConfig = {
    ...base,
    name: base.name ?? 'transact-testing',
    systemDatabaseUrl: urlOf(options.location),
    systemDatabaseSchemaName: options.location.kind === 'postgres' ? options.location.schema : undefined,
    executorID: options.executorID,
    applicationVersion: TEST_VERSION,
    runMigrations: true,
    systemDatabasePoolSize: Math.min(base.systemDatabasePoolSize ?? 4, 4),
    // A test's database is thrown away: it must survive the process crashes the test makes, not a power cut.
    sqliteSynchronous: base.sqliteSynchronous ?? 'NORMAL',
  };
  const logger: Logger = options.config?.logger ?? new ConsoleLogger(options.logLevel ?? 'error');
  const launched = await launchEngine(config, registry, logger, (ready) => {
    ready.executor.probe = options.probe; // before anything runs: recovered work is dispatched after this
    lifecycleState.ready(ready);
  });
  // Schedules declared in the application's code are not the test's business.
  await launched.scheduler.stop();
  return launched;
}

/**
 * Kills an engine as SIGKILL kills a process: its probe already holds every run (the caller made it hold), and now
 * its runs are stopped, its timers end and its connections close, with nothing handed back and its heartbeat row left
 * behind. Statements in flight finish first (closing the pool waits for them), so what is durable afterwards is fixed.
 */
export async function killEngine(launched: Launched): Promise<void> {
  clearInterval(launched.sweep);
  await launched.executor.stopAll(0, 0);
  await launched.queues.stopDispatching();
  await launched.queues.stopHeartbeat(false);
  await launched.db.close();
}

/** A clean shutdown (the run is over). */
export function stopTestEngine(launched: Launched): Promise<void> {
  return stopEngine(launched, 0);
}

/** The recorded steps of these workflows, read afresh from a database no engine of the test holds open. */
export async function readRecorded(location: DatabaseLocation, workflowIDs: Iterable<string>): Promise<Map<string, RecordedWorkflow>> {
  const db = await openSystemDatabase(location, { migrate: false, poolSize: 1 });
  try {
    return await readHistory(db, [...workflowIDs]);
  } finally {
    await db.close();
  }
}

export type { RecordedWorkflow, StepRow };
