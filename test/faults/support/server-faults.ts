// Glue shared by the server- and network-level scenarios: progress read from the ledger (so faults strike during a
// drain, not before or after it), faults of the database recorded in the ledger under the pseudo-incarnation
// `postgres` (they explain no execution: see verdict.ts), and checks that only these scenarios need.

import { withPg } from '../../support/backends.js';
import { queryRows } from '../../support/rows.js';
import { waitUntil } from '../../support/wait.js';
import type { Execution, ServerFaultKind } from './ledger.js';
import type { Scenario } from './scenario.js';

/** The name under which faults of the database server itself are recorded. */
export const SERVER = 'postgres';

/** How many workflow bodies have returned so far, in every incarnation. */
export async function returnsSoFar(s: Scenario): Promise<number> {
  return withPg(s.ledger.url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM executions WHERE kind = 'return'`)).rows[0].n);
}

/** Waits until at least `n` workflow bodies have returned (the fault schedule strikes mid-drain). */
export async function waitForReturns(s: Scenario, n: number, timeoutMs = 60_000): Promise<number> {
  return waitUntil(async () => {
    const done = await returnsSoFar(s);
    return done >= n ? done : undefined;
  }, { timeoutMs, intervalMs: 50, message: `${n} workflows returned` });
}

export async function recordServerFault(s: Scenario, kind: ServerFaultKind, atMs: number, incarnation = SERVER): Promise<void> {
  await s.ledger.recordFault(incarnation, kind, atMs);
}

/**
 * Workflow bodies that returned more than once (a completed workflow run again). Where no process died, each
 * workflow body returns exactly once; a second return means the workflow was run again after it had finished.
 */
export function returnedTwice(executions: readonly Execution[]): string[] {
  const returns = new Map<string, Execution[]>();
  for (const e of executions) if (e.kind === 'return') returns.set(e.workflowID, [...(returns.get(e.workflowID) ?? []), e]);
  return [...returns]
    .filter(([, list]) => list.length > 1)
    .map(([id, list]) => `${id} returned ${list.length} times: ${list.map((e) => `${e.incarnation} seq ${e.seq} at ${e.atMs}`).join('; ')}`);
}

/** The lines a worker wrote on stderr (Transact's warnings and errors), for the report. */
export function warningsOf(stderr: string, limit = 8): string[] {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  return lines.length <= limit ? lines : [...lines.slice(0, limit), `... and ${lines.length - limit} more lines`];
}

/**
 * The evidence of workflows that ended in anything but SUCCESS: their recorded error and their steps' errors, and
 * the first lines each worker wrote on stderr. Empty when every workflow of the scenario succeeded.
 */
export async function failureEvidence(s: Scenario, limit = 5): Promise<string[]> {
  const failed = await queryRows(
    s.systemDatabaseUrl,
    `SELECT ws.workflow_uuid, ws.status, ws.executor_id, ws.error,
            (SELECT string_agg(o.function_id || ' ' || o.function_name || ' error ' || COALESCE(o.error, '-'), ' | ' ORDER BY o.function_id)
               FROM dbos.operation_outputs o WHERE o.workflow_uuid = ws.workflow_uuid) AS steps
       FROM dbos.workflow_status ws
      WHERE ws.workflow_uuid LIKE $1 AND ws.status <> 'SUCCESS' ORDER BY ws.workflow_uuid LIMIT $2`,
    [`${s.prefix}%`, limit],
  );
  if (failed.length === 0) return [];
  const lines = failed.map(
    (r) => `${r.workflow_uuid} ${r.status} on ${r.executor_id}: error ${String(r.error ?? '-').slice(0, 400)}; steps: ${String(r.steps ?? '-').slice(0, 600)}`,
  );
  for (const run of s.cluster.runs) lines.push(`${run.incarnation} stderr: ${warningsOf(run.worker.stderr(), 6).join(' // ').slice(0, 1500)}`);
  return lines;
}

/** One workflow run as the ledger saw it: from its first step's start to its body's return (or last step). */
export interface RunSpan {
  workflowID: string;
  fromMs: number;
  toMs: number;
}

/**
 * Each workflow's span in the ledger, from the start of its first step to its body's return. Where no process
 * died, this lies inside the time the workflow held a slot of its queue (claimed before its first step, released
 * after its return was recorded), so overlaps of spans are a lower bound of the queue's real concurrency.
 */
export function runSpans(executions: readonly Execution[]): RunSpan[] {
  const spans = new Map<string, RunSpan>();
  for (const e of executions) {
    const span = spans.get(e.workflowID) ?? { workflowID: e.workflowID, fromMs: e.atMs, toMs: e.atMs };
    span.fromMs = Math.min(span.fromMs, e.atMs);
    span.toMs = Math.max(span.toMs, e.atMs);
    spans.set(e.workflowID, span);
  }
  return [...spans.values()];
}

/** The most spans open at one moment (a span ending at t is closed before one starting at t opens), and when. */
export function maxOverlap(spans: readonly RunSpan[]): { max: number; atMs: number } {
  const events = spans.flatMap((s) => [
    { t: s.fromMs, d: 1 },
    { t: s.toMs, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  let atMs = 0;
  for (const e of events) {
    open += e.d;
    if (open > max) {
      max = open;
      atMs = e.t;
    }
  }
  return { max, atMs };
}

/** The most of `times` that fall within any window of `windowMs` (both ends included), and where that window starts. */
export function maxInWindow(times: readonly number[], windowMs: number): { max: number; fromMs: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let fromMs = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! > windowMs) j++;
    if (i - j + 1 > max) {
      max = i - j + 1;
      fromMs = sorted[j]!;
    }
  }
  return { max, fromMs };
}
