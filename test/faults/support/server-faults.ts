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

/** What a faultRecv workflow returns (see fixtures/fault-extras.ts). */
export interface ReceivedMessage {
  m: string | null;
  at: number;
}

/**
 * The messaging side of a scenario: `faultRecv` workflows enqueued on the scenario's queue, each waiting for
 * `perWorkflow` messages that the test sends through its DBOSClient, one round at a time, and the checks of what
 * they received: every message exactly once, in order, none lost, and how long each took from its send returning to
 * its recv returning.
 */
export class Mailboxes {
  readonly ids: string[];
  /** When each message's send returned (the message was committed by then), by message text. */
  readonly sentAt = new Map<string, number>();

  constructor(
    private readonly s: Scenario,
    count: number,
    readonly perWorkflow: number,
    readonly topic = 'inbox',
    readonly timeoutSec = 60,
  ) {
    this.ids = Array.from({ length: count }, (_, i) => `${s.name}_recv-${String(i).padStart(3, '0')}`);
  }

  message(id: string, k: number): string {
    return `${id}/m${k}`;
  }

  async enqueue(): Promise<void> {
    for (const id of this.ids) {
      await this.s.client.enqueue({ queueName: this.s.queue, workflowName: 'faultRecv', workflowID: id }, this.perWorkflow, this.timeoutSec, this.topic);
    }
  }

  /** Waits until every mailbox workflow is running (PENDING): each is then inside its first recv, or about to be. */
  async waitUntilListening(timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => {
        const rows = await queryRows(
          this.s.systemDatabaseUrl,
          `SELECT count(*)::int AS n FROM dbos.workflow_status WHERE workflow_uuid = ANY($1) AND status = 'PENDING'`,
          [this.ids],
        );
        return Number(rows[0]!.n) === this.ids.length;
      },
      { timeoutMs, intervalMs: 50, message: 'every mailbox workflow running' },
    );
  }

  /** Sends round `k`: one message to every mailbox, `inFlight` sends at a time, through `client`. */
  async sendRound(k: number, client = this.s.client, inFlight = 5): Promise<void> {
    let i = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (i < this.ids.length) {
          const id = this.ids[i++]!;
          const m = this.message(id, k);
          await client.send(id, m, this.topic, `send-${m}`);
          this.sentAt.set(m, Date.now());
        }
      }),
    );
  }

  /** Waits until every mailbox workflow has finished. */
  async waitForAll(timeoutMs: number): Promise<boolean> {
    return waitUntil(
      async () => {
        const rows = await queryRows(
          this.s.systemDatabaseUrl,
          `SELECT count(*)::int AS n FROM dbos.workflow_status WHERE workflow_uuid = ANY($1) AND status NOT IN ('PENDING', 'ENQUEUED', 'DELAYED')`,
          [this.ids],
        );
        return Number(rows[0]!.n) === this.ids.length;
      },
      { timeoutMs, intervalMs: 100, message: 'every mailbox workflow finished' },
    ).catch(() => false);
  }

  /**
   * Checks every mailbox: SUCCESS, and received exactly its messages in the order sent; and the notifications table:
   * exactly one row per message sent, each consumed once. Returns the problems and the latencies (ms from a send
   * returning to the recv that took the message returning; negative when the recv came first).
   */
  async judge(): Promise<{ problems: string[]; latencies: number[]; slowest: string }> {
    const problems: string[] = [];
    const latencies: { ms: number; m: string }[] = [];
    const statuses = await queryRows(
      this.s.systemDatabaseUrl,
      `SELECT ws.workflow_uuid, ws.status, ws.error, COALESCE(wo.output, ws.output) AS output
         FROM dbos.workflow_status ws LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
        WHERE ws.workflow_uuid = ANY($1)`,
      [this.ids],
    );
    const byID = new Map(statuses.map((r) => [String(r.workflow_uuid), r]));
    for (const id of this.ids) {
      const row = byID.get(id);
      if (!row) {
        problems.push(`lost: mailbox ${id} has no workflow row`);
        continue;
      }
      if (row.status !== 'SUCCESS') {
        problems.push(`mailbox ${id} is ${row.status}: ${String(row.error ?? '').slice(0, 300)}`);
        continue;
      }
      const parsed = JSON.parse(String(row.output));
      const got = (parsed && typeof parsed === 'object' && 'json' in parsed ? parsed.json : parsed) as ReceivedMessage[];
      const expected = Array.from({ length: this.perWorkflow }, (_, k) => this.message(id, k));
      if (JSON.stringify(got.map((g) => g.m)) !== JSON.stringify(expected)) {
        problems.push(`mailbox ${id} received ${JSON.stringify(got.map((g) => g.m))}, expected ${JSON.stringify(expected)}`);
      }
      for (const g of got) {
        const sent = g.m === null ? undefined : this.sentAt.get(g.m);
        if (sent !== undefined) latencies.push({ ms: g.at - sent, m: g.m! });
      }
    }
    const rows = await queryRows(
      this.s.systemDatabaseUrl,
      `SELECT destination_uuid, message, consumed, consumed_by_function_id FROM dbos.notifications WHERE destination_uuid = ANY($1)`,
      [this.ids],
    );
    const copies = new Map<string, number>();
    for (const r of rows) {
      const text = JSON.parse(String(r.message));
      const m = String(text && typeof text === 'object' && 'json' in text ? text.json : text);
      copies.set(m, (copies.get(m) ?? 0) + 1);
      if (!r.consumed) problems.push(`message ${m} to ${r.destination_uuid} was never consumed`);
    }
    for (const [m, n] of copies) if (n !== 1) problems.push(`message ${m} is stored ${n} times`);
    const sent = this.ids.length * this.perWorkflow;
    if (rows.length !== sent) problems.push(`${rows.length} messages stored for ${sent} sent`);
    latencies.sort((a, b) => a.ms - b.ms);
    const worst = latencies.at(-1);
    return { problems, latencies: latencies.map((l) => l.ms), slowest: worst ? `${worst.m} after ${worst.ms} ms` : 'none' };
  }
}

/** The p-th percentile (0..100) of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
