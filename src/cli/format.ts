// Plain-text tables for the command line.

import type { StepInfo } from '../management/inspect.js';
import type { VersionInfo } from '../management/control.js';
import type { QueueRateLimit, WorkflowQueue } from '../queues/workflow-queue.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A time as `YYYY-MM-DD hh:mm:ss`; one a Date cannot hold (a corrupt row) is shown as the number stored. */
const time = (ms: number | undefined) => {
  if (ms === undefined || ms === null) return '';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `(invalid: ${ms})` : date.toISOString().replace('T', ' ').slice(0, 19);
};

function brief(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function formatWorkflows(rows: WorkflowStatus[]): string {
  if (rows.length === 0) return '(no workflows)';
  return table(
    ['WORKFLOW ID', 'NAME', 'STATUS', 'QUEUE', 'CREATED', 'EXECUTOR'],
    rows.map((w) => [
      w.workflowID,
      w.workflowClassName ? `${w.workflowClassName}.${w.workflowName}` : w.workflowName,
      String(w.status),
      w.queueName ?? '',
      time(w.createdAt),
      w.executorId ?? '',
    ]),
  );
}

export function formatWorkflow(w: WorkflowStatus): string {
  const fields: [string, string][] = [
    ['workflow ID', w.workflowID],
    ['name', w.workflowClassName ? `${w.workflowClassName}.${w.workflowName}` : w.workflowName],
    ['status', String(w.status)],
    ['queue', w.queueName ?? ''],
    ['input', brief(w.input)],
    ['output', brief(w.output)],
    ['error', brief(w.error)],
    ['created', time(w.createdAt)],
    ['completed', time(w.completedAt)],
    ['executor', w.executorId ?? ''],
    ['application version', w.applicationVersion ?? ''],
    ['recovery attempts', String(w.recoveryAttempts ?? '')],
    ['parent', w.parentWorkflowID ?? ''],
    ['forked from', w.forkedFrom ?? ''],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.filter(([, v]) => v !== '').map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export function formatSteps(steps: StepInfo[]): string {
  if (steps.length === 0) return '(no steps recorded)';
  return table(
    ['ID', 'STEP', 'OUTPUT', 'ERROR', 'CHILD', 'MS'],
    steps.map((s) => [
      String(s.functionID),
      s.name,
      brief(s.output),
      brief(s.error),
      s.childWorkflowID ?? '',
      s.startedAtEpochMs !== undefined && s.completedAtEpochMs !== undefined ? String(s.completedAtEpochMs - s.startedAtEpochMs) : '',
    ]),
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
    .map(([k, val]) => `${k!.padEnd(10)}  ${val}`)
    .join('\n');
}
