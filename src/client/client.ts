// DBOSClient: a process that runs no workflows (a script, a web server, an operator tool) reads and drives the
// workflows of an application through its system database.

import {
  cancelWorkflows,
  deleteWorkflows,
  forkWorkflow,
  latestApplicationVersion,
  listApplicationVersions,
  resumeWorkflows,
  rewindWorkflow,
  setLatestApplicationVersion,
  setWorkflowDelay,
  setWorkflowPriority,
  type ForkOptions,
  type RewindOptions,
  type VersionInfo,
  type WorkflowDelay,
} from '../management/control.js';
import { enqueueByNameRow, type ClientEnqueueOptions } from '../runtime/enqueue.js';
import { exportHistory, type WorkflowHistory } from '../management/history.js';
import { renameApplication, type ApplicationRowCounts, type RenameApplicationOptions } from '../management/applications.js';
import {
  garbageCollect,
  globalTimeout,
  type GarbageCollectOptions,
  type GarbageCollectResult,
  type GlobalTimeoutOptions,
  type GlobalTimeoutResult,
} from '../management/retention.js';
import { ping } from '../sysdb/health.js';
import { debounceWorkflow, enqueueDebounced, type DebounceRequest } from '../queues/debounce.js';
import {
  countWorkflowStatuses,
  getWorkflowStatus,
  listWorkflowStatuses,
  listWorkflowSteps,
  type GetWorkflowsInput,
  type ListWorkflowStepsOptions,
  type StepInfo,
} from '../management/inspect.js';
import { getEventValue } from '../messaging/events.js';
import { sendMessage } from '../messaging/messages.js';
import type { GetEventOptions, ReadStreamOffsetOptions, ReadStreamOptions, SendOptions } from '../messaging/options.js';
import { readStreamOffset, readStreamValues } from '../messaging/streams.js';
import type { MessagingEnv } from '../messaging/wakeups.js';
import { systemDatabaseLocation } from '../runtime/config.js';
import type { WorkflowHandle } from '../runtime/handle.js';
import { awaitFinished, awaitOutcome, settleOutcome } from '../runtime/outcome.js';
import { Wakeups } from '../runtime/wakeups.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { deserializeArgs } from '../serialization/index.js';
import { decodeStored } from '../runtime/corruption.js';
import { checkOptionalKey, checkText } from '../validation.js';
import type pg from 'pg';
import type { PgClient } from './pg-client.js';
import { DBOSError, DBOSInvalidWorkflowInputError } from '../errors.js';
import { QueueAdmin } from '../queues/admin.js';
import type { RegisterQueueOptions, WorkflowQueue } from '../queues/workflow-queue.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { PostgresDriver } from '../sysdb/postgres-driver.js';
import { openSystemDatabase } from '../sysdb/open.js';
import { getWorkflow } from '../sysdb/workflows.js';
import { listExecutors, queueActivity, workflowFacets, type ExecutorInfo, type QueueActivity, type WorkflowFacets } from '../sysdb/activity.js';
import * as schedules from '../scheduler/schedules.js';
import type { ListSchedulesFilters, ScheduleEnv, ScheduleOptions, ScheduleUpdate, WorkflowSchedule } from '../scheduler/schedules.js';

/** A schedule of workflow `workflowName` (DBOSClient.createSchedule, applySchedules). */
export interface ClientScheduleDefinition {
  scheduleName: string;
  workflowName: string;
  workflowClassName?: string;
  schedule: string;
  context?: unknown;
  /** The owner, which runs its workflows; default: the client's applicationName; neither: every application. */
  applicationName?: string;
}

export interface DBOSClientConfig {
  systemDatabaseUrl: string;
  systemDatabaseSchemaName?: string;
  systemDatabasePoolSize?: number;
  /** Rows of other applications are left out of listings when set. */
  applicationName?: string;
  /** How often a waiting getResult re-reads the database (the client does not LISTEN). */
  pollingIntervalMs?: number;
  /** create() gives up after this long (ms, default 5000) when the database cannot be reached, with the reason. */
  connectTimeoutMs?: number;
  /** How long a later call keeps retrying while the database is unreachable before it fails (ms, default 120000). */
  databaseRetryTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export class DBOSClient {
  // The client has no notification connection (as in DBOS): its waits poll.
  private readonly wakeups = new Wakeups();

  private readonly queues: QueueAdmin;

  private constructor(
    private readonly db: SqlDriver,
    private readonly config: DBOSClientConfig,
  ) {
    this.queues = new QueueAdmin(db, config.applicationName ?? null);
  }

  /** The application this client acts for; undefined if it writes unclaimed rows. */
  get applicationName(): string | undefined {
    return this.config.applicationName;
  }

  static async create(config: DBOSClientConfig): Promise<DBOSClient> {
    checkOptionalKey('applicationName', config.applicationName);
    const location = systemDatabaseLocation(
      { systemDatabaseUrl: config.systemDatabaseUrl, systemDatabaseSchemaName: config.systemDatabaseSchemaName },
      'client',
    );
    const db = await openSystemDatabase(location, {
      migrate: false,
      poolSize: config.systemDatabasePoolSize ?? 4,
      createDatabase: false,
      connectTimeoutMs: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      retryTimeoutMs: config.databaseRetryTimeoutMs,
    });
    return new DBOSClient(db, config);
  }

  retrieveWorkflow<T = unknown>(workflowID: string): WorkflowHandle<T> {
    const client = this;
    return {
      workflowID,
      getStatus: () => getWorkflowStatus(client.db, workflowID),
      async getResult(options: { pollingIntervalMs?: number } = {}): Promise<T> {
        const outcome = await awaitOutcome(client.db, client.wakeups, workflowID, {
          pollIntervalMs: options.pollingIntervalMs ?? client.config.pollingIntervalMs ?? 1000,
        });
        return settleOutcome<T>(workflowID, outcome!);
      },
      async getWorkflowInputs<A extends unknown[]>(): Promise<A> {
        checkText('workflowID', workflowID);
        const row = await getWorkflow(client.db, workflowID);
        return (row ? decodeStored(workflowID, 'workflow_input.inputs', () => deserializeArgs(row.inputs, row.serialization)) : []) as A;
      },
    };
  }

  getWorkflow(workflowID: string): Promise<WorkflowStatus | undefined> {
    return getWorkflowStatus(this.db, workflowID).then((s) => s ?? undefined);
  }

  listWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    return listWorkflowStatuses(this.db, input, this.config.applicationName);
  }

  /** How many workflows match the filter (its limit and offset aside): the total of a paged listing. */
  countWorkflows(input: GetWorkflowsInput = {}): Promise<number> {
    return countWorkflowStatuses(this.db, input, this.config.applicationName);
  }

  /** The executors with a heartbeat row (of the client's application, or every one), with how long each is silent. */
  listExecutors(): Promise<ExecutorInfo[]> {
    return listExecutors(this.db, this.config.applicationName ?? null);
  }

  /** Queues holding active work: how many wait, are delayed, run, and when the oldest waiting one was created. */
  listQueueActivity(): Promise<QueueActivity[]> {
    return queueActivity(this.db, this.config.applicationName ?? null);
  }

  /** Distinct workflow names, queues, versions and executors found in the workflows (for filter suggestions). */
  workflowFacets(): Promise<WorkflowFacets> {
    return workflowFacets(this.db, this.config.applicationName ?? null);
  }

  listQueuedWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    const queued = { ...input, queuesOnly: true, status: input.status ?? ['ENQUEUED', 'PENDING', 'DELAYED'], loadOutput: false };
    return listWorkflowStatuses(this.db, queued, this.config.applicationName);
  }

  listWorkflowSteps(workflowID: string, options: ListWorkflowStepsOptions = {}): Promise<StepInfo[] | undefined> {
    return listWorkflowSteps(this.db, workflowID, options);
  }

  /**
   * The workflow's recorded execution as a JSON document (its input, outcome and every step, values as stored), for
   * `replayTest` of transact/testing; undefined when there is no such workflow.
   */
  exportWorkflowHistory(workflowID: string): Promise<WorkflowHistory | undefined> {
    return exportHistory(this.db, workflowID);
  }

  /** The first of these workflows to finish (leave PENDING, ENQUEUED and DELAYED). */
  async waitFirst(handles: WorkflowHandle<unknown>[], options: { pollingIntervalMs?: number } = {}): Promise<WorkflowHandle<unknown>> {
    if (handles.length === 0) throw new DBOSInvalidWorkflowInputError('waitFirst needs at least one workflow handle');
    const first = await awaitFinished(this.db, this.wakeups, handles.map((h) => h.workflowID), false, this.pollWait(options));
    return handles.find((h) => h.workflowID === first)!;
  }

  /** Waits until every one of these workflows has finished; returns the handles, in order. */
  async waitAll<R>(handles: WorkflowHandle<R>[], options: { pollingIntervalMs?: number } = {}): Promise<WorkflowHandle<R>[]> {
    if (handles.length > 0) await awaitFinished(this.db, this.wakeups, handles.map((h) => h.workflowID), true, this.pollWait(options));
    return handles;
  }

  private pollWait(options: { pollingIntervalMs?: number }): { pollIntervalMs: number } {
    return { pollIntervalMs: options.pollingIntervalMs ?? this.config.pollingIntervalMs ?? 1000 };
  }

  // ----------------------------------------------------------------------------------------- queues

  /**
   * Stores a queue for the application's processes to serve (they pick it up within a second). Unlike
   * DBOS.registerQueue, an existing row is overwritten by default (`onConflict: 'always_update'`): a client is an
   * operator's tool, not one of several versions in a rolling deploy.
   */
  registerQueue(name: string, options: RegisterQueueOptions & { applicationName?: string } = {}): Promise<WorkflowQueue> {
    return this.queues.register(name, options);
  }

  /** A registered queue, or null if no row of that name exists. */
  retrieveQueue(name: string): Promise<WorkflowQueue | null> {
    return this.queues.retrieve(name);
  }

  /** Deletes a registered queue; workflows still waiting on it stay ENQUEUED until it is registered again. */
  deleteQueue(name: string): Promise<void> {
    return this.queues.delete(name);
  }

  /** Registered queues of these applications (default: the client's, or every one if it has none) and unclaimed ones. */
  listQueues(applicationName?: string | string[]): Promise<WorkflowQueue[]> {
    return this.queues.list(applicationName);
  }

  /** A row a client enqueues belongs to the client's application (if it has one) unless the options say otherwise. */
  private owned(options: ClientEnqueueOptions): ClientEnqueueOptions {
    return options.applicationName !== undefined || this.config.applicationName === undefined
      ? options
      : { ...options, applicationName: this.config.applicationName };
  }

  /** Enqueues a workflow of the application by name; the application's dispatchers run it. */
  async enqueue<T = unknown>(options: ClientEnqueueOptions, ...args: unknown[]): Promise<WorkflowHandle<T>> {
    return this.retrieveWorkflow<T>(await enqueueByNameRow(this.db, this.owned(options), args));
  }

  /** Enqueues with portable (cross-language) arguments: `{"positionalArgs": [...]}`. */
  async enqueuePortable<T = unknown>(
    options: ClientEnqueueOptions,
    positionalArgs: unknown[],
    namedArgs?: Record<string, unknown>,
  ): Promise<WorkflowHandle<T>> {
    const portable = { ...this.owned(options), serializationType: 'portable' as const };
    return this.retrieveWorkflow<T>(await enqueueByNameRow(this.db, portable, portableArgs(positionalArgs, namedArgs)));
  }

  /** enqueuePortable inside a transaction the caller holds (see enqueueInTransaction). PostgreSQL only. */
  async enqueuePortableInTransaction<T = unknown>(
    pgClient: PgClient,
    options: ClientEnqueueOptions,
    positionalArgs: unknown[],
    namedArgs?: Record<string, unknown>,
  ): Promise<WorkflowHandle<T>> {
    const portable = { ...this.owned(options), serializationType: 'portable' as const };
    const db = this.callerTransaction(pgClient);
    return this.retrieveWorkflow<T>(await enqueueByNameRow(db, portable, portableArgs(positionalArgs, namedArgs)));
  }

  /**
   * Enqueues a debounced workflow, DELAYED by `options.delaySeconds` and holding `options.deduplicationID` (the
   * debounce key's), whose start later debounce calls may push back until `debounceDeadlineEpochMS`; DBOS's
   * DebouncerClient is written against it. Returns the workflow ID (see src/queues/debounce.ts).
   */
  enqueueDebounced(options: ClientEnqueueOptions, debounceDeadlineEpochMS: number | undefined, args: unknown[]): Promise<string> {
    return enqueueDebounced(this.db, this.owned(options), debounceDeadlineEpochMS, args);
  }

  /** For DebouncerClient: one debounce call on this client's database. Not part of the public API. @internal */
  async debounceWorkflow(request: DebounceRequest): Promise<WorkflowHandle<unknown>> {
    const result = await debounceWorkflow(this.db, request);
    if (!('workflowID' in result)) throw new DBOSError('A client debounce is not a workflow step'); // no step, never fenced
    return this.retrieveWorkflow(result.workflowID);
  }

  /**
   * Enqueues inside a transaction the caller holds on its own `pg` connection to the same database: the workflow
   * exists exactly when the caller's transaction commits. PostgreSQL only.
   */
  async enqueueInTransaction<T = unknown>(pgClient: PgClient, options: ClientEnqueueOptions, ...args: unknown[]): Promise<WorkflowHandle<T>> {
    return this.retrieveWorkflow<T>(await enqueueByNameRow(this.callerTransaction(pgClient), this.owned(options), args));
  }

  /** Sends inside a transaction the caller holds (see enqueueInTransaction). PostgreSQL only. */
  async sendInTransaction<T>(
    pgClient: PgClient,
    destinationID: string,
    message: T,
    topic?: string,
    idempotencyKey?: string,
    options?: SendOptions,
  ): Promise<void> {
    await sendMessage({ ...this.messaging, db: this.callerTransaction(pgClient) }, destinationID, message, topic, idempotencyKey, options);
  }

  private callerTransaction(pgClient: PgClient): SqlDriver {
    if (!(this.db instanceof PostgresDriver)) throw new DBOSError('…InTransaction methods need a PostgreSQL system database');
    return this.db.inCallerTransaction(pgClient as pg.ClientBase);
  }

  async cancelWorkflow(workflowID: string, options: { cancelChildren?: boolean } = {}): Promise<void> {
    await cancelWorkflows(this.db, [workflowID], options);
  }

  async cancelWorkflows(workflowIDs: string[], options: { cancelChildren?: boolean } = {}): Promise<void> {
    await cancelWorkflows(this.db, workflowIDs, options);
  }

  async resumeWorkflow(workflowID: string, options: { queueName?: string } = {}): Promise<void> {
    await resumeWorkflows(this.db, [workflowID], options);
  }

  async resumeWorkflows(workflowIDs: string[], options: { queueName?: string } = {}): Promise<void> {
    await resumeWorkflows(this.db, workflowIDs, options);
  }

  /** Returns the new workflow's ID. */
  forkWorkflow(workflowID: string, startStep: number, options: ForkOptions = {}): Promise<string> {
    return forkWorkflow(this.db, workflowID, startStep, options);
  }

  /** Runs a finished workflow again under its own ID from `startStep` (default 0). Returns that ID, as fork does. */
  rewindWorkflow(workflowID: string, options: RewindOptions = {}): Promise<string> {
    return rewindWorkflow(this.db, workflowID, options);
  }

  async deleteWorkflow(workflowID: string, deleteChildren = false): Promise<void> {
    await deleteWorkflows(this.db, [workflowID], { deleteChildren });
  }

  async deleteWorkflows(workflowIDs: string[], deleteChildren = false): Promise<void> {
    await deleteWorkflows(this.db, workflowIDs, { deleteChildren });
  }

  /** Changes the priority of an ENQUEUED or DELAYED workflow (lower runs first). */
  setWorkflowPriority(workflowID: string, priority: number): Promise<void> {
    return setWorkflowPriority(this.db, workflowID, priority);
  }

  /** Moves the start of a DELAYED workflow: seconds from now, or `{ delaySeconds }` or `{ delayUntilEpochMS }`. */
  async setWorkflowDelay(workflowID: string, delay: WorkflowDelay): Promise<void> {
    await setWorkflowDelay(this.db, workflowID, delay);
  }

  /** Versions of the client's application and unclaimed ones (every version when the client names none), latest first. */
  listApplicationVersions(): Promise<VersionInfo[]> {
    return listApplicationVersions(this.db, this.config.applicationName ?? null);
  }

  async getLatestApplicationVersion(): Promise<VersionInfo | null> {
    return (await latestApplicationVersion(this.db, this.config.applicationName ?? null)) ?? null;
  }

  /** Makes a known version the latest (its timestamp becomes now). */
  setLatestApplicationVersion(versionName: string): Promise<void> {
    return setLatestApplicationVersion(this.db, versionName, this.config.applicationName ?? null);
  }

  /**
   * Gives application `newName` the rows `oldName` owns (its queues, schedules, versions, workflows and steps), and
   * with `adoptUnclaimedRows` the rows no application owns; `oldName` undefined moves only those. Stop the application
   * being renamed first. Active workflows move with the queues, schedules and versions in one transaction; the other
   * workflows and the steps in batches of `batchSize` (default 10,000; null: everything in one transaction).
   * Returns the rows moved, by table.
   */
  renameApplication(oldName: string | undefined, newName: string, options: RenameApplicationOptions = {}): Promise<ApplicationRowCounts> {
    return renameApplication(this.db, oldName, newName, options);
  }

  // ----------------------------------------------------------------------------------------- messages, events, streams

  /** What the messaging functions need; every wait polls at the client's interval. */
  private get messaging(): MessagingEnv {
    const pollMs = this.config.pollingIntervalMs ?? 1000;
    return { db: this.db, wakeups: this.wakeups, messagePollMs: pollMs, streamPollMs: pollMs };
  }

  /** Sends `message` to workflow `destinationID`; with an idempotency key it is delivered once. */
  send<T>(destinationID: string, message: T, topic?: string, idempotencyKey?: string, options?: SendOptions): Promise<void> {
    return sendMessage(this.messaging, destinationID, message, topic, idempotencyKey, options);
  }

  /** The value of workflow `workflowID`'s event `key`, waiting for it to be set; null at the timeout (default 60 s). */
  getEvent<T>(workflowID: string, key: string, options?: number | GetEventOptions): Promise<T | null> {
    return getEventValue<T>(this.messaging, workflowID, key, options);
  }

  /** The values of workflow `workflowID`'s stream `key`, in order, until it is closed or the workflow is done. */
  readStream<T>(workflowID: string, key: string, options?: ReadStreamOptions): AsyncGenerator<T, void, unknown> {
    return readStreamValues<T>(this.messaging, workflowID, key, options);
  }

  /** The value at `offset` of a stream, waiting for it; DBOSStreamTimeoutError if it never comes. */
  readStreamOffset<T>(workflowID: string, key: string, offset: number, options?: ReadStreamOffsetOptions): Promise<T> {
    return readStreamOffset<T>(this.messaging, workflowID, key, offset, options);
  }

  // ----------------------------------------------------------------------------------------- schedules

  /** Schedule operations act for the client's application (or every application when it has none). */
  private get scheduleEnv(): ScheduleEnv {
    const db = this.db;
    return {
      db,
      applicationName: this.config.applicationName ?? null,
      enqueue: (s) =>
        enqueueByNameRow(
          db,
          {
            queueName: s.queueName,
            workflowName: s.workflowName,
            workflowClassName: s.workflowClassName,
            workflowID: s.workflowID,
            applicationName: this.config.applicationName,
          },
          s.args,
          s.scheduleName,
        ),
    };
  }

  private scheduleRecord(d: ClientScheduleDefinition & { options?: ScheduleOptions }) {
    if (!d.workflowName) throw new DBOSError('A schedule needs the workflowName of the workflow it runs');
    return schedules.scheduleRecordOf({
      ...d,
      workflowClassName: d.workflowClassName ?? '',
      applicationName: d.applicationName ?? this.config.applicationName ?? null,
    });
  }

  /** Stores a schedule; the application's processes pick it up and run `workflowName(tick, context)` at each tick. */
  async createSchedule(definition: ClientScheduleDefinition & { options?: ScheduleOptions }): Promise<void> {
    await schedules.createSchedule(this.scheduleEnv, this.scheduleRecord(definition));
  }

  /** Creates or redefines these schedules, all or nothing. */
  async applySchedules(definitions: (ClientScheduleDefinition & ScheduleOptions)[]): Promise<void> {
    await schedules.applySchedules(this.scheduleEnv, definitions.map((d) => this.scheduleRecord({ ...d, options: d })));
  }

  listSchedules(filters: ListSchedulesFilters = {}): Promise<WorkflowSchedule[]> {
    return schedules.listSchedules(this.scheduleEnv, filters);
  }

  getSchedule(name: string): Promise<WorkflowSchedule | null> {
    return schedules.getSchedule(this.scheduleEnv, name);
  }

  deleteSchedule(name: string): Promise<void> {
    return schedules.deleteSchedule(this.scheduleEnv, name);
  }

  pauseSchedule(name: string): Promise<void> {
    return schedules.setStatus(this.scheduleEnv, name, 'PAUSED');
  }

  resumeSchedule(name: string): Promise<void> {
    return schedules.setStatus(this.scheduleEnv, name, 'ACTIVE');
  }

  updateSchedule(name: string, updates: ScheduleUpdate): Promise<void> {
    return schedules.updateSchedule(this.scheduleEnv, name, updates);
  }

  async triggerSchedule(name: string): Promise<WorkflowHandle<unknown>> {
    return this.retrieveWorkflow(await schedules.triggerSchedule(this.scheduleEnv, name));
  }

  async backfillSchedule(name: string, start: Date, end: Date): Promise<WorkflowHandle<unknown>[]> {
    const ids = await schedules.backfillSchedule(this.scheduleEnv, name, start, end);
    return ids.map((id) => this.retrieveWorkflow(id));
  }

  /**
   * Deletes finished workflows past a limit (`olderThanMs`, `cutoffEpochMs` or `maxWorkflows`) with everything they
   * own, in batches, under the retention lease (nothing is done, and `skipped` says who holds it, while another
   * collector runs). Never an active workflow, nor a child whose parent still runs. Scoped to the client's
   * applicationName (and unclaimed rows) when it has one. `dryRun` only counts.
   */
  garbageCollect(
    options: Pick<GarbageCollectOptions, 'olderThanMs' | 'cutoffEpochMs' | 'maxWorkflows' | 'batchSize' | 'dryRun' | 'pauseBetweenBatches'>,
  ): Promise<GarbageCollectResult> {
    return garbageCollect(this.db, { ...options, applicationName: this.config.applicationName ?? null });
  }

  /** DBOS's global timeout: cancels every PENDING, ENQUEUED or DELAYED workflow created before the cutoff. */
  globalTimeout(options: Pick<GlobalTimeoutOptions, 'olderThanMs' | 'cutoffEpochMs' | 'batchSize' | 'dryRun'>): Promise<GlobalTimeoutResult> {
    return globalTimeout(this.db, { ...options, applicationName: this.config.applicationName ?? null });
  }

  /** Resolves when the system database answers one statement now; rejects with the reason otherwise (readiness). */
  async checkDatabase(): Promise<void> {
    await ping(this.db);
  }

  async destroy(): Promise<void> {
    await this.db.close();
  }
}

/** DBOS's portable arguments: named arguments travel as a last positional object. */
function portableArgs(positionalArgs: unknown[], namedArgs?: Record<string, unknown>): unknown[] {
  return namedArgs && Object.keys(namedArgs).length > 0 ? [...positionalArgs, namedArgs] : positionalArgs;
}
