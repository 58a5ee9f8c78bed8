// Health and metrics over HTTP, for an orchestrator and a Prometheus scrape:
//
//   GET /healthz       200 while the process answers at all (liveness: a stuck event loop does not answer)
//   GET /readyz        200 when the process can reach its system database and its dispatchers run; 503 with the
//                      failing checks otherwise (readiness: take it out of rotation, restart it if it stays so)
//   GET /metrics       the process's metrics in Prometheus's text format (src/metrics/)
//   GET /dbos-healthz  DBOS's health path, as its admin server answers it
//
// Served by the application process itself when `runAdminServer: true` (src/ops/operations.ts), and by the operator
// console (src/admin/server.ts), which answers the same paths for the process it runs in.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../metrics/instruments.js';

export interface Check {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, Check>;
}

/** What /readyz asks. */
export type ReadinessProbe = () => Promise<Readiness>;

export interface OperationsReply {
  status: number;
  type: string;
  body: string;
}

const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The answer to one of the paths above; undefined for any other path. */
export async function operationsReply(method: string, path: string, probe: ReadinessProbe | undefined): Promise<OperationsReply | undefined> {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === '/healthz') return { status: 200, type: 'application/json', body: JSON.stringify({ status: 'live' }) };
  if (path === '/dbos-healthz') return { status: 200, type: 'text/plain', body: 'healthy' };
  if (path === '/metrics') return { status: 200, type: PROMETHEUS_TYPE, body: await registry.prometheusText() };
  if (path === '/readyz') {
    const readiness: Readiness = probe ? await probe() : { ready: false, checks: { engine: { ok: false, detail: 'not launched' } } };
    return { status: readiness.ready ? 200 : 503, type: 'application/json', body: JSON.stringify(readiness) };
  }
  return undefined;
}

/** Runs `work`, or fails with `what` after `ms`. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export interface OperationsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the paths above (and nothing else) on `port` (0: any free one). */
export async function serveOperations(port: number, host: string, probe: ReadinessProbe): Promise<OperationsServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://operations.invalid').pathname;
    operationsReply(req.method ?? 'GET', path, probe)
      .then((reply) => {
        const r = reply ?? { status: 404, type: 'application/json', body: JSON.stringify({ error: `no such path: ${path}` }) };
        res.writeHead(r.status, { 'content-type': r.type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : r.body);
      })
      .catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error)?.message ?? String(err) }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  server.unref();
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
