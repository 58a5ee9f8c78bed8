// Metrics, health and the operations alerts, caused for real on both backends: the /metrics endpoint of a process
// launched with `runAdminServer` and an in-memory OpenTelemetry reader both read back the workflows, steps, retries,
// queue claims, statements and queue depth the test caused; /healthz and /readyz answer (and /readyz says 503 with
// the cause once PostgreSQL is stopped, on a private server); a queue whose oldest workflow waits past the threshold
// raises QueueWaitExceeded once, and a workflow no process can run raises WorkflowFailedInfrastructure.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DBOS, DBOSClient, WorkflowQueue } from '../../src/index.js';
import { launchedEngine } from '../../src/process/state.js';
import { startAdminServer } from '../../src/admin/server.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { PrivatePostgres, privatePostgresUnavailable } from '../support/private-postgres.js';
import { waitUntil } from '../support/wait.js';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
const reader = new TestReader();
// (Transact binds its instruments at launch, to the provider registered before it.)
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const alerts: { name: string; metadata: Record<string, string> }[] = [];
DBOS.setAlertHandler(async (name, _message, metadata) => {
  alerts.push({ name, metadata });
});

let attempts = 0;
const flaky = DBOS.registerStep(
  async () => {
    if (++attempts % 2 === 1) throw new Error('first attempt fails');
    return 'ok';
  },
  { name: 'obsFlakyStep', retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0.01 },
);
const retrying = DBOS.registerWorkflow(async () => flaky(), { name: 'obsRetrying' });
const failing = DBOS.registerWorkflow(
  async () => {
    throw new Error('fails on purpose');
  },
  { name: 'obsFailing' },
);
const obsQueue = new WorkflowQueue('obs-queue');

/** The value of one sample line of the exposition text (summed if several match), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

function otelPoints(collected: ResourceMetrics, name: string) {
  for (const scope of collected.scopeMetrics) for (const m of scope.metrics) if (m.descriptor.name === name) return m.dataPoints;
  return [];
}

after(dropFreshDatabases);

describeEachBackend('metrics, health and alerts', (kind) => {
  let url = '';
  let base = '';
  let client: DBOSClient;
  before(async () => {
    url = freshDatabase(kind, 'obs');
    await launchOn(url, { runAdminServer: true, adminPort: 0, adminHost: '127.0.0.1', alerts: { queueWaitThresholdMs: 300, checkIntervalMs: 100 } });
    base = launchedEngine()!.ops!.server!.url;
    await launchedEngine()!.ops!.otelBound;
    client = await DBOSClient.create({ systemDatabaseUrl: url });
  });
  after(async () => {
    await client?.destroy();
    await DBOS.shutdown();
  });

  it('reads back workflows, steps, retries, claims, statements and queue depth from /metrics and OpenTelemetry', async () => {
    const scrape0 = (await get(`${base}/metrics`)).text;
    const finished0 = sample(scrape0, 'transact_workflows_finished_total', { name: 'obsRetrying', status: 'SUCCESS' }) ?? 0;
    assert.equal(await (await DBOS.startWorkflow(retrying)()).getResult(), 'ok');
    await assert.rejects((await DBOS.startWorkflow(failing)()).getResult(), /on purpose/);
    const queued = await DBOS.startWorkflow(retrying, { queueName: obsQueue.name })();
    assert.equal(await queued.getResult(), 'ok');
    await client.enqueue({ queueName: `nobody-serves-${kind}`, workflowName: 'obsRetrying' });

    const { status, text } = await get(`${base}/metrics`);
    assert.equal(status, 200);
    assert.match(text, /# TYPE transact_workflows_finished_total counter/);
    assert.equal(sample(text, 'transact_workflows_finished_total', { name: 'obsRetrying', status: 'SUCCESS' }), finished0 + 2);
    assert.ok((sample(text, 'transact_workflows_finished_total', { name: 'obsFailing', status: 'ERROR' }) ?? 0) >= 1);
    assert.ok((sample(text, 'transact_step_retries_total', { name: 'obsFlakyStep' }) ?? 0) >= 2);
    assert.ok((sample(text, 'transact_step_duration_seconds_count', { name: 'obsFlakyStep', status: 'SUCCESS' }) ?? 0) >= 2);
    assert.ok((sample(text, 'transact_queue_claims_total', { queue: 'obs-queue', result: 'work' }) ?? 0) >= 1);
    assert.ok((sample(text, 'transact_queue_wait_seconds_count', { queue: 'obs-queue' }) ?? 0) >= 1);
    assert.equal(sample(text, 'transact_queue_depth', { queue: `nobody-serves-${kind}`, status: 'ENQUEUED' }), 1);
    assert.ok((sample(text, 'transact_db_statements_total') ?? 0) > 0, 'statements sent, by name');
    assert.ok((sample(text, 'transact_group_commit_batch_size_count') ?? 0) > 0, 'group-commit batches');
    assert.ok(text.includes('transact_workflow_duration_seconds_bucket{name="obsRetrying",status="SUCCESS",le="+Inf"}'));

    const { resourceMetrics, errors } = await reader.collect();
    assert.deepEqual(errors, []);
    const finished = otelPoints(resourceMetrics, 'transact_workflows_finished').find(
      (p) => p.attributes.name === 'obsRetrying' && p.attributes.status === 'SUCCESS',
    );
    assert.equal(finished?.value, finished0 + 2, 'the same count through OpenTelemetry');
    const steps = otelPoints(resourceMetrics, 'transact_step_duration_seconds').find((p) => p.attributes.name === 'obsFlakyStep');
    assert.ok(steps && (steps.value as { count: number }).count >= 2, 'step durations recorded as an OpenTelemetry histogram');
    const depth = otelPoints(resourceMetrics, 'transact_queue_depth').find((p) => p.attributes.queue === `nobody-serves-${kind}`);
    assert.equal(depth?.value, 1, 'queue depth as an OpenTelemetry gauge');
  });

  it('raises QueueWaitExceeded once for a queue whose oldest workflow waits past the threshold', async () => {
    const queue = `nobody-serves-${kind}`;
    await waitUntil(() => alerts.some((a) => a.name === 'QueueWaitExceeded' && a.metadata.queueName === queue), { message: 'the alert' });
    const alert = alerts.find((a) => a.name === 'QueueWaitExceeded' && a.metadata.queueName === queue)!;
    assert.ok(Number(alert.metadata.oldestWaitMs) > 300);
    assert.equal(alert.metadata.thresholdMs, '300');
    // Several checks later it has not been raised again.
    const checks = 5;
    for (let i = 0; i < checks; i++) await launchedEngine()!.ops!.queueWatch!.check();
    assert.equal(alerts.filter((a) => a.name === 'QueueWaitExceeded' && a.metadata.queueName === queue).length, 1);
  });

  it('raises WorkflowFailedInfrastructure for a workflow the process that claims it cannot run', async () => {
    const handle = await client.enqueue({ queueName: 'obs-queue', workflowName: 'notRegisteredAnywhere' });
    await assert.rejects(handle.getResult(), /not registered/i);
    await waitUntil(() => alerts.find((a) => a.name === 'WorkflowFailedInfrastructure' && a.metadata.workflowID === handle.workflowID));
  });

  it('answers /healthz and /readyz', async () => {
    const live = await get(`${base}/healthz`);
    assert.equal(live.status, 200);
    const ready = await get(`${base}/readyz`);
    assert.equal(ready.status, 200, ready.text);
    const body = JSON.parse(ready.text) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    assert.equal(body.ready, true);
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'dispatchers', 'lease']);
    assert.equal((await get(`${base}/nothing-here`)).status, 404);
  });

  it('the console answers /healthz, /readyz and, with its token, /metrics', async () => {
    const consoleServer = await startAdminServer(client, { port: 0 });
    try {
      assert.equal((await get(`${consoleServer.url}/healthz`)).status, 200);
      assert.equal((await get(`${consoleServer.url}/readyz`)).status, 200);
      assert.equal((await get(`${consoleServer.url}/metrics`)).status, 401, 'not without the token');
      const res = await fetch(`${consoleServer.url}/metrics`, { headers: { authorization: `Bearer ${consoleServer.token}` } });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /transact_workflows_finished_total/);
    } finally {
      await consoleServer.close();
    }
  });
});

describeEachBackend(
  'readiness with the database stopped',
  () => {
    let server: PrivatePostgres | undefined;
    after(async () => {
      await DBOS.shutdown();
      server?.destroy();
    });

    it('says 503 with the cause while PostgreSQL is down, stays live, and is ready again once it is back', { skip: privatePostgresUnavailable }, async () => {
      server = await PrivatePostgres.create();
      await launchOn(server.url, { runAdminServer: true, adminPort: 0, adminHost: '127.0.0.1' });
      const base = launchedEngine()!.ops!.server!.url;
      assert.equal((await get(`${base}/readyz`)).status, 200);
      server.stop();
      const down = await get(`${base}/readyz`);
      assert.equal(down.status, 503, down.text);
      const body = JSON.parse(down.text) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
      assert.equal(body.checks.database!.ok, false);
      assert.ok(body.checks.database!.detail, 'with the cause');
      assert.equal((await get(`${base}/healthz`)).status, 200, 'the process is still live');
      server.start();
      await waitUntil(async () => (await get(`${base}/readyz`)).status === 200, { message: 'ready again', timeoutMs: 30_000 });
    });
  },
  ['postgres'],
);
