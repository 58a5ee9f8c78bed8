// What a launched process does to be run for months (src/process/launch.ts builds it after the engine): the metric
// sources that read the engine (statements sent, queue depth, local runs), background retention and the global
// timeout, the queue-wait alert, readiness, and the health and metrics server when `runAdminServer` is set.

import { randomUUID } from 'node:crypto';
import { dbStatements, queueDepth, queueOldestWait, registry } from '../metrics/instruments.js';
import { bindOpenTelemetryMetrics, loadOpenTelemetryApi } from '../metrics/otel.js';
import type { Sample } from '../metrics/registry.js';
import type { QueueService } from '../queues/service.js';
import type { DBOSConfig } from '../runtime/config.js';
import type { Executor } from '../runtime/executor.js';
import { ping, queueAges } from '../sysdb/health.js';
import { queueActivity } from '../sysdb/activity.js';
import { serveOperations, within, type OperationsServer, type Readiness } from './http.js';
import { QueueWatch } from './queue-watch.js';
import { RetentionDuty } from './retention.js';

/** How long /readyz waits for the database to answer. */
const READY_PING_MS = 2000;

export class Operations {
  readonly retention?: RetentionDuty;
  readonly queueWatch?: QueueWatch;
  server?: OperationsServer;
  private readonly unsources: (() => void)[] = [];
  private stopping = false;
  /** Settles once the OpenTelemetry instruments exist (or the package is absent). */
  otelBound: Promise<void> = Promise.resolve();

  constructor(
    private readonly executor: Executor,
    private readonly queues: QueueService,
    private readonly config: DBOSConfig,
  ) {
    const holder = `${executor.identity.executorID}/${randomUUID().slice(0, 8)}`;
    if (config.retention) this.retention = new RetentionDuty(executor, config.retention, holder);
    const threshold = config.alerts?.queueWaitThresholdMs;
    if (threshold !== undefined) this.queueWatch = new QueueWatch(executor, { ...config.alerts, queueWaitThresholdMs: threshold }, holder);
  }

  async start(): Promise<void> {
    const { executor } = this;
    const db = executor.db;
    const app = executor.identity.applicationName;
    this.unsources.push(
      dbStatements.addSource(() => [...db.stats.byStatement].map(([name, n]) => ({ labels: [name], value: n }))),
    );
    // Read at scrape time only: one statement per gauge per scrape.
    this.unsources.push(
      queueDepth.addSource(async () =>
        (await queueActivity(db, app)).flatMap((q): Sample[] => [
          { labels: [q.queueName, 'ENQUEUED'], value: q.waiting },
          { labels: [q.queueName, 'PENDING'], value: q.running },
          { labels: [q.queueName, 'DELAYED'], value: q.delayed },
        ]),
      ),
      queueOldestWait.addSource(async () => (await queueAges(db, app)).map((q) => ({ labels: [q.queueName], value: q.oldestWaitMs / 1000 }))),
    );
    // OpenTelemetry, when installed: on the meter provider the application registered before launch. Not awaited:
    // launch does not wait for an import (recovered work may already be running).
    this.otelBound = loadOpenTelemetryApi().then((otel) => {
      if (otel) bindOpenTelemetryMetrics(otel, registry, 'transact');
    });
    this.retention?.start();
    this.queueWatch?.start();
    if (this.config.runAdminServer === true) {
      this.server = await serveOperations(this.config.adminPort ?? 3001, this.config.adminHost ?? '0.0.0.0', () => this.readiness());
      executor.logger.info(`Health and metrics at ${this.server.url} (/healthz, /readyz, /metrics)`);
    }
  }

  /** /readyz: the database answers, the dispatchers run, the executor's lease is fresh, no shutdown is under way. */
  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = {};
    try {
      await within(ping(this.executor.db), READY_PING_MS, 'the system database');
      checks.database = { ok: true };
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error)?.message ?? String(err) };
    }
    const dispatcher = this.queues.dispatcher;
    checks.dispatchers = dispatcher.healthy
      ? { ok: true, detail: `${dispatcher.laneCount} queue(s) served` }
      : { ok: false, detail: 'a queue dispatcher stopped' };
    const lease = this.executor.lease;
    checks.lease = !lease || lease.valid() ? { ok: true } : { ok: false, detail: 'the executor lease is not fresh (its heartbeat fails)' };
    if (this.stopping) checks.shutdown = { ok: false, detail: 'shutting down' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Stops the duties and the server, and removes the metric sources that read this engine. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.retention?.stop(), this.queueWatch?.stop()]);
    await this.server?.close();
    for (const remove of this.unsources.splice(0)) remove();
  }
}
