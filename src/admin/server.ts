// The operator console: a small HTTP server over DBOSClient (no SQL of its own, either backend) that serves one page
// (page.ts, no build step) and the JSON API the page reads. See "The operator console" in the README for the threat
// model; in short, the server trusts nothing a browser sends on its own:
//
//  - every /api call needs `Authorization: Bearer <token>` (a random token printed at start, or one given), which a
//    cross-site page can neither read nor make a browser attach (forms and no-cors fetches cannot set it);
//  - the Host header must name the address the server is bound to (DNS rebinding: a page on evil.example whose
//    name now resolves to 127.0.0.1 sends `Host: evil.example`), and an Origin header, when sent, must be this
//    server's own; cross-site fetch metadata is refused;
//  - a POST body must be `application/json` (a form can only send text/plain, urlencoded or multipart) and at most
//    `maxBodyBytes`;
//  - every response carries a Content-Security-Policy without inline script, `frame-ancestors 'none'` and
//    X-Frame-Options (no clickjacking), nosniff, no-referrer and no-store.
//
//   GET  /                                   the page (also /console.js, /console.css)
//   GET  /api/workflows?status=&name=&queue=&version=&executor=&search=&from=&to=&parent=&topLevel=1&children=1&forks=1&limit=&offset=
//                                            newest first: { workflows, total, limit, offset }
//   GET  /api/workflows/:id                  { workflow, steps, children, forks }
//   GET  /api/workflows/:id/history          its recorded execution (DBOSClient.exportWorkflowHistory), for replayTest
//   POST /api/workflows/:id/cancel|resume    POST /api/workflows/:id/fork {startStep, newWorkflowID?}
//   POST /api/workflows/:id/rewind {startStep?}                       POST /api/workflows/:id/delete {deleteChildren?}
//   POST /api/bulk/preview {action, filter}  how many workflows a bulk cancel/resume would touch, and which
//   POST /api/bulk/apply {action, workflowIDs}
//   GET  /api/facets                         names, queues, versions, executors seen (filter suggestions)
//   GET  /api/queues   GET /api/schedules   GET /api/executors   GET /api/versions
//   GET  /api/receivers                      the event receivers of the process the console runs in (src/receivers/
//                                            status.ts): { host, pid, receivers: [{source, name, group, state,
//                                            crashes, lastCrash, taken, stored, finished, lag, sinceMs}] }; a console
//                                            started on its own (the CLI) has none
//   POST /api/schedules/:name/pause|resume|trigger     POST /api/schedules/:name/backfill {start, end, confirm?}
//   GET  /dbos-healthz                       liveness, as DBOS's admin server answers it
//   GET  /healthz, /readyz                   liveness; readiness (the client's database answers), src/ops/http.ts
//   GET  /metrics                            this process's metrics in Prometheus's text format (needs the token)
//
// Answers: 200 done, 400 bad input, 401 no or wrong token, 403 foreign Origin, 404 not found, 409 refused (the
// reason in `error`), 413 body too large, 415 not JSON, 421 foreign Host, 503 the database is unreachable
// (`outage: true`, the cause in `error`).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { DBOSClient } from '../client/client.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { checkTimeText } from '../validation.js';
import {
  BadInput,
  bulkApply,
  bulkPreview,
  cancelOne,
  classify,
  deleteMany,
  existingSchedule,
  forkOne,
  NotFound,
  Refused,
  resumeOne,
  rewindOne,
  toWorkflowsInput,
  Unreachable,
  toJson,
  withNextFire,
  type OperatorFilter,
} from './operations.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './page.js';
import { CronSchedule } from '../scheduler/cron.js';
import { operationsReply, within, type ReadinessProbe } from '../ops/http.js';
import { receiverStatuses } from '../receivers/status.js';

export interface AdminServer {
  /** Where the server listens, e.g. http://127.0.0.1:3001 */
  readonly url: string;
  /** The token every API call must carry. */
  readonly token: string;
  /** The page's address with the token in its fragment (which never leaves the browser): open this. */
  readonly consoleUrl: string;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  /** Default 3001; 0 picks a free port. */
  port?: number;
  /** The address to bind, default 127.0.0.1. Anything but a loopback address needs an explicit `token`. */
  host?: string;
  /** The API token; default: 32 random bytes, new at every start. */
  token?: string;
  /** Further Host header values to accept (`name` or `name:port`), e.g. the name of a reverse proxy. */
  allowedHosts?: string[];
  /** The largest POST body accepted (bytes, default 64 KiB). */
  maxBodyBytes?: number;
  /** An API call that has no answer from the database after this long answers 503 (ms, default 8000). */
  apiTimeoutMs?: number;
  /** The executors' lease, to mark the ones silent longer as presumed dead (ms, default 30000). */
  executorLeaseMs?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host.replace(/^\[|\]$/g, ''));
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The operator's filter from query parameters (several values of a key: any of them). */
function filterOf(q: URLSearchParams): OperatorFilter {
  const many = (key: string) => (q.getAll(key).length ? q.getAll(key) : undefined);
  const flag = (key: string) => q.get(key) === '1' || q.get(key) === 'true';
  return {
    status: many('status'),
    name: many('name'),
    queue: many('queue'),
    version: many('version'),
    executor: many('executor'),
    search: q.get('search') ?? undefined,
    from: q.get('from') ?? undefined,
    to: q.get('to') ?? undefined,
    parent: q.get('parent') ?? undefined,
    topLevel: flag('topLevel'),
    children: flag('children'),
    forks: flag('forks'),
  };
}

/** The same from a JSON body (bulk actions). */
function filterOfBody(raw: unknown): OperatorFilter {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadInput('filter must be an object');
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === undefined || one === null || one === false) continue;
      if (typeof one !== 'string' && typeof one !== 'number' && typeof one !== 'boolean') throw new BadInput(`filter.${key} must be text`);
      q.append(key, one === true ? '1' : String(one));
    }
  }
  return filterOf(q);
}

function wholeNumber(value: unknown, what: string, fallback?: number, max?: number): number {
  if (value === undefined || value === null || value === '') {
    if (fallback === undefined) throw new BadInput(`${what} is missing`);
    return fallback;
  }
  const n = typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new BadInput(`${what} must be a whole number, 0 or more; got ${JSON.stringify(value)}`);
  if (max !== undefined && n > max) throw new BadInput(`${what} must be at most ${max}`);
  return n;
}

function optionalText(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new BadInput(`${what} must be text`);
  return value;
}

/** A row of the list: what the table shows, without inputs and outputs. */
function summary(w: WorkflowStatus) {
  return {
    workflowID: w.workflowID,
    status: w.status,
    workflowName: w.workflowName,
    workflowClassName: w.workflowClassName,
    queueName: w.queueName ?? null,
    createdAt: w.createdAt,
    updatedAt: w.updatedAt ?? null,
    dequeuedAt: w.dequeuedAt ?? null,
    completedAt: w.completedAt ?? null,
    executorId: w.executorId ?? null,
    applicationVersion: w.applicationVersion ?? null,
    parentWorkflowID: w.parentWorkflowID ?? null,
    forkedFrom: w.forkedFrom ?? null,
    recoveryAttempts: w.recoveryAttempts ?? 0,
  };
}

const MAX_PAGE = 500;
const MAX_BULK = 1000;

interface Reply {
  status: number;
  type: string;
  body: string;
}

class Console {
  constructor(
    private readonly client: DBOSClient,
    private readonly leaseMs: number,
  ) {}

  async api(method: string, parts: string[], query: URLSearchParams, body: () => Promise<Record<string, unknown>>): Promise<unknown> {
    const c = this.client;
    const [, area, name, action] = parts;
    if (method === 'GET' && area === 'workflows' && name === undefined) {
      const input = toWorkflowsInput(filterOf(query));
      const limit = wholeNumber(query.get('limit'), 'limit', 50, MAX_PAGE);
      const offset = wholeNumber(query.get('offset'), 'offset', 0);
      const [rows, total] = await Promise.all([
        c.listWorkflows({ ...input, limit, offset, sortDesc: true, loadInput: false, loadOutput: false }),
        c.countWorkflows(input),
      ]);
      return { workflows: rows.map(summary), total, limit, offset };
    }
    if (method === 'GET' && area === 'workflows' && name !== undefined && action === undefined) {
      const workflow = await c.getWorkflow(name);
      if (!workflow) throw new NotFound(`workflow ${name} does not exist`);
      const related = { limit: 200, sortDesc: true, loadInput: false, loadOutput: false };
      const [steps, children, forks] = await Promise.all([
        c.listWorkflowSteps(name),
        c.listWorkflows({ ...related, parentWorkflowID: name }),
        c.listWorkflows({ ...related, forkedFrom: name }),
      ]);
      return { workflow, steps: steps ?? [], children: children.map(summary), forks: forks.map(summary) };
    }
    if (method === 'GET' && area === 'workflows' && name !== undefined && action === 'history') {
      const history = await c.exportWorkflowHistory(name);
      if (!history) throw new NotFound(`workflow ${name} does not exist`);
      return history;
    }
    if (method === 'POST' && area === 'workflows' && name !== undefined) {
      const b = await body();
      if (action === 'cancel') return cancelOne(c, name);
      if (action === 'resume') return resumeOne(c, name);
      if (action === 'fork') {
        return forkOne(c, name, wholeNumber(b.startStep, 'startStep'), { newWorkflowID: optionalText(b.newWorkflowID, 'newWorkflowID') });
      }
      if (action === 'rewind') return rewindOne(c, name, wholeNumber(b.startStep, 'startStep', 0));
      if (action === 'delete') return deleteMany(c, [name], b.deleteChildren === true);
    }
    if (method === 'POST' && area === 'bulk') {
      const b = await body();
      if (b.action !== 'cancel' && b.action !== 'resume') throw new BadInput('action must be "cancel" or "resume"');
      if (name === 'preview') return bulkPreview(c, b.action, toWorkflowsInput(filterOfBody(b.filter)), MAX_BULK);
      if (name === 'apply') {
        const ids = b.workflowIDs;
        if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw new BadInput('workflowIDs must be a list of workflow IDs');
        if (ids.length > MAX_BULK) throw new BadInput(`at most ${MAX_BULK} workflows at once`);
        return bulkApply(c, b.action, ids as string[]);
      }
    }
    if (method === 'GET' && area === 'facets') return c.workflowFacets();
    if (method === 'GET' && area === 'queues') return this.queues();
    if (method === 'GET' && area === 'versions') return c.listApplicationVersions();
    if (method === 'GET' && area === 'executors') return this.executors();
    if (method === 'GET' && area === 'receivers' && name === undefined) return this.receivers();
    if (method === 'GET' && area === 'schedules' && name === undefined) return (await c.listSchedules()).map((s) => withNextFire(s));
    if (method === 'POST' && area === 'schedules' && name !== undefined) return this.scheduleAction(name, action, await body());
    throw new HttpError(404, `no such endpoint: ${method} /${parts.join('/')}`);
  }

  private async queues() {
    const [registered, activity] = await Promise.all([this.client.listQueues(), this.client.listQueueActivity()]);
    const byName = new Map<string, Record<string, unknown>>();
    const idle = { waiting: 0, delayed: 0, running: 0, oldestWaitingCreatedAt: null };
    for (const q of registered) {
      byName.set(q.name, { queueName: q.name, registered: true, ...idle, ...q.options(), applicationName: q.applicationName ?? null });
    }
    for (const a of activity) byName.set(a.queueName, { registered: false, ...byName.get(a.queueName), ...a });
    return [...byName.values()].sort((a, b) => String(a.queueName).localeCompare(String(b.queueName)));
  }

  private receivers() {
    const order = (r: { source: string; name: string; group: string }) => `${r.source}\u0000${r.name}\u0000${r.group}`;
    const receivers = receiverStatuses().sort((a, b) => order(a).localeCompare(order(b)));
    return { host: hostname(), pid: process.pid, nowMs: Date.now(), receivers };
  }

  private async executors() {
    const executors = await this.client.listExecutors();
    const running = await Promise.all(executors.map((e) => this.client.countWorkflows({ executorId: e.executorID, status: 'PENDING' })));
    return {
      leaseMs: this.leaseMs,
      executors: executors.map((e, i) => ({ ...e, pending: running[i], state: e.silentMs <= this.leaseMs ? 'alive' : 'silent' })),
    };
  }

  private async scheduleAction(name: string, action: string | undefined, b: Record<string, unknown>) {
    const c = this.client;
    const schedule = await existingSchedule(c, name);
    if (action === 'pause') {
      if (schedule.status === 'PAUSED') throw new Refused(`schedule ${name} is already paused`);
      await c.pauseSchedule(name);
      return { scheduleName: name, message: `paused schedule ${name}: no ticks fire until it is resumed` };
    }
    if (action === 'resume') {
      if (schedule.status === 'ACTIVE') throw new Refused(`schedule ${name} is already active`);
      await c.resumeSchedule(name);
      return { scheduleName: name, message: `resumed schedule ${name}` };
    }
    if (action === 'trigger') {
      const handle = await c.triggerSchedule(name);
      return { scheduleName: name, workflowID: handle.workflowID, message: `triggered schedule ${name}: started ${handle.workflowID}` };
    }
    if (action === 'backfill') {
      const start = checkTimeText('start', optionalText(b.start, 'start') ?? '');
      const end = checkTimeText('end', optionalText(b.end, 'end') ?? '');
      if (start >= end) throw new BadInput('the backfill range ends before it starts');
      let ticks = 0;
      for (const _ of CronSchedule.parse(schedule.schedule, schedule.cronTimezone).ticksBetween(new Date(start), new Date(end))) {
        if (++ticks > 10_000) throw new BadInput('more than 10000 ticks in that range: choose a shorter one');
      }
      if (b.confirm !== true) return { scheduleName: name, ticks, message: `${ticks} ticks in that range` };
      const handles = await c.backfillSchedule(name, new Date(start), new Date(end));
      return {
        scheduleName: name,
        ticks,
        workflowIDs: handles.map((h) => h.workflowID),
        message: `backfilled schedule ${name}: ${handles.length} ticks enqueued (ticks that already ran are not run again)`,
      };
    }
    throw new HttpError(404, `no such schedule action: ${action}`);
  }
}

/** The Host header values that name this server, or undefined when any IP literal (with our port) is accepted. */
function hostMatcher(boundHost: string, port: number, extra: string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const add = (h: string) => exact.add(h.toLowerCase());
  const withPort = (h: string) => (isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`);
  const wildcard = boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '';
  if (isLoopback(boundHost) || wildcard) {
    for (const h of ['127.0.0.1', 'localhost', '::1']) add(withPort(h));
  }
  add(withPort(boundHost));
  if (wildcard) add(withPort(hostname()));
  for (const h of extra) add(h.includes(':') && !h.startsWith('[') && isIP(h) !== 6 ? h : withPort(h));
  return (host: string) => {
    const h = host.toLowerCase();
    if (exact.has(h)) return true;
    if (!wildcard) return false;
    // Bound to every interface: any IP literal the machine may be reached at, on our port (a name could be rebound).
    const m = /^\[?([0-9a-f:.]+)\]?:(\d+)$/.exec(h);
    return !!m && isIP(m[1]!) !== 0 && Number(m[2]) === port;
  };
}

function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  // Every POST, even one without a body, must say it sends JSON: a cross-site form can only send text/plain,
  // urlencoded or multipart bodies, and a no-cors fetch cannot send application/json.
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'a POST must send its body as application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unreachable(`the system database did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function statusOf(err: Error): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof BadInput) return 400;
  if (err instanceof NotFound) return 404;
  if (err instanceof Refused) return 409;
  if (err instanceof Unreachable) return 503;
  return 500;
}

/** Serves the console for the database `client` reads. */
export async function startAdminServer(client: DBOSClient, options: AdminServerOptions = {}): Promise<AdminServer> {
  const boundHost = options.host ?? '127.0.0.1';
  if (!isLoopback(boundHost) && !options.token) {
    throw new Error(
      `refusing to serve the console on ${boundHost} without a token: anyone who can reach that address could read and change ` +
        'every workflow. Give a token (--token, or TRANSACT_CONSOLE_TOKEN), or bind to 127.0.0.1.',
    );
  }
  if (options.token !== undefined && options.token.length < 16) throw new Error('the console token must be at least 16 characters long');
  const token = options.token ?? randomBytes(32).toString('base64url');
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const apiTimeout = options.apiTimeoutMs ?? 8000;
  const console_ = new Console(client, options.executorLeaseMs ?? 30_000);
  let allowedHost: (host: string) => boolean = () => false;
  const probe: ReadinessProbe = async () => {
    try {
      await within(client.checkDatabase(), 2000, 'the system database');
      return { ready: true, checks: { database: { ok: true } } };
    } catch (err) {
      return { ready: false, checks: { database: { ok: false, detail: (err as Error)?.message ?? String(err) } } };
    }
  };

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/dbos-healthz') return { status: 200, type: 'text/plain', body: 'healthy' };
    if (url.pathname === '/healthz' || url.pathname === '/readyz') {
      const reply = await operationsReply(method, url.pathname, probe);
      if (reply) return reply;
    }
    const host = req.headers.host ?? '';
    if (!allowedHost(host)) throw new HttpError(421, `this console does not answer to the host name ${JSON.stringify(host)}`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) throw new HttpError(403, `requests from ${origin} are not accepted`);
    const site = req.headers['sec-fetch-site'];
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    if (isApi && site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, `${site} requests are not accepted`);
    if (url.pathname === '/metrics') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !tokensEqual(bearer, token)) throw new HttpError(401, '/metrics needs the console token (Authorization: Bearer <token>)');
      const reply = await operationsReply(method, url.pathname, probe);
      if (reply) return reply;
    }
    if (!isApi) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed here`);
      if (url.pathname === '/') return { status: 200, type: 'text/html; charset=utf-8', body: CONSOLE_HTML };
      if (url.pathname === '/console.js') return { status: 200, type: 'text/javascript; charset=utf-8', body: CONSOLE_JS };
      if (url.pathname === '/console.css') return { status: 200, type: 'text/css; charset=utf-8', body: CONSOLE_CSS };
      throw new HttpError(404, `no such page: ${url.pathname}`);
    }
    const auth = req.headers.authorization ?? '';
    const given = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!given || !tokensEqual(given, token)) {
      throw new HttpError(401, given ? 'wrong token' : 'this API needs the console token (Authorization: Bearer <token>)');
    }
    if (method !== 'GET' && method !== 'POST') throw new HttpError(405, `${method} is not allowed`);
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'the path is not valid percent-encoding');
    }
    // A POST's body is read (and its type and size checked) before anything is done.
    const body = method === 'POST' ? await readBody(req, maxBody) : {};
    const result = await withDeadline(console_.api(method, parts, url.searchParams, async () => body), apiTimeout);
    return { status: 200, type: 'application/json', body: toJson(result) };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .then(({ status, type, body }) => {
        res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch((err: unknown) => {
        const e = classify(err);
        const status = statusOf(e);
        const extra = e instanceof HttpError ? e.extra : e instanceof Unreachable ? { outage: true } : {};
        res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', ...(status === 413 ? { connection: 'close' } : {}) });
        res.end(JSON.stringify({ error: status === 500 ? `internal error: ${e.message}` : e.message, ...extra }));
        if (status === 413) req.resume();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3001, boundHost, resolve);
  });
  const address = server.address() as AddressInfo;
  allowedHost = hostMatcher(boundHost, address.port, options.allowedHosts ?? []);
  const shownHost = isIP(address.address) === 6 ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  return {
    url,
    token,
    consoleUrl: `${url}/#token=${encodeURIComponent(token)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
