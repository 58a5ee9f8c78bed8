// `transact`: the operator's command line. It reads and drives an application's workflows through DBOSClient, so it
// holds no SQL of its own and works on both backends, while the application runs.
//
//   transact workflow list [--status S] [--name N] [--queue Q] [--limit N] [--desc]
//   transact workflow get <id>          transact workflow steps <id>
//   transact workflow cancel <id>       transact workflow resume <id>
//   transact workflow fork <id> --step N [--new-id ID]
//   transact queue list                 (workflows waiting in or running from queues)
//   transact dashboard [--port 3001]    (a web page over the same operations; Ctrl-C stops it)
//
// The database: --db <url>, else DBOS_SYSTEM_DATABASE_URL, else the embedded default for --app <name>
// (sqlite:.transact/<name>.sqlite). Add --json for machine-readable output.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startAdminServer } from '../admin/server.js';
import { DBOSClient } from '../client/client.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { formatSteps, formatWorkflows, formatWorkflow } from './format.js';

const USAGE = `usage: transact <workflow|queue> <command> [args] [--db URL | --app NAME] [--json]
  workflow list [--status S] [--name N] [--queue Q] [--limit N] [--desc]
  workflow get <id> | steps <id> | cancel <id> | resume <id> | fork <id> --step N [--new-id ID]
  queue list
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

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      app: { type: 'string' },
      json: { type: 'boolean', default: false },
      status: { type: 'string', multiple: true },
      name: { type: 'string', multiple: true },
      queue: { type: 'string', multiple: true },
      limit: { type: 'string' },
      desc: { type: 'boolean', default: false },
      step: { type: 'string' },
      'new-id': { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [area, command, id] = positionals;
  if (area === 'dashboard' && !values.help) return dashboard(databaseUrl(values.db, values.app), Number(values.port ?? 3001), out);
  if (values.help || !area || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(values.db, values.app) });
  const print = (value: unknown, text: () => string) => out(values.json ? JSON.stringify(value, null, 2) : text());
  const needID = () => {
    if (!id) throw new UsageError(`workflow ${command} needs a workflow ID`);
    return id;
  };
  try {
    const key = `${area} ${command}`;
    if (key === 'workflow list' || key === 'queue list') {
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      const filter = {
        status: values.status,
        workflowName: values.name,
        queueName: values.queue,
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
      const forkID = await client.forkWorkflow(needID(), Number(values.step), { newWorkflowID: values['new-id'] });
      print({ forked: id, workflowID: forkID }, () => `forked ${id} from step ${values.step} as ${forkID}`);
    } else {
      throw new UsageError(`unknown command: ${key}\n${USAGE}`);
    }
    return 0;
  } finally {
    await client.destroy();
  }
}

/** Serves the dashboard until the process is interrupted. */
async function dashboard(url: string, port: number, out: (line: string) => void): Promise<number> {
  const client = await DBOSClient.create({ systemDatabaseUrl: url });
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
