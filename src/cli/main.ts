// `transact`: the operator's command line. It reads and drives an application's workflows through DBOSClient, so it
// holds no SQL of its own and works on both backends, while the application runs.
//
//   transact workflow list [--status S] [--name N] [--queue Q] [--parent | --top-level] [--forks] [--limit N] [--desc]
//   transact workflow get <id>          transact workflow steps <id>
//   transact workflow cancel <id>       transact workflow resume <id>
//   transact workflow fork <id> --step N [--new-id ID]
//   transact workflow rewind <id> [--step N] [--queue Q]    (a finished workflow runs again under its own ID)
//   transact workflow delete <id...> [--children]
//   transact workflow set-priority <id> <priority>         transact workflow set-delay <id> <seconds>
//   transact version list | latest | set-latest <name>     (the application's versions)
//   transact queue list                 (workflows waiting in or running from queues)
//   transact queue registered           (the queues stored in the database, with their limits)
//   transact queue register <name> [--concurrency N] [--worker-concurrency N] [--rate LIMIT/PERIODSEC]
//   transact queue delete <name>
//   transact dashboard [--port 3001]    (a web page over the same operations; Ctrl-C stops it)
//
// The database: --db <url>, else DBOS_SYSTEM_DATABASE_URL, else the embedded default for --app <name>
// (sqlite:.transact/<name>.sqlite). --app also scopes what is shown and done to that application (and unclaimed
// rows), as a DBOSClient with that applicationName does; without it every application's rows are in reach.
// Add --json for machine-readable output.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startAdminServer } from '../admin/server.js';
import { DBOSClient } from '../client/client.js';
import type { QueueRateLimit } from '../queues/workflow-queue.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { formatQueues, formatSteps, formatVersion, formatVersions, formatWorkflows, formatWorkflow, queueSummary } from './format.js';

const USAGE = `usage: transact <workflow|queue|version> <command> [args] [--db URL | --app NAME] [--json]
  workflow list [--status S] [--name N] [--queue Q] [--parent | --top-level] [--forks] [--limit N] [--desc]
  workflow get <id> | steps <id> | cancel <id> | resume <id> | fork <id> --step N [--new-id ID]
  workflow rewind <id> [--step N] [--queue Q]     run a finished workflow again, from step N (default 0)
  workflow delete <id...> [--children]            delete workflows (and their descendants) with all they recorded
  workflow set-priority <id> <priority>           reorder an ENQUEUED or DELAYED workflow (lower runs first)
  workflow set-delay <id> <seconds>               start a DELAYED workflow this many seconds from now
  version list | latest | set-latest <name>
  queue list                                      workflows waiting in or running from queues
  queue registered                                queues stored in the database, with their limits
  queue register <name> [--concurrency N] [--worker-concurrency N] [--rate LIMIT/PERIODSEC]
                                                  store a queue (replacing its settings if it exists)
  queue delete <name>
  dashboard [--port N]`;

/** A mistake in how the command was called (exit code 2), as opposed to a failure while running it. */
export class UsageError extends Error {}

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

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        app: { type: 'string' },
        json: { type: 'boolean', default: false },
        status: { type: 'string', multiple: true },
        name: { type: 'string', multiple: true },
        queue: { type: 'string', multiple: true },
        parent: { type: 'boolean', default: false },
        'top-level': { type: 'boolean', default: false },
        forks: { type: 'boolean', default: false },
        limit: { type: 'string' },
        desc: { type: 'boolean', default: false },
        step: { type: 'string' },
        'new-id': { type: 'string' },
        children: { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        'worker-concurrency': { type: 'string' },
        rate: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // An unknown option or a missing option value: the caller's mistake, with the usage to correct it.
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parse(argv);
  const [area, command, id] = positionals;
  if (area === 'dashboard' && !values.help) return dashboard(databaseUrl(values.db, values.app), values.app, Number(values.port ?? 3001), out);
  if (values.help || !area || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const key = `${area} ${command}`;
  // The value after the ID (set-priority, set-delay), named for the message when it is missing.
  const second = (what: string) => {
    const value = positionals[3];
    if (value === undefined) throw new UsageError(`${key} needs <id> <${what}>`);
    return value;
  };
  const oneQueue = () => {
    if ((values.queue?.length ?? 0) > 1) throw new UsageError(`${key} takes one --queue`);
    return values.queue?.[0];
  };
  if (values.parent && values['top-level']) throw new UsageError('--parent (child workflows only) and --top-level exclude each other');
  const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(values.db, values.app), applicationName: values.app });
  const print = (value: unknown, text: () => string) => out(values.json ? JSON.stringify(value, null, 2) : text());
  const needID = () => {
    if (!id) throw new UsageError(`workflow ${command} needs a workflow ID`);
    return id;
  };
  const needName = (what: string) => {
    if (!id) throw new UsageError(`${key} needs a ${what} name`);
    return id;
  };
  try {
    if (key === 'workflow list' || key === 'queue list') {
      const limit = values.limit === undefined ? 50 : wholeNumber(values.limit, '--limit');
      const filter = {
        status: values.status,
        workflowName: values.name,
        queueName: values.queue,
        hasParent: values.parent ? true : values['top-level'] ? false : undefined,
        isFork: values.forks ? true : undefined,
        limit,
        sortDesc: values.desc,
        loadInput: false,
      };
      const rows: WorkflowStatus[] =
        area === 'queue' ? await client.listQueuedWorkflows(filter) : await client.listWorkflows(filter);
      print(rows, () => formatWorkflows(rows));
    } else if (key === 'workflow get') {
      const status = await client.getWorkflow(needID());
      if (!status) throw new UsageError(`workflow ${id} does not exist`);
      print(status, () => formatWorkflow(status));
    } else if (key === 'workflow steps') {
      const steps = await client.listWorkflowSteps(needID());
      if (!steps) throw new UsageError(`workflow ${id} does not exist`);
      print(steps, () => formatSteps(steps));
    } else if (key === 'workflow cancel') {
      await client.cancelWorkflow(needID());
      print({ cancelled: id }, () => `cancelled ${id}`);
    } else if (key === 'workflow resume') {
      await client.resumeWorkflow(needID());
      print({ resumed: id }, () => `resumed ${id}`);
    } else if (key === 'workflow fork') {
      if (values.step === undefined) throw new UsageError('workflow fork needs --step N (the first step to run again)');
      const forkID = await client.forkWorkflow(needID(), wholeNumber(values.step, '--step'), { newWorkflowID: values['new-id'] });
      print({ forked: id, workflowID: forkID }, () => `forked ${id} from step ${values.step} as ${forkID}`);
    } else if (key === 'workflow rewind') {
      const startStep = values.step === undefined ? 0 : wholeNumber(values.step, '--step');
      const queueName = oneQueue();
      await client.rewindWorkflow(needID(), { startStep, queueName });
      print({ rewound: id, startStep, queueName: queueName ?? null }, () =>
        `rewound ${id}: it runs again from step ${startStep}${queueName ? ` on queue ${queueName}` : ''}`,
      );
    } else if (key === 'workflow delete') {
      const ids = positionals.slice(2);
      if (ids.length === 0) throw new UsageError('workflow delete needs one or more workflow IDs');
      // Deleting an unknown ID would pass in silence; a typo should not, so nothing is deleted unless all exist.
      for (const one of ids) {
        if (!(await client.getWorkflow(one))) throw new UsageError(`workflow ${one} does not exist (nothing was deleted)`);
      }
      await client.deleteWorkflows(ids, values.children);
      print({ deleted: ids, deleteChildren: values.children }, () =>
        `deleted ${ids.join(', ')}${values.children ? ' and their descendants' : ''}`,
      );
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
      if (!(await client.retrieveQueue(name))) throw new UsageError(`queue ${name} is not registered`);
      await client.deleteQueue(name);
      print({ deleted: name }, () => `deleted queue ${name}`);
    } else {
      throw new UsageError(`unknown command: ${key}\n${USAGE}`);
    }
    return 0;
  } finally {
    await client.destroy();
  }
}

/** Serves the dashboard until the process is interrupted. */
async function dashboard(url: string, app: string | undefined, port: number, out: (line: string) => void): Promise<number> {
  const client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: app });
  const server = await startAdminServer(client, { port });
  out(`Transact dashboard at ${server.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await client.destroy();
  return 0;
}
