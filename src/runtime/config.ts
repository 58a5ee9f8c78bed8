// Configuration: DBOS's DBOSConfig fields that Transact honours, plus the embedded database's settings, and how the
// process's identity (executor ID, application version) is worked out (dbos-spec §1.1, §3.5).

import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { DBOSInitializationError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { checkKey } from '../validation.js';
import type { DatabaseLocation } from '../sysdb/open.js';
import type { RegisteredWorkflow } from './registry.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from '../logger.js';

export interface DBOSConfig {
  /** The application's name; recorded on every row it creates and used to scope recovery and queues. */
  name?: string;
  /**
   * `postgres://…` for PostgreSQL; `sqlite:<path>` for the embedded database. Unset (and no
   * `DBOS_SYSTEM_DATABASE_URL`): the embedded database in `.transact/<name>.sqlite` under the working directory.
   */
  systemDatabaseUrl?: string;
  systemDatabasePoolSize?: number;
  systemDatabaseSchemaName?: string;
  runMigrations?: boolean;
  useListenNotify?: boolean;
  applicationVersion?: string;
  executorID?: string;
  /**
   * Allows DBOS.patch / DBOS.deprecatePatch. Changed code then replays old executions through its patches instead of
   * being a new version, so without an explicit applicationVersion the version is `PATCHING_ENABLED` (not a hash).
   */
  enablePatching?: boolean;
  /** debug, info (default), warn, error or silent; DBOS types it as any string, and an unknown level is `info`. */
  logLevel?: LogLevel | (string & {});
  logger?: Logger;
  /**
   * Transact: `json` writes one JSON object per line (time, level, message, the workflow ID, name, executor and step
   * when logged inside a workflow, and an error's name, code, stack and causes); `text` (default) plain lines. The
   * environment variable TRANSACT_LOG_FORMAT sets it when this is unset. Ignored when `logger` is given.
   */
  logFormat?: LogFormat;
  /** Embedded database only: FULL (default) survives power loss; NORMAL survives process crashes and is faster. */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** How often waits without a notification re-check the database (ms). */
  pollingIntervalMs?: number;
  /** How long a statement is retried while the database is unreachable before the operation fails (ms). */
  databaseRetryTimeoutMs?: number;
  /** Dispatch only these queues in this process (the internal queue is always served); every queue when unset. */
  listenQueues?: string[];
  /**
   * An executor whose heartbeat is older than this (ms, default 30000) is presumed dead, and a live executor of the
   * same application version takes its unfinished workflows back to their queues. Heartbeats come every lease/3.
   */
  executorLeaseMs?: number;
  /**
   * PostgreSQL: the server ends a session left idle inside a transaction this long (ms, default 60000), releasing
   * its locks (a paused process cannot hold a queue's claim lock forever). 0 or less leaves the server's setting.
   */
  systemDatabaseIdleTransactionTimeoutMs?: number;
  /**
   * How often each process re-reads the schedules table (ms) after its first minute, when every second; a schedule
   * changed through this library is also announced at once (PostgreSQL). Default 30000 (5000 on SQLite).
   */
  schedulerPollingIntervalMs?: number;
  /** One OpenTelemetry span per workflow and step (needs `@opentelemetry/api` and a tracer provider of the app's). */
  tracingEnabled?: boolean;
  /** DBOS's name for turning tracing on along with its OTLP export; Transact leaves the exporter to the app. */
  enableOTLP?: boolean;
  /** Span attribute names: DBOS's legacy ones (`operationUUID`, …, default) or `dbos.*` semantic conventions. */
  otelAttributeFormat?: 'legacy' | 'semconv';
  /**
   * `runAdminServer: true` serves this process's health and metrics over HTTP on `adminPort` (default 3001):
   * `/healthz`, `/readyz`, `/metrics` (Prometheus text) and DBOS's `/dbos-healthz`. Off unless set to true.
   */
  adminPort?: number;
  runAdminServer?: boolean;
  /** The address the admin server binds (default 0.0.0.0, so an orchestrator's probes reach it). */
  adminHost?: string;
  /**
   * Background retention (src/ops/retention.ts): finished workflows older than `maxAgeMs`, or beyond the newest
   * `maxWorkflows`, are deleted with everything they own, by one executor at a time, in small batches, every
   * `intervalMs` (default 300000). `globalTimeoutMs` cancels PENDING, ENQUEUED and DELAYED workflows created longer
   * ago than that (DBOS's global timeout). Off when unset.
   */
  retention?: RetentionConfig;
  /** Alerts Transact raises beyond its built-in ones (see DBOS.setAlertHandler). */
  alerts?: AlertsConfig;

  // DBOS 5.x settings that Transact accepts so that DBOS configurations compile, and ignores (it has no such knob):
  /** DBOS caps concurrent polling reads; Transact's waits share notifications and need no cap. Ignored. */
  systemDatabasePollingConcurrency?: number;
  /** DBOS tunes its queue dispatch parallelism; Transact's dispatcher is organised differently. Ignored. */
  maxConcurrentQueueDispatches?: number;
  /** DBOS coalesces notifications on a timer; Transact coalesces per wake-up. Ignored. */
  notificationCoalesceMs?: number;
  /** DBOS's statement timeout for observability queries. Ignored. */
  observabilityQueryTimeoutMs?: number;
  /** DBOS's contextual log metadata. Ignored. */
  addContextMetadata?: boolean;
  /** DBOS exports spans and logs to these OTLP endpoints; Transact leaves exporting to the app's tracer provider. Ignored. */
  otlpTracesEndpoints?: string[];
  otlpLogsEndpoints?: string[];
  // DBOS 5.x settings Transact cannot honour and refuses at launch rather than ignore (data would not be what the
  // application expects): a pool of the application's own (give systemDatabaseUrl), a custom serializer.
  /** Not supported: launch fails. Give `systemDatabaseUrl`; Transact opens its own connections. */
  systemDatabasePool?: object;
  /** Not supported: launch fails. Use DBOS.registerSerialization for types of your own. */
  serializer?: { name: () => string; stringify(value: unknown): string | Promise<string>; parse(text: string | null | undefined): unknown };
}

export interface RetentionConfig {
  /** Delete finished workflows created (and last updated) longer ago than this (ms). */
  maxAgeMs?: number;
  /** Keep at most this many of the newest workflows of the application: finished ones beyond them are deleted. */
  maxWorkflows?: number;
  /** Cancel PENDING, ENQUEUED and DELAYED workflows created longer ago than this (ms): DBOS's global timeout. */
  globalTimeoutMs?: number;
  /** How often a pass runs (ms, default 300000); the first runs a few seconds after launch. */
  intervalMs?: number;
  /** Rows per batch (default 500). */
  batchSize?: number;
}

export interface AlertsConfig {
  /** Raise QueueWaitExceeded when a queue's oldest waiting workflow has waited longer than this (ms). Off when unset. */
  queueWaitThresholdMs?: number;
  /** How often the queues are checked (ms, default 60000; one executor at a time). */
  checkIntervalMs?: number;
}

/**
 * Every key of DBOSConfig, so that a configuration written in plain JavaScript (which the compiler did not check)
 * can be told about keys that mean nothing here (a typo, or a setting of another library).
 */
export const DBOS_CONFIG_KEYS = [
  'name',
  'systemDatabaseUrl',
  'systemDatabasePoolSize',
  'systemDatabaseSchemaName',
  'runMigrations',
  'useListenNotify',
  'applicationVersion',
  'executorID',
  'enablePatching',
  'logLevel',
  'logger',
  'logFormat',
  'sqliteSynchronous',
  'pollingIntervalMs',
  'databaseRetryTimeoutMs',
  'listenQueues',
  'executorLeaseMs',
  'systemDatabaseIdleTransactionTimeoutMs',
  'schedulerPollingIntervalMs',
  'tracingEnabled',
  'enableOTLP',
  'otelAttributeFormat',
  'adminPort',
  'runAdminServer',
  'adminHost',
  'retention',
  'alerts',
  'systemDatabasePollingConcurrency',
  'maxConcurrentQueueDispatches',
  'notificationCoalesceMs',
  'observabilityQueryTimeoutMs',
  'addContextMetadata',
  'otlpTracesEndpoints',
  'otlpLogsEndpoints',
  'systemDatabasePool',
  'serializer',
] as const satisfies readonly (keyof DBOSConfig)[];

// A key added to DBOSConfig but not to the list above fails to compile here.
type UnlistedConfigKey = Exclude<keyof DBOSConfig, (typeof DBOS_CONFIG_KEYS)[number]>;
const everyConfigKeyListed: [UnlistedConfigKey] extends [never] ? true : UnlistedConfigKey = true;
void everyConfigKeyListed;

/** The log level a configuration asks for; DBOS types it as a string, so an unknown one falls back to `info`. */
export function logLevelOf(config: DBOSConfig): LogLevel {
  const level = config.logLevel;
  return level !== undefined && LOG_LEVELS.includes(level as LogLevel) ? (level as LogLevel) : 'info';
}

/** The log format a configuration (or TRANSACT_LOG_FORMAT) asks for; anything else is refused, naming the choices. */
export function logFormatOf(config: DBOSConfig): LogFormat {
  const format = config.logFormat ?? process.env.TRANSACT_LOG_FORMAT;
  if (format === undefined || format === '') return 'text';
  if (!LOG_FORMATS.includes(format as LogFormat)) {
    const from = config.logFormat !== undefined ? 'logFormat' : 'TRANSACT_LOG_FORMAT';
    throw new DBOSInitializationError(`${from} ${JSON.stringify(format)} is not a log format: use ${LOG_FORMATS.map((f) => `'${f}'`).join(' or ')}`);
  }
  return format as LogFormat;
}

export function systemDatabaseLocation(config: DBOSConfig, appName: string): DatabaseLocation {
  const url = config.systemDatabaseUrl ?? process.env.DBOS_SYSTEM_DATABASE_URL;
  if (!url) return { kind: 'sqlite', file: resolve('.transact', `${appName}.sqlite`) };
  if (/^postgres(ql)?:\/\//.test(url)) {
    if (!URL.canParse(url)) {
      throw new DBOSInitializationError(
        `systemDatabaseUrl ${JSON.stringify(redactUrl(url))} is not a valid URL: use postgres://user:password@host:port/database (percent-encode special characters)`,
      );
    }
    return { kind: 'postgres', url, schema: config.systemDatabaseSchemaName ?? 'dbos' };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    return { kind: 'sqlite', file: path === ':memory:' ? path : resolve(path) };
  }
  throw new DBOSInitializationError(
    `Unsupported systemDatabaseUrl ${JSON.stringify(redactUrl(url))}: use postgres://user@host:port/database or sqlite:<file>`,
  );
}

export function applicationNameOf(config: DBOSConfig): string {
  const name = config.name ?? process.env.DBOS_APP_NAME;
  if (!name) {
    throw new DBOSInitializationError('DBOS.setConfig({ name }) is required before DBOS.launch(): the application needs a name');
  }
  return checkKey('applicationName', name); // recorded on every row, and indexed with the queues' rows
}

/**
 * This process's executor ID when none is configured. DBOS uses `local` for every process, so two processes started
 * with default settings each recover the other's live work at launch and run its steps again; here each process gets
 * its own, and the work of a dead predecessor is taken over through its heartbeat (at once when its process is gone
 * from this host, otherwise when its lease lapses: src/queues/heartbeat.ts).
 */
const DEFAULT_EXECUTOR_ID = `local-${process.pid}-${randomBytes(3).toString('hex')}`;

export function executorIDOf(config: DBOSConfig): string {
  return process.env.DBOS__VMID || config.executorID || DEFAULT_EXECUTOR_ID;
}

/** The version every process with patching enabled shares, whatever its code (an explicit version still wins). */
export const PATCHING_ENABLED_VERSION = 'PATCHING_ENABLED';

/**
 * Without an explicit version, the version is a hash of the registered workflows' source, so a changed workflow is a
 * new version and its old runs are not replayed by new code. With patching enabled, replaying old runs with new code
 * is the point (its patches keep them deterministic), so every build shares one version.
 */
export function applicationVersionOf(config: DBOSConfig, appName: string, workflows: RegisteredWorkflow[]): string {
  const explicit = config.applicationVersion ?? process.env.DBOS__APPVERSION;
  if (explicit) return checkKey('applicationVersion', explicit);
  if (config.enablePatching) return PATCHING_ENABLED_VERSION;
  const hash = createHash('md5');
  for (const source of workflows.map((w) => w.fn.toString()).sort()) hash.update(source);
  hash.update('transact');
  hash.update(appName);
  return hash.digest('hex');
}
