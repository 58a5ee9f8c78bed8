// Plain-text tables for the command line.

import type { StepInfo } from '../management/inspect.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const time = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));

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
