// Plain-text tables for the command line.

import type { StepInfo } from '../management/inspect.js';
import type { VersionInfo } from '../management/control.js';
import type { QueueRateLimit, WorkflowQueue } from '../queues/workflow-queue.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import type { ExecutorInfo, QueueActivity } from '../sysdb/activity.js';
import { safeJson, safeText } from '../admin/operations.js';

function table(header: string[], rows: string[][]): string {
  // Stored text (IDs, names, errors) is printed with its control characters escaped: no terminal escape sequence
  // in a row reaches the operator's terminal.
  rows = rows.map((r) => r.map((cell) => safeText(cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A time as `YYYY-MM-DD hh:mm:ssZ` (UTC, said so); one a Date cannot hold (a corrupt row) is shown as the number stored. */
export const time = (ms: number | string | undefined | null) => {
  if (ms === undefined || ms === null) return '';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `(invalid: ${ms})` : `${date.toISOString().replace('T', ' ').slice(0, 19)}Z`;
};

/** A duration in the largest units that keep it short. */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '';
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} m`;
  return `${Math.floor(s / 86_400)} d ${Math.floor(s / 3600) % 24} h`;
}

const FINISHED_STATUSES = ['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

function brief(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'object' && typeof (value as Error).message === 'string' && typeof (value as Error).name === 'string') {
    return `${(value as Error).name}: ${(value as Error).message}`;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function formatWorkflows(rows: WorkflowStatus[]): string {
  if (rows.length === 0) return '(no workflows)';
  return table(
    ['WORKFLOW ID', 'NAME', 'STATUS', 'QUEUE', 'CREATED (UTC)', 'DURATION', 'EXECUTOR', 'VERSION'],
    rows.map((w) => {
      const end = w.completedAt ?? (FINISHED_STATUSES.includes(String(w.status)) ? w.updatedAt : undefined);
      return [
        w.workflowID,
        w.workflowClassName ? `${w.workflowClassName}.${w.workflowName}` : w.workflowName,
        String(w.status),
        w.queueName ?? '',
        time(w.createdAt),
        end !== undefined ? duration(end - w.createdAt) : '',
        w.executorId ?? '',
        w.applicationVersion ?? '',
      ];
    }),
  );
}

/** A value as indented JSON (stored values are JSON-shaped once decoded), safe for a terminal. */
function pretty(value: unknown): string {
  if (value === undefined) return '';
  return safeJson(value, 2);
}

/** An error with its stack as stored (DBOS's CLI prints it too). */
function errorText(error: unknown): string {
  if (error === undefined || error === null) return '';
  if (typeof error === 'object' && typeof (error as Error).stack === 'string' && (error as Error).stack) {
    const e = error as Error;
    const stack = e.stack!.startsWith(`${e.name}: `) || e.stack!.startsWith('Error') ? e.stack! : `${e.name}: ${e.message}\n${e.stack}`;
    return safeText(stack, true);
  }
  return safeText(brief(error));
}

function indentBlock(text: string, width: number): string {
  return text.split('\n').map((line, i) => (i === 0 ? line : `${' '.repeat(width + 2)}${line}`)).join('\n');
}

export function formatWorkflow(w: WorkflowStatus): string {
  const end = w.completedAt ?? (FINISHED_STATUSES.includes(String(w.status)) ? w.updatedAt : undefined);
  const fields: [string, string][] = [
    ['workflow ID', safeText(w.workflowID)],
    ['name', safeText(w.workflowClassName ? `${w.workflowClassName}.${w.workflowName}` : w.workflowName)],
    ['status', safeText(String(w.status))],
    ['queue', safeText(w.queueName ?? '')],
    ['created', time(w.createdAt)],
    ['dequeued', time(w.dequeuedAt)],
    ['completed', time(w.completedAt)],
    ['duration', end !== undefined ? duration(end - w.createdAt) : ''],
    ['executor', safeText(w.executorId ?? '')],
    ['application version', safeText(w.applicationVersion ?? '')],
    ['recovery attempts', String(w.recoveryAttempts ?? '')],
    ['parent', safeText(w.parentWorkflowID ?? '')],
    ['forked from', safeText(w.forkedFrom ?? '')],
    ['input', pretty(w.input)],
    ['output', pretty(w.output)],
    ['error', errorText(w.error)],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k.padEnd(width)}  ${indentBlock(v, width)}`)
    .join('\n');
}

export function formatSteps(steps: StepInfo[]): string {
  if (steps.length === 0) return '(no steps recorded)';
  const rows = table(
    ['ID', 'STEP', 'STARTED (UTC)', 'DURATION', 'OUTPUT', 'ERROR', 'CHILD'],
    steps.map((s) => [
      String(s.functionID),
      s.name,
      time(s.startedAtEpochMs),
      s.startedAtEpochMs !== undefined && s.completedAtEpochMs !== undefined ? duration(s.completedAtEpochMs - s.startedAtEpochMs) : '',
      s.name === 'DBOS.sleep' && typeof s.output === 'number' ? `sleep until ${time(s.output)}` : brief(s.output),
      brief(s.error),
      s.childWorkflowID ?? '',
    ]),
  );
  const stacks = steps
    .filter((s) => s.error !== null && s.error !== undefined && typeof (s.error as Error).stack === 'string')
    .map((s) => `step ${s.functionID} (${safeText(s.name)}) failed:\n${errorText(s.error)}`);
  return stacks.length ? `${rows}\n\n${stacks.join('\n\n')}` : rows;
}

export function formatExecutors(executors: (ExecutorInfo & { state?: string })[]): string {
  if (executors.length === 0) return '(no executors with a heartbeat)';
  return table(
    ['EXECUTOR', 'APPLICATION', 'VERSION', 'HOST', 'PID', 'STARTED (UTC)', 'LAST BEAT', 'STATE'],
    executors.map((e) => [
      e.executorID,
      e.applicationName,
      e.applicationVersion,
      e.hostname ?? '',
      e.pid === null ? '' : String(e.pid),
      time(e.startedAt),
      `${duration(e.silentMs)} ago`,
      e.state ?? '',
    ]),
  );
}

export function formatQueueActivity(queues: QueueActivity[]): string {
  if (queues.length === 0) return '(no queue holds work)';
  return table(
    ['QUEUE', 'WAITING', 'RUNNING', 'DELAYED', 'OLDEST WAITING (UTC)'],
    queues.map((q) => [q.queueName, String(q.waiting), String(q.running), String(q.delayed), time(q.oldestWaitingCreatedAt)]),
  );
}

/** A registered queue's settings as plain data (for --json and the table); null: no limit. */
export interface QueueSummary {
  name: string;
  concurrency: number | null;
  workerConcurrency: number | null;
  rateLimit: QueueRateLimit | null;
  partitionConcurrency: number | null;
  partitionWorkerConcurrency: number | null;
  partitionRateLimit: QueueRateLimit | null;
  minPollingIntervalMs: number;
  applicationName: string | null;
}

export function queueSummary(q: WorkflowQueue): QueueSummary {
  return {
    name: q.name,
    concurrency: q.concurrency ?? null,
    workerConcurrency: q.workerConcurrency ?? null,
    rateLimit: q.rateLimit ?? null,
    partitionConcurrency: q.partitionConcurrency ?? null,
    partitionWorkerConcurrency: q.partitionWorkerConcurrency ?? null,
    partitionRateLimit: q.partitionRateLimit ?? null,
    minPollingIntervalMs: q.minPollingIntervalMs,
    applicationName: q.applicationName ?? null,
  };
}

const rate = (r: QueueRateLimit | null) => (r ? `${r.limitPerPeriod}/${r.periodSec}s` : '');
const count = (n: number | null) => (n === null ? '' : String(n));

export function formatQueues(queues: QueueSummary[]): string {
  if (queues.length === 0) return '(no registered queues)';
  return table(
    ['QUEUE', 'CONCURRENCY', 'WORKER CONCURRENCY', 'RATE LIMIT', 'PARTITION LIMITS', 'APPLICATION'],
    queues.map((q) => {
      const partition = [
        q.partitionConcurrency === null ? '' : `concurrency ${q.partitionConcurrency}`,
        q.partitionWorkerConcurrency === null ? '' : `worker ${q.partitionWorkerConcurrency}`,
        q.partitionRateLimit === null ? '' : `rate ${rate(q.partitionRateLimit)}`,
      ].filter(Boolean);
      return [q.name, count(q.concurrency), count(q.workerConcurrency), rate(q.rateLimit), partition.join(', '), q.applicationName ?? ''];
    }),
  );
}

/** Versions, the latest first (as the client lists them), the latest marked. */
export function formatVersions(versions: VersionInfo[]): string {
  if (versions.length === 0) return '(no application versions)';
  return table(
    ['VERSION', 'LATEST', 'TIMESTAMP', 'CREATED', 'VERSION ID'],
    versions.map((v, i) => [v.versionName, i === 0 ? 'yes' : '', time(v.versionTimestamp), time(v.createdAt), v.versionId]),
  );
}

export function formatVersion(v: VersionInfo): string {
  return [
    ['version', v.versionName],
    ['timestamp', time(v.versionTimestamp)],
    ['created', time(v.createdAt)],
    ['version ID', v.versionId],
  ]
    .map(([k, val]) => `${k!.padEnd(10)}  ${safeText(String(val))}`)
    .join('\n');
}
