// The dashboard: a small HTTP server over DBOSClient (no SQL of its own, either backend) with a JSON API and one
// HTML page that lists workflows, shows a workflow's steps, and cancels, resumes or forks it.
//
//   GET  /                               the dashboard page
//   GET  /api/workflows?status=&name=&queue=&prefix=&limit=&offset=
//   GET  /api/queued                     workflows waiting in or running from queues
//   GET  /api/workflows/:id              one workflow's status
//   GET  /api/workflows/:id/steps        its steps
//   POST /api/workflows/:id/cancel       POST /api/workflows/:id/resume
//   POST /api/workflows/:id/fork         body {"startStep": N, "newWorkflowID"?: "…"}
//   POST /api/workflows/:id/rewind       body {"startStep"?: N}: a finished workflow runs again under its own ID
//   POST /api/workflows/:id/delete       body {"deleteChildren"?: true}
//   GET  /api/versions                   the application's versions, latest first
//   GET  /api/queues                     the registered queues and their limits
//   GET  /dbos-healthz                   liveness, as DBOS's admin server answers it

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DBOSClient } from '../client/client.js';
import type { GetWorkflowsInput } from '../management/inspect.js';
import { DASHBOARD_HTML } from './page.js';

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function listInput(query: URLSearchParams): GetWorkflowsInput {
  const many = (key: string) => (query.getAll(key).length ? query.getAll(key) : undefined);
  const number = (key: string, fallback?: number) => {
    const raw = query.get(key);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${key} must be a non-negative integer`);
    return n;
  };
  return {
    status: many('status'),
    workflowName: many('name'),
    queueName: many('queue'),
    workflowIDPrefix: many('prefix'),
    limit: number('limit', 100),
    offset: number('offset'),
    sortDesc: query.get('order') !== 'asc',
    loadInput: false,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = '';
  for await (const chunk of req) body += chunk;
  if (!body) return {};
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

/** JSON that survives values JSON has no form for (bigint) and shows errors by name and message. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    return v;
  });
}

async function route(client: DBOSClient, req: IncomingMessage): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const json = (value: unknown, status = 200) => ({ status, type: 'application/json', body: toJson(value) });
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (req.method === 'GET' && url.pathname === '/') return { status: 200, type: 'text/html; charset=utf-8', body: DASHBOARD_HTML };
  if (req.method === 'GET' && url.pathname === '/dbos-healthz') return { status: 200, type: 'text/plain', body: 'healthy' };
  if (parts[0] !== 'api') throw new HttpError(404, `no such page: ${url.pathname}`);
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'workflows') return json(await client.listWorkflows(listInput(url.searchParams)));
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'queued') return json(await client.listQueuedWorkflows(listInput(url.searchParams)));
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'versions') return json(await client.listApplicationVersions());
  if (req.method === 'GET' && parts.length === 2 && parts[1] === 'queues') {
    return json((await client.listQueues()).map((q) => ({ name: q.name, applicationName: q.applicationName ?? null, ...q.options() })));
  }
  if (parts[1] !== 'workflows' || !parts[2]) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
  const id = parts[2];
  const action = parts[3];
  if (req.method === 'GET' && action === undefined) {
    const status = await client.getWorkflow(id);
    if (!status) throw new HttpError(404, `workflow ${id} does not exist`);
    return json(status);
  }
  if (req.method === 'GET' && action === 'steps') {
    const steps = await client.listWorkflowSteps(id);
    if (!steps) throw new HttpError(404, `workflow ${id} does not exist`);
    return json(steps);
  }
  if (req.method === 'POST' && action === 'cancel') {
    await client.cancelWorkflow(id);
    return json({ cancelled: id });
  }
  if (req.method === 'POST' && action === 'resume') {
    await client.resumeWorkflow(id);
    return json({ resumed: id });
  }
  if (req.method === 'POST' && action === 'fork') {
    const body = await readJson(req);
    const startStep = Number(body.startStep ?? 0);
    if (!Number.isInteger(startStep) || startStep < 0) throw new HttpError(400, 'startStep must be a non-negative integer');
    const newWorkflowID = typeof body.newWorkflowID === 'string' ? body.newWorkflowID : undefined;
    return json({ forked: id, workflowID: await client.forkWorkflow(id, startStep, { newWorkflowID }) });
  }
  if (req.method === 'POST' && action === 'rewind') {
    const body = await readJson(req);
    const startStep = Number(body.startStep ?? 0);
    if (!Number.isInteger(startStep) || startStep < 0) throw new HttpError(400, 'startStep must be a non-negative integer');
    await client.rewindWorkflow(id, { startStep });
    return json({ rewound: id, workflowID: id });
  }
  if (req.method === 'POST' && action === 'delete') {
    const body = await readJson(req);
    if (!(await client.getWorkflow(id))) throw new HttpError(404, `workflow ${id} does not exist`);
    await client.deleteWorkflow(id, body.deleteChildren === true);
    return json({ deleted: id });
  }
  throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
}

/** HTTP status for a typed error: a missing workflow is 404; a step not allowed in the workflow's state is 409. */
function statusOf(err: Error): number {
  if (err instanceof HttpError) return err.status;
  const code = (err as { dbosErrorCode?: number }).dbosErrorCode;
  if (code === 16) return 404;
  if (code === 21) return 409;
  return 500;
}

/** Serves the dashboard for the database `client` reads; port 0 picks a free port. */
export async function startAdminServer(client: DBOSClient, options: { port?: number; host?: string } = {}): Promise<AdminServer> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(client, req)
      .then(({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      })
      .catch((err: Error) => {
        const status = statusOf(err);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3001, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
