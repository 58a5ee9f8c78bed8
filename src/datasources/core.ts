// Transactions with exactly-once writes, written once for every database library (transact/datasources/*).
//
// The completion protocol. A transaction step of a workflow (function ID f) commits, in the user's own transaction
// on the application database, a row (workflow_id, f, output) of `<schema>.transaction_completion`. The write and
// its record commit together or not at all, so after any crash exactly one of these holds:
//   - the transaction never committed: the step runs again (its earlier attempt was rolled back by the server);
//   - it committed: the completion row holds its output, and a later execution returns that output without running.
// The step is also recorded in the system database's `operation_outputs` (at the function ID the workflow's counter
// gives it), as any step is. That checkpoint is sent without waiting: the completion row already makes the outcome
// durable, so it costs the workflow no round trip (the outcome of the workflow is written only once it has landed;
// see WorkflowContext.pendingWrites). A replay finds the step in `operation_outputs` and never reaches the
// application database; an execution that finds no checkpoint (it crashed between COMMIT and the checkpoint) reads
// the completion row first, when the run may have been executed before.
//
// Two executions of one step (a workflow taken over while its old run was still inside the transaction) cannot both
// commit: the completion row's primary key makes the second wait for the first and fail with 23505; it rolls back and
// returns what the first recorded. An error thrown by the function rolls its transaction back and is recorded the same
// way (a completion row with the error, outside the rolled-back transaction, then the checkpoint), so a replay throws
// it again; a conflict there too means the transaction had committed after all (a COMMIT whose reply was lost), and
// its output wins. Serialization failures (40001) and deadlocks (40P01) are retried with backoff, as DBOS does.
// A read-only transaction writes no completion row (running it again changes nothing); it is checkpointed as a step.
// Outside a workflow, a transaction function is a plain transaction.
//
// When the workflow's outcome is recorded, its completion rows are deleted (best effort, batched), and a sweep
// deletes older rows whose step the system database has recorded (retention). Rows of workflows this system
// database does not know (another application, or DBOS processes sharing the application database) are left alone.
//
// The table and its version record are DBOS's (dbos-spec §1.10), so DBOS's and Transact's data sources can share one
// application database: `transaction_completion` keyed (workflow_id, function_num), its schema version in
// `dbos_transaction_completion_migrations`, migrations serialized by the same advisory lock.

import { createHash } from 'node:crypto';
import superjson from 'superjson';
import { DBOS } from '../dbos.js';
import type { DBOSLifecycleCallback } from '../process/lifecycle.js';
import { launchedExecutor } from '../process/state.js';
import { dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSError, DBOSInitializationError, DBOSInvalidWorkflowTransitionError, DBOSRunInterruptedError } from '../errors.js';
import * as info from '../registry-info.js';
import { currentFrame, executionStorage, sleepUnlessStopped, transactionStorage, type WorkflowContext } from '../runtime/context.js';
import type { RunExecutor as Executor } from '../runtime/context.js';
import { recordedStepNamed, replayRecorded } from '../runtime/replay.js';
import { checkpoint } from '../runtime/steps.js';
import { NATIVE_SERIALIZATION, serializeError, serializeValue } from '../serialization/index.js';
import { getStep } from '../sysdb/steps.js';

// ------------------------------------------------------------------------------------------------ public types

/** Isolation levels of PostgreSQL transactions (DBOS's PGIsolationLevel). */
export const PGIsolationLevel = Object.freeze({
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
} as const);
export type PGIsolationLevel = (typeof PGIsolationLevel)[keyof typeof PGIsolationLevel];

/** DBOS's PGTransactionConfig. */
export interface PGTransactionConfig {
  isolationLevel?: PGIsolationLevel;
  readOnly?: boolean;
}

/** What every data source's registerTransaction accepts besides its transaction settings (DBOS's FunctionName). */
export type FunctionName = info.FunctionName;

/** Settings of one transaction, as the library adapters receive them. */
export interface TransactionSettings {
  isolationLevel?: PGIsolationLevel;
  readOnly?: boolean;
}

/** A statement with $1, $2, … placeholders. */
export type SqlQuery = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/** The completion row a transaction writes before it commits. */
export interface CompletionRecord {
  workflowID: string;
  functionID: number;
  output: string;
}

/**
 * What each database library provides; the protocol above is the core's. `transaction` runs `body` in one
 * transaction with these settings and, when `complete` gives a record, writes it in the same transaction after the
 * body and before COMMIT (with `writeCompletion`, or in the COMMIT's own round trip where the library allows).
 */
export interface TransactionDriver<Client> {
  open(): Promise<void>;
  close(): Promise<void>;
  /** One statement, in a transaction of its own. */
  query: SqlQuery;
  /** Several statements in one transaction (the schema migration). */
  inTransaction(fn: (query: SqlQuery) => Promise<void>): Promise<void>;
  transaction<T>(settings: TransactionSettings, body: (client: Client) => Promise<T>, complete?: (value: T) => CompletionRecord): Promise<T>;
}

// ------------------------------------------------------------------------------------------------ SQL

export const DATASOURCE_MIGRATIONS_TABLE = 'dbos_transaction_completion_migrations';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The data-source schema's migrations, in order; the version is the number applied (DBOS's list: one so far). */
export function dataSourceMigrations(schemaName: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(schemaName)}.transaction_completion (
       workflow_id TEXT NOT NULL,
       function_num INT4 NOT NULL,
       output TEXT,
       error TEXT,
       created_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now())*1000)::bigint,
       PRIMARY KEY (workflow_id, function_num)
     )`,
  ];
}

/** The advisory lock that serializes migrators of one schema, the same key DBOS takes. */
function migrationLockKey(schemaName: string): bigint {
  return createHash('sha256').update(`dbos.datasource_migrations.${schemaName}`).digest().readBigInt64BE(0);
}

async function schemaVersion(query: SqlQuery, schemaName: string): Promise<number> {
  const present = await query(
    `SELECT 1 AS present FROM pg_catalog.pg_tables WHERE schemaname = ${quoteLiteral(schemaName)} AND tablename = '${DATASOURCE_MIGRATIONS_TABLE}'`,
  );
  if (present.length === 0) return 0;
  const rows = await query(`SELECT version FROM ${quoteIdent(schemaName)}.${DATASOURCE_MIGRATIONS_TABLE}`);
  return rows.length > 0 ? Number(rows[0]!.version) : 0;
}

/**
 * Brings the schema to the latest version inside the caller's transaction (`query` runs in it): nothing is written
 * when it is already there (or ahead: a newer peer migrated it). Concurrent migrators wait on one advisory lock.
 */
export async function migrateDataSourceSchema(query: SqlQuery, schemaName = 'dbos'): Promise<void> {
  const migrations = dataSourceMigrations(schemaName);
  if ((await schemaVersion(query, schemaName)) >= migrations.length) return;
  await query(`SET LOCAL idle_in_transaction_session_timeout = '30s'`);
  await query(`SELECT 1 AS locked FROM pg_advisory_xact_lock(${migrationLockKey(schemaName)})`);
  const current = await schemaVersion(query, schemaName);
  if (current >= migrations.length) return;
  const schema = quoteIdent(schemaName);
  const hasSchema = await query(`SELECT 1 AS present FROM pg_catalog.pg_namespace WHERE nspname = ${quoteLiteral(schemaName)}`);
  if (hasSchema.length === 0) await query(`CREATE SCHEMA ${schema}`);
  await query(`CREATE TABLE IF NOT EXISTS ${schema}.${DATASOURCE_MIGRATIONS_TABLE} (version BIGINT NOT NULL PRIMARY KEY)`);
  for (let v = current + 1; v <= migrations.length; v++) await query(migrations[v - 1]!);
  await query(
    current === 0
      ? `INSERT INTO ${schema}.${DATASOURCE_MIGRATIONS_TABLE} (version) VALUES (${migrations.length})`
      : `UPDATE ${schema}.${DATASOURCE_MIGRATIONS_TABLE} SET version = ${migrations.length}`,
  );
}

/** Drops the data-source schema's tables (the static `uninitializeDBOSSchema` of DBOS's packages). */
export async function dropDataSourceSchema(query: SqlQuery, schemaName = 'dbos'): Promise<void> {
  const schema = quoteIdent(schemaName);
  await query(`DROP TABLE IF EXISTS ${schema}.transaction_completion`);
  await query(`DROP TABLE IF EXISTS ${schema}.${DATASOURCE_MIGRATIONS_TABLE}`);
}

/** The completion row as one statement with its values inlined (for a library that sends it with COMMIT). */
export function completionInsertText(schemaName: string, r: CompletionRecord): string {
  return `INSERT INTO ${quoteIdent(schemaName)}.transaction_completion (workflow_id, function_num, output) VALUES (${quoteLiteral(
    r.workflowID,
  )}, ${Number(r.functionID)}, ${quoteLiteral(r.output)})`;
}

/** Writes the completion row with `query`, inside the transaction; a row already there is StepAlreadyRecorded. */
export async function writeCompletion(query: SqlQuery, schemaName: string, r: CompletionRecord): Promise<void> {
  try {
    await query(`INSERT INTO ${quoteIdent(schemaName)}.transaction_completion (workflow_id, function_num, output) VALUES ($1, $2, $3)`, [
      r.workflowID,
      r.functionID,
      r.output,
    ]);
  } catch (err) {
    throw asCompletionConflict(err, r);
  }
}

/** Another execution committed this step's completion row first: its outcome is the step's. */
export class StepAlreadyRecorded extends Error {
  constructor(
    readonly workflowID: string,
    readonly functionID: number,
  ) {
    super(`Step ${functionID} of workflow ${workflowID} was already recorded by another execution`);
  }
}

/** A unique violation on writing the completion row becomes StepAlreadyRecorded; anything else stays as it is. */
export function asCompletionConflict(err: unknown, r: CompletionRecord): unknown {
  return sqlState(err) === '23505' ? new StepAlreadyRecorded(r.workflowID, r.functionID) : err;
}

/** The SQLSTATE of a database error, looked for along the cause chain (libraries wrap the driver's error). */
export function sqlState(error: unknown): string | undefined {
  let e = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 10; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError ?? (e as { driverError?: unknown }).driverError;
  }
  return undefined;
}

/** A serialization failure or a deadlock: the transaction is retried. */
export function isRetriableTransactionError(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40001' || code === '40P01';
}

// ------------------------------------------------------------------------------------------------ fault points

/**
 * Where the kill tests stop a process (test/datasources/): after a transaction committed and before its checkpoint
 * was sent. Unset in applications.
 */
export const faultPoints: { afterCommit?: (workflowID: string, functionID: number) => Promise<void> } = {};

// ------------------------------------------------------------------------------------------------ the core

export interface DataSourceOptions {
  /** Delete completion rows when the workflow's outcome is recorded (default true). */
  cleanUpOnCompletion?: boolean;
  /** Retention: rows older than this whose step the system database has recorded are deleted (default 1 h). */
  retentionMs?: number;
  /** How often the retention sweep runs (default 10 min; 0 turns it off). */
  retentionSweepIntervalMs?: number;
}

const RETRY_FIRST_MS = 1;
const RETRY_FACTOR = 1.5;
const RETRY_MAX_MS = 2000;
const CLEANUP_BATCH = 200;

/** The data sources by name, for DBOS.runTransaction-like lookups and tests. */
const dataSources = new Map<string, DataSourceCore<unknown>>();

/** The data source registered under this name. */
export function getDataSource(name: string): DataSourceCore<unknown> | undefined {
  return dataSources.get(name);
}

interface TransactionFrame {
  dataSource: string;
  owner: DataSourceCore<unknown>;
  client: unknown;
}

/**
 * One data source: its name, its library's driver, its schema; runs transaction functions under the protocol.
 * The public classes (NodePostgresDataSource, KnexDataSource, …) wrap one of these.
 */
export class DataSourceCore<Client> implements DBOSLifecycleCallback {
  private opened?: Promise<void>;
  private readonly pendingCleanup = new Set<string>();
  private cleanupTimer?: NodeJS.Timeout;
  private cleanupRunning?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  /** The engine of the last workflow that ran a transaction here (the retention sweep asks its system database). */
  private executor?: Executor;

  constructor(
    readonly name: string,
    readonly kind: string,
    readonly schemaName: string,
    readonly driver: TransactionDriver<Client>,
    readonly options: DataSourceOptions = {},
  ) {
    if (!name) throw new DBOSInitializationError(`${kind} needs a name`);
    const previous = dataSources.get(name);
    if (previous && previous !== (this as DataSourceCore<unknown>) && previous.opened) {
      throw new DBOSInitializationError(`A data source named ${JSON.stringify(name)} is already in use`);
    }
    dataSources.set(name, this as DataSourceCore<unknown>);
    DBOS.registerLifecycleCallback(this);
  }

  // ---------------------------------------------------------------------------------------- lifecycle

  /** Opens the library's connections and brings the schema up to date; at launch, or at first use. */
  ready(): Promise<void> {
    this.opened ??= (async () => {
      await this.driver.open();
      try {
        await this.driver.inTransaction((query) => migrateDataSourceSchema(query, this.schemaName));
      } catch (err) {
        await this.driver.close().catch(() => {});
        throw new DBOSInitializationError(
          `${this.kind} ${this.name}: could not set up ${this.schemaName}.transaction_completion in the application database: ${(err as Error).message}`,
          err as Error,
        );
      }
      const every = this.options.retentionSweepIntervalMs ?? 600_000;
      if (every > 0) {
        this.sweepTimer = setInterval(() => void this.sweep().catch(() => {}), every);
        this.sweepTimer.unref();
      }
    })().catch((err) => {
      this.opened = undefined;
      throw err;
    });
    return this.opened;
  }

  /** DBOS.launch: the data source is opened then (recovery may need it before). */
  async initialize(): Promise<void> {
    await this.ready();
  }

  /** DBOS.shutdown: pending clean-ups are flushed, then the connections closed (a later use opens them again). */
  async destroy(): Promise<void> {
    if (!this.opened) return;
    const opened = this.opened;
    await opened.catch(() => {});
    clearInterval(this.sweepTimer);
    await this.flushCleanup().catch(() => {});
    this.executor = undefined;
    this.opened = undefined;
    await this.driver.close();
  }

  // ---------------------------------------------------------------------------------------- the client

  /** The transaction client of the transaction running here, on this data source (or on any, when `owner` is absent). */
  static currentClient<C>(kind: string, owner?: DataSourceCore<unknown>): C {
    const frame = transactionStorage.getStore() as TransactionFrame | undefined;
    if (!frame || !frame.owner) throw new DBOSError(`Invalid use of ${kind}.client outside of a transaction function`);
    if (owner && frame.owner !== owner) throw new DBOSError(`${kind}.client of data source ${owner.name} asked for inside a transaction of ${frame.dataSource}`);
    return frame.client as C;
  }

  // ---------------------------------------------------------------------------------------- running

  /** Wraps `fn` as a transaction function (registerTransaction and the decorator). */
  registerTransaction<This, Args extends unknown[], Return>(
    fn: (this: This, ...args: Args) => Promise<Return>,
    config: TransactionSettings & FunctionName = {},
  ): (this: This, ...args: Args) => Promise<Return> {
    const name = config.name ?? fn.name;
    if (!name) throw new DBOSError('registerTransaction needs a named function or a name option');
    const settings = settingsOf(config);
    const core = this;
    const wrapper = function (this: This, ...args: Args): Promise<Return> {
      return core.invoke(name, settings, () => fn.apply(this, args));
    };
    Object.defineProperty(wrapper, 'name', { value: name });
    info.noteStep(fn, wrapper, name, {}, { name, className: config.className, ctorOrProto: config.ctorOrProto });
    return wrapper;
  }

  /** `@ds.transaction()`: legacy (experimentalDecorators) and standard decorators. */
  transactionDecorator(config: TransactionSettings & { name?: string } = {}): DualMethodDecorator {
    return dualMethodDecorator(
      (method) =>
        this.registerTransaction(method.fn as (...args: unknown[]) => Promise<unknown>, {
          ...config,
          name: config.name ?? method.name,
          className: method.className,
        }),
      (method, owner) => info.placeRegistered(method.fn, owner),
    );
  }

  /** runTransaction: `fn` as a transaction (a step of the workflow when called in one). */
  runTransaction<T>(fn: () => Promise<T>, config: TransactionSettings & { name?: string } = {}): Promise<T> {
    return this.invoke(config.name ?? (fn.name || 'transaction'), settingsOf(config), fn);
  }

  /** Takes the function ID synchronously (before any await), as every durable operation does. */
  invoke<T>(name: string, settings: TransactionSettings, fn: () => Promise<T>): Promise<T> {
    const frame = currentFrame();
    if (!frame) return this.plain(settings, fn);
    if (frame.step) {
      return Promise.reject(new DBOSInvalidWorkflowTransitionError(`Invalid call to transaction ${name} inside a step or transaction`));
    }
    const ctx = frame.workflow;
    const functionID = ctx.nextFunctionID();
    return this.durable(frame.executor, ctx, functionID, name, settings, fn);
  }

  /** Outside a workflow: a plain transaction, retried on serialization failures and deadlocks. */
  private async plain<T>(settings: TransactionSettings, fn: () => Promise<T>): Promise<T> {
    await this.ready();
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(wait * RETRY_FACTOR, RETRY_MAX_MS)) {
      try {
        return await this.driver.transaction(settings, (client) => this.inFrame(client, undefined, fn));
      } catch (err) {
        if (!isRetriableTransactionError(err)) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Runs the user's function with its client (and, in a workflow, its step frame) in context. */
  private inFrame<T>(client: Client, step: { executor: Executor; ctx: WorkflowContext; functionID: number; name: string } | undefined, fn: () => Promise<T>): Promise<T> {
    const tx: TransactionFrame = { dataSource: this.name, owner: this as DataSourceCore<unknown>, client };
    if (!step) return transactionStorage.run(tx, fn);
    return executionStorage.run(
      {
        workflow: step.ctx,
        executor: step.executor,
        step: { functionID: step.functionID, name: step.name, currentAttempt: 1, maxAttempts: 1, transaction: true },
      },
      () => transactionStorage.run(tx, fn),
    );
  }

  private async durable<T>(
    executor: Executor,
    ctx: WorkflowContext,
    functionID: number,
    name: string,
    settings: TransactionSettings,
    fn: () => Promise<T>,
  ): Promise<T> {
    ctx.throwIfStopped();
    // Noted before a replay too: an earlier execution's completion rows are this run's to clean up.
    this.noteUse(executor, ctx);
    const recorded = recordedStepNamed(ctx, functionID, name);
    if (recorded) return replayRecorded<T>(recorded);
    const span = ctx.span && executor.tracing?.startStep(ctx.span, executor.spanIdentity(ctx), name, functionID);
    try {
      const value = await this.execute(executor, ctx, functionID, name, settings, fn);
      if (span) executor.tracing!.end(span);
      return value;
    } catch (err) {
      if (span) executor.tracing!.end(span, err);
      throw err;
    }
  }

  private async execute<T>(
    executor: Executor,
    ctx: WorkflowContext,
    functionID: number,
    name: string,
    settings: TransactionSettings,
    fn: () => Promise<T>,
  ): Promise<T> {
    const startedAtEpochMs = Date.now();
    const workflowID = ctx.workflowID;
    const writes = !settings.readOnly;
    await this.ready();
    // An execution before this one may have committed the transaction and died before its checkpoint.
    if (writes && ctx.mayHaveRunBefore) {
      const done = await this.recordedCompletion(ctx, workflowID, functionID, name);
      if (done) return this.adopt<T>(executor, ctx, functionID, name, done, startedAtEpochMs);
    }
    for (let attempt = 1, wait = RETRY_FIRST_MS; ; attempt++, wait = Math.min(wait * RETRY_FACTOR, RETRY_MAX_MS)) {
      // Another executor may take this workflow over once this one's lease lapses: never start a transaction past it.
      if (executor.lease && !executor.lease.valid()) await executor.lease.renew();
      ctx.throwIfStopped();
      if (writes && attempt > 1) {
        const done = await this.recordedCompletion(ctx, workflowID, functionID, name);
        if (done) return this.adopt<T>(executor, ctx, functionID, name, done, startedAtEpochMs);
      }
      let value: T;
      try {
        value = await this.driver.transaction(
          settings,
          (client) => this.inFrame(client, { executor, ctx, functionID, name }, fn),
          writes ? (v) => ({ workflowID, functionID, output: superjson.stringify(v) }) : undefined,
        );
      } catch (err) {
        if (err instanceof StepAlreadyRecorded) {
          const done = await this.recordedCompletion(ctx, workflowID, functionID, name);
          if (!done) throw new DBOSError(`Step ${functionID} (${name}) of workflow ${workflowID} conflicted with another execution, whose record is gone`);
          return this.adopt<T>(executor, ctx, functionID, name, done, startedAtEpochMs);
        }
        if (isRetriableTransactionError(err)) {
          await sleepUnlessStopped(wait, ctx.signal);
          continue;
        }
        return this.recordFailure<T>(executor, ctx, functionID, name, err, writes, startedAtEpochMs);
      }
      if (faultPoints.afterCommit) await faultPoints.afterCommit(workflowID, functionID);
      this.checkpointInBackground(executor, ctx, functionID, name, value, startedAtEpochMs);
      return value;
    }
  }

  /** The function threw (its transaction rolled back): record the error beside the completion rows, then checkpoint it. */
  private async recordFailure<T>(
    executor: Executor,
    ctx: WorkflowContext,
    functionID: number,
    name: string,
    error: unknown,
    writes: boolean,
    startedAtEpochMs: number,
  ): Promise<T> {
    ctx.throwIfStopped();
    if (writes) {
      let inserted: boolean;
      try {
        const rows = await this.driver.query(
          `INSERT INTO ${quoteIdent(this.schemaName)}.transaction_completion (workflow_id, function_num, error) VALUES ($1, $2, $3)
           ON CONFLICT (workflow_id, function_num) DO NOTHING RETURNING function_num`,
          [ctx.workflowID, functionID, encodeError(error)],
        );
        inserted = rows.length > 0;
      } catch (recordError) {
        // Whether the transaction committed (a COMMIT whose reply was lost) is unknown until this is written: the
        // run stops here and resumes from its last checkpoint, where this step asks again.
        ctx.interrupt(new DBOSRunInterruptedError(ctx.workflowID, `the outcome of transaction ${name} (step ${functionID})`, { cause: recordError }));
        ctx.throwIfStopped();
        throw recordError;
      }
      if (!inserted) {
        const done = await this.recordedCompletion(ctx, ctx.workflowID, functionID, name);
        if (done) return this.adopt<T>(executor, ctx, functionID, name, done, startedAtEpochMs);
      }
    }
    const adopted = await checkpoint(executor, ctx, functionID, name, {
      error: serializeError(error).text,
      serialization: NATIVE_SERIALIZATION,
      startedAtEpochMs,
    });
    if (adopted) return replayRecorded<T>(adopted);
    throw error;
  }

  /** The completion row of this step, if a transaction (or a recorded failure) of it committed. */
  private async recordedCompletion(
    ctx: WorkflowContext,
    workflowID: string,
    functionID: number,
    name: string,
  ): Promise<{ output: string | null; error: string | null } | undefined> {
    let rows: Record<string, unknown>[];
    try {
      rows = await this.driver.query(
        `SELECT output, error FROM ${quoteIdent(this.schemaName)}.transaction_completion WHERE workflow_id = $1 AND function_num = $2`,
        [workflowID, functionID],
      );
    } catch (err) {
      ctx.interrupt(new DBOSRunInterruptedError(workflowID, `(could not read) the completion of transaction ${name} (step ${functionID})`, { cause: err }));
      ctx.throwIfStopped();
      throw err;
    }
    const row = rows[0];
    if (!row) return undefined;
    return { output: (row.output as string | null) ?? null, error: (row.error as string | null) ?? null };
  }

  /** Returns (or throws) what a committed completion row holds, and checkpoints it as the step's outcome. */
  private async adopt<T>(
    executor: Executor,
    ctx: WorkflowContext,
    functionID: number,
    name: string,
    done: { output: string | null; error: string | null },
    startedAtEpochMs: number,
  ): Promise<T> {
    if (done.error !== null) {
      const error = decodeError(done.error);
      const adopted = await checkpoint(executor, ctx, functionID, name, {
        error: serializeError(error).text,
        serialization: NATIVE_SERIALIZATION,
        startedAtEpochMs,
      });
      if (adopted) return replayRecorded<T>(adopted);
      throw error;
    }
    const value = (done.output === null ? null : superjson.parse(done.output)) as T;
    const adopted = await checkpoint(executor, ctx, functionID, name, {
      output: serializeValue(value, 'native', `the output of transaction ${name}`).text,
      serialization: NATIVE_SERIALIZATION,
      startedAtEpochMs,
    });
    return adopted ? replayRecorded<T>(adopted) : value;
  }

  /**
   * The step's checkpoint, sent without waiting: the committed completion row already holds the outcome, so the
   * workflow goes on. The run's outcome waits for it (WorkflowContext.pendingWrites); a checkpoint that cannot be
   * written stops the run as a failed checkpoint does (interrupted, or ownership lost).
   */
  private checkpointInBackground(executor: Executor, ctx: WorkflowContext, functionID: number, name: string, value: unknown, startedAtEpochMs: number): void {
    let output: string;
    try {
      output = serializeValue(value, 'native', `the output of transaction ${name}`).text;
    } catch {
      // superjson wrote the completion row; the native format refuses the value: the completion row stays the record.
      output = serializeValue(superjson.parse(superjson.stringify(value)), 'native').text;
    }
    const write: Promise<unknown> = checkpoint(executor, ctx, functionID, name, { output, serialization: NATIVE_SERIALIZATION, startedAtEpochMs })
      .catch((err: unknown) => {
        if (!ctx.stopped) {
          executor.logger.warn(`Workflow ${ctx.workflowID}: the checkpoint of transaction ${name} (step ${functionID}) failed; the run stops:`, err);
          ctx.stop('cancelled');
        }
      })
      .finally(() => ctx.pendingWrites.delete(write));
    ctx.pendingWrites.add(write);
  }

  // ---------------------------------------------------------------------------------------- clean-up

  private readonly usedBy = new WeakSet<WorkflowContext>();

  private noteUse(executor: Executor, ctx: WorkflowContext): void {
    this.executor = executor;
    if (this.usedBy.has(ctx) || this.options.cleanUpOnCompletion === false) return;
    this.usedBy.add(ctx);
    ctx.onOutcomeRecorded.push(() => this.scheduleCleanup(ctx.workflowID));
  }

  private scheduleCleanup(workflowID: string): void {
    this.pendingCleanup.add(workflowID);
    if (this.pendingCleanup.size >= CLEANUP_BATCH) void this.flushCleanup().catch(() => {});
    else if (!this.cleanupTimer) {
      this.cleanupTimer = setTimeout(() => void this.flushCleanup().catch(() => {}), 50);
      this.cleanupTimer.unref();
    }
  }

  /** Deletes the completion rows of workflows whose outcome is recorded, in batches. */
  async flushCleanup(): Promise<void> {
    clearTimeout(this.cleanupTimer);
    this.cleanupTimer = undefined;
    while (this.cleanupRunning) await this.cleanupRunning;
    if (this.pendingCleanup.size === 0) return;
    const ids = [...this.pendingCleanup].slice(0, CLEANUP_BATCH);
    for (const id of ids) this.pendingCleanup.delete(id);
    // A workflow recovered at launch may finish on replayed steps alone, before the data source was opened.
    this.cleanupRunning = this.ready()
      .then(() => this.driver.query(
        `DELETE FROM ${quoteIdent(this.schemaName)}.transaction_completion WHERE workflow_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`,
        ids,
      ))
      .then(
        () => undefined,
        (err) => DBOS.logger.warn(`${this.kind} ${this.name}: could not delete completion rows (retention will):`, err),
      )
      .finally(() => (this.cleanupRunning = undefined));
    await this.cleanupRunning;
    if (this.pendingCleanup.size > 0) await this.flushCleanup();
  }

  /**
   * Retention: completion rows older than `retentionMs` whose step the system database has recorded (the clean-up
   * at completion missed them: a crash, an outage) are deleted. Returns how many.
   */
  async sweep(now = Date.now()): Promise<number> {
    const executor = launchedExecutor() ?? this.executor;
    if (!executor || !this.opened) return 0;
    const cutoff = now - (this.options.retentionMs ?? 3_600_000);
    const rows = await this.driver.query(
      `SELECT workflow_id, function_num FROM ${quoteIdent(this.schemaName)}.transaction_completion WHERE created_at < $1 ORDER BY created_at LIMIT 500`,
      [cutoff],
    );
    let deleted = 0;
    for (const row of rows) {
      const workflowID = String(row.workflow_id);
      const functionID = Number(row.function_num);
      if (!(await getStep(executor.db, workflowID, functionID))) continue;
      await this.driver.query(`DELETE FROM ${quoteIdent(this.schemaName)}.transaction_completion WHERE workflow_id = $1 AND function_num = $2`, [
        workflowID,
        functionID,
      ]);
      deleted++;
    }
    return deleted;
  }
}

function settingsOf(config: TransactionSettings): TransactionSettings {
  const settings: TransactionSettings = {};
  if (config.isolationLevel !== undefined) settings.isolationLevel = config.isolationLevel;
  if (config.readOnly !== undefined) settings.readOnly = config.readOnly;
  return settings;
}

/** DBOS's format for a recorded error: superjson of the error. */
function encodeError(error: unknown): string {
  try {
    return superjson.stringify(error);
  } catch {
    return superjson.stringify(new Error(String((error as Error)?.message ?? error)));
  }
}

function decodeError(text: string): Error {
  const value = superjson.parse<unknown>(text);
  return value instanceof Error ? value : new DBOSError(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The SQL for the BEGIN of a transaction with these settings. */
export function beginStatement(settings: TransactionSettings): string {
  let text = 'BEGIN';
  if (settings.isolationLevel) text += ` ISOLATION LEVEL ${checkIsolation(settings.isolationLevel)}`;
  if (settings.readOnly !== undefined) text += settings.readOnly ? ' READ ONLY' : ' READ WRITE';
  return text;
}

const ISOLATION_LEVELS = new Set<string>(Object.values(PGIsolationLevel));

export function checkIsolation(level: string): PGIsolationLevel {
  const upper = level.toUpperCase();
  if (!ISOLATION_LEVELS.has(upper)) throw new DBOSError(`Unknown isolation level ${JSON.stringify(level)}`);
  return upper as PGIsolationLevel;
}
