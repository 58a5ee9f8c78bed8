// `transact`: the operator's command line. It reads and drives an application's workflows through DBOSClient, so it
// holds no SQL of its own and works on both backends, while the application runs. Command names follow DBOS's CLI
// where it has the command (`workflow list|get|steps|cancel|resume|fork`, `workflow queue list`), so muscle memory
// carries over. `transact --help` lists the commands; `transact <area> <command> --help` explains one.
//
// Exit codes: 0 done; 1 failed (the database is unreachable, or an unexpected error); 2 the command was called
// wrongly (unknown option, bad status or time, missing argument); 3 not found (no such workflow, queue or schedule);
// 4 refused (the action does not apply in the workflow's state; the reason is printed).
//
// The database: --db <url>, else DBOS_SYSTEM_DATABASE_URL, else the embedded default for --app <name>
// (sqlite:.transact/<name>.sqlite). --app also scopes what is shown and done to that application (and unclaimed
// rows), as a DBOSClient with that applicationName does; without it every application's rows are in reach.
// Everything stored (IDs, names, errors) is printed with control characters escaped: a workflow ID holding a
// terminal escape sequence cannot repaint the operator's terminal.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isLoopback, startAdminServer } from '../admin/server.js';
import {
  BadInput,
  bulkApply,
  bulkPreview,
  cancelOne,
  classify,
  deleteMany,
  forkOne,
  NotFound,
  Refused,
  resumeOne,
  rewindOne,
  safeJson,
  safeText,
  toWorkflowsInput,
  Unreachable,
} from '../admin/operations.js';
import { DBOSClient } from '../client/client.js';
import type { QueueRateLimit } from '../queues/workflow-queue.js';
import { redactSecrets } from '../redact.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { checkTimeText } from '../validation.js';
import {
  formatExecutors,
  formatQueueActivity,
  formatQueues,
  formatSteps,
  formatVersion,
  formatVersions,
  formatWorkflow,
  formatWorkflows,
  queueSummary,
} from './format.js';

/** A mistake in how the command was called (exit code 2), as opposed to a failure while running it. */
export class UsageError extends Error {}

export const EXIT = { done: 0, failed: 1, usage: 2, notFound: 3, refused: 4 } as const;

const COMMON = `Every command takes:
  --db URL          the system database (postgres://… or sqlite:PATH); default DBOS_SYSTEM_DATABASE_URL
  --app NAME        the application (its embedded database when no --db is given; scopes what is shown and done)
  --json            machine-readable output (errors too, with their messages and stacks)
  --timeout SEC     give up connecting after this many seconds (default 5)`;

const FILTERS = `  --status S        PENDING, ENQUEUED, DELAYED, SUCCESS, ERROR, CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED (repeatable)
  --name N          workflow name (repeatable)         --queue Q        queue name (repeatable)
  --app-version V   application version (repeatable)   --executor E     executor ID (repeatable)
  --search TEXT     workflow ID or name contains TEXT
  --start T         created at or after T              --end T          created at or before T
                    (T: 2025-03-01, 2025-03-01T12:00:00Z, epoch ms, or a time ago: 30m, 2h, 7d)
  --parent          child workflows only               --top-level      top-level workflows only
  --parent-id ID    the children of workflow ID        --forks          forks only`;

/** Per-command help: usage line first, then what it does and its options. */
const COMMANDS: Record<string, string> = {
  'workflow list': `usage: transact workflow list [filters] [--limit N] [--offset N] [--oldest-first]
List workflows, newest first, 50 at a time; says how many more match and how to see them.
${FILTERS}
  --limit N         rows to show (default 50)          --offset N       skip the newest N`,
  'workflow get': `usage: transact workflow get <id>
Show one workflow: status, times, executor, version, parent and fork, its input and output, and its error with the
stack as stored.`,
  'workflow steps': `usage: transact workflow steps <id>
Show a workflow's steps in order: when each started, how long it took, its output or error (stacks below the table),
the child workflow it started; a durable sleep shows the time it sleeps until.`,
  'workflow export': `usage: transact workflow export <id> [--out FILE]
Export a workflow's recorded execution as JSON (its input, outcome and every step, values as stored), to stdout or to
FILE, for replayTest of transact/testing: check new code against recorded executions before it ships.`,
  'workflow cancel': `usage: transact workflow cancel <id>
Cancel a PENDING, ENQUEUED or DELAYED workflow (its current step finishes; no further step starts). A finished or
already cancelled workflow is refused (exit 4) with the reason.`,
  'workflow resume': `usage: transact workflow resume <id> [--queue Q]
Resume a cancelled or dead-lettered workflow from its last recorded step (on the internal queue, or Q). A finished
workflow is refused (exit 4): fork or rewind it instead.`,
  'workflow fork': `usage: transact workflow fork <id> --step N [--new-id ID] [--app-version V] [--queue Q]
Start a new workflow that keeps the recorded results of steps 0..N-1 of <id> and runs step N and the rest again.`,
  'workflow rewind': `usage: transact workflow rewind <id> [--step N] [--queue Q]
Run a finished workflow again under its own ID from step N (default 0); the records from step N on are discarded.`,
  'workflow delete': `usage: transact workflow delete <id>... [--children]
Delete workflows with everything they recorded (with --children, their descendants too). Nothing is deleted unless
every ID exists.`,
  'workflow set-priority': `usage: transact workflow set-priority <id> <priority>
Reorder an ENQUEUED or DELAYED workflow on its queue (lower runs first).`,
  'workflow set-delay': `usage: transact workflow set-delay <id> <seconds>
Start a DELAYED workflow this many seconds from now.`,
  'workflow cancel-all': `usage: transact workflow cancel-all [filters] [--yes]
Cancel every PENDING, ENQUEUED or DELAYED workflow the filters match (at most 1000 at a time). Without --yes it only
counts them.
${FILTERS}`,
  'workflow resume-all': `usage: transact workflow resume-all [filters] [--yes]
Resume every CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED (or waiting) workflow the filters match (at most 1000 at a
time). Without --yes it only counts them.
${FILTERS}`,
  'workflow queue list': `usage: transact workflow queue list [filters] [--limit N] [--offset N]
List the workflows waiting in or running from queues (ENQUEUED, PENDING, DELAYED), newest first. (Also: transact queue list.)
${FILTERS}`,
  'queue list': `usage: transact queue list [filters] [--limit N]
The same as transact workflow queue list.`,
  'queue activity': `usage: transact queue activity
How much work each queue holds: waiting, running, delayed, and when the oldest waiting workflow was created.`,
  'queue registered': `usage: transact queue registered
The queues stored in the database, with their limits.`,
  'queue register': `usage: transact queue register <name> [--concurrency N] [--worker-concurrency N] [--rate LIMIT/PERIODSEC]
Store a queue (replacing its settings if it exists).`,
  'queue delete': `usage: transact queue delete <name>
Delete a stored queue; workflows still waiting on it stay ENQUEUED until it is registered again.`,
  'version list': `usage: transact version list
The application's versions, the latest first.`,
  'version latest': `usage: transact version latest
The latest application version.`,
  'version set-latest': `usage: transact version set-latest <name>
Make a known version the latest.`,
  'executor list': `usage: transact executor list [--lease SEC]
The executors with a heartbeat: version, host, PID, when each last beat; silent longer than the lease (default 30 s)
marks one presumed dead.`,
  gc: `usage: transact gc --older-than T [--max-workflows N] [--dry-run] [--batch-size N]
Delete finished workflows (SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED) created before T, with
everything they recorded (inputs, outputs, steps, events and their history, streams, messages). Never a PENDING,
ENQUEUED or DELAYED workflow, nor a child whose parent still runs. --max-workflows N also deletes finished ones beyond
the newest N. Runs in small batches under the retention lease: if another collector (a running application's
retention, another gc) holds it, nothing is done and its holder is named. --dry-run only counts.
  --older-than T    a time ago (30m, 2h, 30d), a date, a date-time or epoch ms`,
  cancel: `usage: transact cancel --older-than T [--dry-run]
Cancel every PENDING, ENQUEUED or DELAYED workflow created before T (DBOS's global timeout); running ones stop at their
next step. A cancelled workflow can be resumed. --dry-run only counts.
  --older-than T    a time ago (30m, 2h, 7d), a date, a date-time or epoch ms`,
  dashboard: `usage: transact dashboard [--port N] [--host ADDRESS] [--token TOKEN] [--allowed-host NAME]...
Serve the operator console (Ctrl-C stops it). It prints the address to open, with an access token in it: every API
call needs that token. The token is random unless given (--token, or TRANSACT_CONSOLE_TOKEN). --host binds another
address than 127.0.0.1; anything but loopback refuses to start without a token you chose. --allowed-host accepts
another Host name (a reverse proxy's).`,
};

const AREAS = ['workflow', 'queue', 'version', 'executor', 'dashboard', 'gc', 'cancel'];

const USAGE = `usage: transact <command> [args] [--db URL | --app NAME] [--json]

Commands (transact <command> --help for one):
  workflow list [filters]          list workflows, newest first
  workflow get <id>                one workflow, with its input, output and error stack
  workflow steps <id>              its steps, with times and durations
  workflow export <id> [--out F]   its recorded execution as JSON, for replayTest (transact/testing)
  workflow cancel <id>             workflow resume <id>
  workflow fork <id> --step N      workflow rewind <id> [--step N]
  workflow delete <id>...          workflow set-priority <id> <n>      workflow set-delay <id> <seconds>
  workflow cancel-all [filters]    workflow resume-all [filters]       (count first; --yes to act)
  workflow queue list              workflows waiting in or running from queues (also: queue list)
  queue activity | registered | register <name> | delete <name>
  version list | latest | set-latest <name>
  executor list
  gc --older-than 30d [--dry-run]  delete finished workflows older than that, with all they recorded
  cancel --older-than 7d           cancel active workflows older than that (DBOS's global timeout)
  dashboard [--port N] [--host A]  the operator console in a web page

${COMMON}

Exit codes: 0 done, 1 failed (e.g. the database is unreachable), 2 wrong usage, 3 not found, 4 refused.
transact --version prints the version.`;

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'transact' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

function databaseUrl(db: string | undefined, app: string | undefined): string {
  const url = db ?? process.env.DBOS_SYSTEM_DATABASE_URL;
  if (url) return url;
  if (!app) throw new UsageError('say which database: --db <url>, DBOS_SYSTEM_DATABASE_URL, or --app <name> for the embedded one');
  const file = resolve('.transact', `${app}.sqlite`);
  if (!existsSync(file)) throw new UsageError(`no embedded database for application ${app} at ${file}`);
  return `sqlite:${file}`;
}

/** A whole number >= 0 given on the command line. */
function wholeNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** A number of seconds >= 0 (fractions allowed). */
function seconds(text: string, what: string): number {
  const value = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) throw new UsageError(`${what} must be a number of seconds >= 0, got ${JSON.stringify(text)}`);
  return value;
}

/** `--rate 10/60`: at most 10 starts in any 60 seconds. */
function rateLimit(text: string): QueueRateLimit {
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!match) throw new UsageError(`--rate takes LIMIT/PERIODSEC (e.g. 10/60: at most 10 starts in any 60 s), got ${JSON.stringify(text)}`);
  return { limitPerPeriod: Number(match[1]), periodSec: Number(match[2]) };
}

const OPTIONS = {
  db: { type: 'string' },
  app: { type: 'string' },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  status: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  queue: { type: 'string', multiple: true },
  'app-version': { type: 'string', multiple: true },
  executor: { type: 'string', multiple: true },
  search: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  parent: { type: 'boolean', default: false },
  'parent-id': { type: 'string' },
  'top-level': { type: 'boolean', default: false },
  forks: { type: 'boolean', default: false },
  limit: { type: 'string' },
  offset: { type: 'string' },
  desc: { type: 'boolean', default: false },
  'oldest-first': { type: 'boolean', default: false },
  step: { type: 'string' },
  'new-id': { type: 'string' },
  out: { type: 'string' },
  children: { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  concurrency: { type: 'string' },
  'worker-concurrency': { type: 'string' },
  rate: { type: 'string' },
  lease: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  'allowed-host': { type: 'string', multiple: true },
  'older-than': { type: 'string' },
  'max-workflows': { type: 'string' },
  'batch-size': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    // An unknown option or a missing option value: the caller's mistake, with the way to the usage.
    throw new UsageError(`${(err as Error).message}\n(transact --help lists the commands; transact <command> --help explains one)`);
  }
}

/** The command's key (`workflow queue list`, `workflow list`, `dashboard`) and the positionals after it. */
function commandOf(positionals: string[]): { key: string; args: string[] } {
  const [area, a, b] = positionals;
  if (area === 'dashboard') return { key: 'dashboard', args: positionals.slice(1) };
  if (area === 'workflow' && a === 'queue' && b !== undefined) return { key: `workflow queue ${b}`, args: positionals.slice(3) };
  if (area === 'workflow' && a === 'queue') return { key: 'workflow queue', args: [] };
  return { key: [area, a].filter((x) => x !== undefined).join(' '), args: positionals.slice(2) };
}

export async function main(
  argv: string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.version) {
    out(values.json ? JSON.stringify({ version: packageVersion() }) : `transact ${packageVersion()}`);
    return EXIT.done;
  }
  const { key, args } = commandOf(positionals);
  if (positionals.length === 0) {
    out(USAGE);
    return values.help ? EXIT.done : EXIT.usage;
  }
  if (!(key in COMMANDS)) {
    const area = positionals[0]!;
    const known = Object.keys(COMMANDS).filter((k) => k.startsWith(`${area} `));
    if (values.help && known.length) {
      out(known.map((k) => COMMANDS[k]!.split('\n')[0]).join('\n'));
      return EXIT.done;
    }
    const hint = AREAS.includes(area) && known.length ? `; ${area} commands: ${known.map((k) => k.slice(area.length + 1)).join(', ')}` : '';
    throw new UsageError(`unknown command: ${safeText(key)}${hint}\n(transact --help lists the commands)`);
  }
  if (values.help) {
    out(`${COMMANDS[key]}\n\n${COMMON}`);
    return EXIT.done;
  }
  const connectTimeoutMs = values.timeout === undefined ? 5000 : Math.max(1, seconds(values.timeout, '--timeout')) * 1000;
  if (key === 'dashboard') return dashboard(values, connectTimeoutMs, out);

  // Checked before connecting: a typo is reported as such even when the database is down.
  const id = args[0];
  const needID = () => {
    if (!id) throw new UsageError(`${key} needs a workflow ID\n${COMMANDS[key]!.split('\n')[0]}`);
    return id;
  };
  const needName = (what: string) => {
    if (!id) throw new UsageError(`${key} needs a ${what} name\n${COMMANDS[key]!.split('\n')[0]}`);
    return id;
  };
  const second = (what: string) => {
    const value = args[1];
    if (value === undefined) throw new UsageError(`${key} needs <id> <${what}>`);
    return value;
  };
  const oneQueue = () => {
    if ((values.queue?.length ?? 0) > 1) throw new UsageError(`${key} takes one --queue`);
    return values.queue?.[0];
  };
  if (values.parent && values['top-level']) throw new UsageError('--parent (child workflows only) and --top-level exclude each other');
  const filter = () => {
    try {
      return toWorkflowsInput({
        status: values.status,
        name: values.name,
        queue: values.queue,
        version: values['app-version'],
        executor: values.executor,
        search: values.search,
        from: values.start,
        to: values.end,
        parent: values['parent-id'],
        topLevel: values['top-level'],
        children: values.parent,
        forks: values.forks,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  const listFilter = key.endsWith('list') || key.endsWith('-all') ? filter() : undefined;
  const limit = values.limit === undefined ? 50 : wholeNumber(values.limit, '--limit');
  const offset = values.offset === undefined ? 0 : wholeNumber(values.offset, '--offset');
  const step = values.step === undefined ? undefined : wholeNumber(values.step, '--step');
  if (key === 'workflow fork' && step === undefined) throw new UsageError('workflow fork needs --step N (the first step to run again)');
  let olderThan: number | undefined;
  if (key === 'gc' || key === 'cancel') {
    if (args.length > 0) throw new UsageError(`${key} takes no arguments, got ${safeText(args.join(' '))}\n${COMMANDS[key]!.split('\n')[0]}`);
    if (values['older-than'] !== undefined) {
      try {
        olderThan = checkTimeText('--older-than', values['older-than']);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (olderThan === undefined && (key === 'cancel' || values['max-workflows'] === undefined)) {
      throw new UsageError(`${key} needs --older-than T${key === 'gc' ? ' (or --max-workflows N)' : ''}\n${COMMANDS[key]!.split('\n')[0]}`);
    }
  }
  const batchSize = values['batch-size'] === undefined ? undefined : Math.max(1, wholeNumber(values['batch-size'], '--batch-size'));
  const maxWorkflows = values['max-workflows'] === undefined ? undefined : wholeNumber(values['max-workflows'], '--max-workflows');

  const client = await DBOSClient.create({
    systemDatabaseUrl: databaseUrl(values.db, values.app),
    applicationName: values.app,
    connectTimeoutMs,
    databaseRetryTimeoutMs: connectTimeoutMs,
  });
  const print = (value: unknown, text: () => string) => out(values.json ? safeJson(value, 2) : text());
  try {
    if (key === 'workflow list' || key === 'workflow queue list' || key === 'queue list') {
      const input = { ...listFilter!, limit, offset, sortDesc: !values['oldest-first'], loadInput: false };
      const queued = key !== 'workflow list';
      const [rows, total]: [WorkflowStatus[], number] = await Promise.all([
        queued ? client.listQueuedWorkflows(input) : client.listWorkflows(input),
        client.countWorkflows(queued ? { ...input, queuesOnly: true, status: input.status ?? ['ENQUEUED', 'PENDING', 'DELAYED'] } : input),
      ]);
      print(rows, () => formatWorkflows(rows));
      const shown = offset + rows.length;
      const order = values['oldest-first'] ? 'oldest first' : 'newest first';
      if (total > shown) {
        const more = `showing ${rows.length ? `${offset + 1}-${shown}` : 'none'} of ${total} (${order}); ${total - shown} more: add --offset ${shown}${values.limit === undefined ? ' or --limit N' : ''}`;
        if (values.json) err(more);
        else out(more);
      } else if (!values.json && rows.length > 0) {
        out(`${total} workflow${total === 1 ? '' : 's'} (${order})`);
      }
    } else if (key === 'workflow get') {
      const status = await client.getWorkflow(needID());
      if (!status) throw new NotFound(`workflow ${id} does not exist`);
      print(status, () => formatWorkflow(status));
    } else if (key === 'workflow steps') {
      const steps = await client.listWorkflowSteps(needID());
      if (!steps) throw new NotFound(`workflow ${id} does not exist`);
      print(steps, () => formatSteps(steps));
    } else if (key === 'workflow export') {
      const history = await client.exportWorkflowHistory(needID());
      if (!history) throw new NotFound(`workflow ${id} does not exist`);
      const text = JSON.stringify(history, null, 2); // JSON escapes control characters: safe on a terminal
      if (values.out) {
        writeFileSync(values.out, `${text}\n`, { mode: 0o600 });
        out(values.json ? JSON.stringify({ exported: id, file: values.out, steps: history.steps.length }) : `exported ${safeText(id!)} (${history.workflow.status}, ${history.steps.length} steps) to ${safeText(values.out)}`);
      } else {
        out(text);
      }
    } else if (key === 'workflow cancel') {
      const done = await cancelOne(client, needID());
      print(done, () => done.message);
    } else if (key === 'workflow resume') {
      const done = await resumeOne(client, needID(), oneQueue());
      print(done, () => done.message);
    } else if (key === 'workflow fork') {
      const done = await forkOne(client, needID(), step!, {
        newWorkflowID: values['new-id'],
        applicationVersion: values['app-version']?.[0],
        queueName: oneQueue(),
      });
      print({ ...done, forked: id, workflowID: done.forkID }, () => done.message);
    } else if (key === 'workflow rewind') {
      const startStep = step ?? 0;
      const queueName = oneQueue();
      const done = await rewindOne(client, needID(), startStep, queueName);
      print({ rewound: id, startStep, queueName: queueName ?? null }, () => done.message);
    } else if (key === 'workflow delete') {
      if (args.length === 0) throw new UsageError('workflow delete needs one or more workflow IDs');
      const done = await deleteMany(client, args, values.children);
      print({ deleted: args, deleteChildren: values.children }, () => done.message);
    } else if (key === 'workflow cancel-all' || key === 'workflow resume-all') {
      const action = key === 'workflow cancel-all' ? 'cancel' : 'resume';
      const preview = await bulkPreview(client, action, listFilter!);
      if (!values.yes || preview.count === 0) {
        print(preview, () =>
          preview.count === 0
            ? `no ${preview.statuses.join(', ')} workflow matches: nothing to ${action}`
            : `${preview.count} workflows (${preview.statuses.join(', ')}) match; run again with --yes to ${action} ${preview.capped ? `the newest ${preview.workflowIDs.length}` : 'them'}`,
        );
      } else {
        const result = await bulkApply(client, action, preview.workflowIDs);
        print(result, () => [result.message, ...result.refused.map((r) => `refused: ${r.reason}`)].join('\n'));
        if (result.refused.length > 0 && result.done.length === 0) return EXIT.refused;
      }
    } else if (key === 'workflow set-priority') {
      const workflowID = needID();
      const priority = wholeNumber(second('priority'), 'the priority');
      await client.setWorkflowPriority(workflowID, priority);
      print({ workflowID, priority }, () => `priority of ${workflowID} set to ${priority}`);
    } else if (key === 'workflow set-delay') {
      const workflowID = needID();
      const delaySeconds = seconds(second('seconds'), 'the delay');
      await client.setWorkflowDelay(workflowID, delaySeconds);
      print({ workflowID, delaySeconds }, () => `${workflowID} starts in ${delaySeconds} s`);
    } else if (key === 'version list') {
      const versions = await client.listApplicationVersions();
      print(versions, () => formatVersions(versions));
    } else if (key === 'version latest') {
      const latest = await client.getLatestApplicationVersion();
      print(latest, () => (latest ? formatVersion(latest) : '(no application versions)'));
    } else if (key === 'version set-latest') {
      const name = needName('version');
      await client.setLatestApplicationVersion(name);
      print({ latest: name }, () => `the latest version is now ${name}`);
    } else if (key === 'queue activity') {
      const queues = await client.listQueueActivity();
      print(queues, () => formatQueueActivity(queues));
    } else if (key === 'queue registered') {
      const queues = (await client.listQueues()).map(queueSummary);
      print(queues, () => formatQueues(queues));
    } else if (key === 'queue register') {
      const name = needName('queue');
      const queue = await client.registerQueue(name, {
        globalConcurrency: values.concurrency === undefined ? undefined : wholeNumber(values.concurrency, '--concurrency'),
        workerConcurrency:
          values['worker-concurrency'] === undefined ? undefined : wholeNumber(values['worker-concurrency'], '--worker-concurrency'),
        rateLimit: values.rate === undefined ? undefined : rateLimit(values.rate),
      });
      const summary = queueSummary(queue);
      print(summary, () => `registered queue ${name}\n${formatQueues([summary])}`);
    } else if (key === 'queue delete') {
      const name = needName('queue');
      if (!(await client.retrieveQueue(name))) throw new NotFound(`queue ${name} is not registered`);
      await client.deleteQueue(name);
      print({ deleted: name }, () => `deleted queue ${name}`);
    } else if (key === 'executor list') {
      const leaseMs = (values.lease === undefined ? 30 : seconds(values.lease, '--lease')) * 1000;
      const executors = (await client.listExecutors()).map((e) => ({ ...e, state: e.silentMs <= leaseMs ? 'alive' : 'silent' }));
      print(executors, () => formatExecutors(executors));
    } else if (key === 'gc') {
      const dryRun = values['dry-run'];
      const result = await client.garbageCollect({ cutoffEpochMs: olderThan, maxWorkflows, batchSize, dryRun });
      const before = result.cutoffEpochMs === null ? '' : ` created before ${new Date(result.cutoffEpochMs).toISOString()}`;
      print(result, () =>
        result.skipped
          ? `another collector holds the retention lease (${safeText(result.skipped.holder)}): nothing deleted; try again later`
          : dryRun
            ? `${result.deleted} finished workflow(s)${before} would be deleted (dry run: nothing deleted)`
            : `deleted ${result.deleted} finished workflow(s)${before}, with everything they recorded (${result.batches} batch(es))`,
      );
      if (result.skipped) return EXIT.refused;
    } else if (key === 'cancel') {
      const dryRun = values['dry-run'];
      const result = await client.globalTimeout({ cutoffEpochMs: olderThan, batchSize, dryRun });
      const before = new Date(result.cutoffEpochMs).toISOString();
      print(result, () =>
        dryRun
          ? `${result.cancelled} PENDING, ENQUEUED or DELAYED workflow(s) created before ${before} would be cancelled (dry run)`
          : `cancelled ${result.cancelled} workflow(s) created before ${before}`,
      );
    } else {
      throw new UsageError(`unknown command: ${key}\n(transact --help lists the commands)`);
    }
    return EXIT.done;
  } finally {
    await client.destroy();
  }
}

/** An error as the operator sees it: the exit code and the text (or JSON, with --json) for stderr. */
export function failure(err: unknown, argv: string[]): { code: number; text: string } {
  const json = argv.includes('--json');
  const e = err instanceof UsageError ? err : classify(err);
  const code =
    e instanceof UsageError || e instanceof BadInput ? EXIT.usage : e instanceof NotFound ? EXIT.notFound : e instanceof Refused ? EXIT.refused : EXIT.failed;
  const outcome = e instanceof UsageError ? 'usage' : e instanceof Unreachable ? 'unreachable' : ((e as { outcome?: string }).outcome ?? 'failed');
  if (json) return { code, text: redactSecrets(safeJson({ error: { outcome, message: e.message, name: e.name, stack: code === EXIT.failed ? e.stack : undefined } }, 2)) };
  const message = safeText(redactSecrets(e.message), true);
  if (e instanceof UsageError) return { code, text: message };
  const prefix = e instanceof Refused ? 'transact: refused: ' : e instanceof NotFound ? 'transact: not found: ' : 'transact: ';
  return { code, text: `${prefix}${message}` };
}

type Values = ReturnType<typeof parse>['values'];

/** Serves the console until the process is interrupted. */
async function dashboard(values: Values, connectTimeoutMs: number, out: (line: string) => void): Promise<number> {
  const host = values.host ?? '127.0.0.1';
  const token = values.token ?? process.env.TRANSACT_CONSOLE_TOKEN;
  if (!isLoopback(host) && !token) {
    throw new UsageError(
      `refusing to serve the console on ${host} without a token: anyone who reaches that address could read and change every ` +
        'workflow. Choose a long random token (--token, or TRANSACT_CONSOLE_TOKEN), or leave --host out to serve on 127.0.0.1 only.',
    );
  }
  const port = values.port === undefined ? 3001 : wholeNumber(values.port, '--port');
  const client = await DBOSClient.create({
    systemDatabaseUrl: databaseUrl(values.db, values.app),
    applicationName: values.app,
    connectTimeoutMs,
    // The console answers within seconds while the database is down (and shows it), rather than waiting for it.
    databaseRetryTimeoutMs: 3000,
  });
  let server;
  try {
    server = await startAdminServer(client, { port, host, token, allowedHosts: values['allowed-host'] });
  } catch (e) {
    await client.destroy();
    throw new UsageError((e as Error).message);
  }
  out(`Transact console at ${server.consoleUrl}`);
  out('(open that address; the part after # is the access token, which never leaves the browser. Ctrl-C stops the console)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await client.destroy();
  return EXIT.done;
}

