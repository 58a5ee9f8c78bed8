// The console's JSON API and its security checks, over a database an application runs on (both backends). The page
// itself is driven in a real browser by console-browser.test.ts.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, it } from 'node:test';
import { DBOS, DBOSClient, startAdminServer, type AdminServer } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

const ran: string[] = [];
let gate = latch();
const step = DBOS.registerStep(
  async (label: string) => {
    ran.push(label);
    return { label, at: new Date(0), big: 10n };
  },
  { name: 'record' },
);
const pipeline = DBOS.registerWorkflow(
  async (tag: string) => {
    const first = await step(`${tag}-1`);
    await gate.promise;
    return [first, await step(`${tag}-2`)];
  },
  { name: 'pipeline' },
);

after(dropFreshDatabases);

describeEachBackend('the dashboard', (kind) => {
  const databaseUrl = engineOn(kind, 'dash');
  let client: DBOSClient;
  let server: AdminServer;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
    server = await startAdminServer(client, { port: 0 });
  });
  after(async () => {
    await server.close();
    await client.destroy();
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of several shapes, checked by the assertions
  type Reply = { status: number; body: any };
  const auth = () => ({ authorization: `Bearer ${server.token}` });
  const get = async (path: string): Promise<Reply> => {
    const res = await fetch(server.url + path, { headers: auth() });
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
  };
  const post = async (path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(server.url + path, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  it('serves the page and lists, shows and steps workflows', async () => {
    gate = latch();
    gate.release();
    await (await DBOS.startWorkflow(pipeline, { workflowID: `dash-${kind}` })('a')).getResult();
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.body as string, /<title>Transact console<\/title>/);
    assert.doesNotMatch(page.body as string, /<script>|style="/, 'no inline script or style: the CSP allows none');
    const script = await get('/console.js');
    assert.doesNotThrow(() => new Function(script.body as string), 'the page script parses');
    assert.equal((await get('/dbos-healthz')).body, 'healthy');
    const list = await get('/api/workflows?status=SUCCESS&name=pipeline');
    assert.ok((list.body.workflows as { workflowID: string }[]).some((w) => w.workflowID === `dash-${kind}`));
    assert.equal(list.body.total, list.body.workflows.length);
    assert.equal((await get('/api/workflows?status=success')).status, 400, 'a status is checked');
    const one = await get(`/api/workflows/dash-${kind}`);
    assert.equal(one.body.workflow.status, 'SUCCESS');
    assert.deepEqual(
      one.body.steps.map((s: { name: string; output: unknown }) => [s.name, s.output]),
      [
        ['record', { label: 'a-1', at: '1970-01-01T00:00:00.000Z', big: '10' }],
        ['record', { label: 'a-2', at: '1970-01-01T00:00:00.000Z', big: '10' }],
      ],
    );
    assert.equal((await get('/api/workflows/nope')).status, 404);
    assert.equal((await get('/api/workflows?limit=-1')).status, 400);
  });

  it('cancels, resumes and forks through the API', async () => {
    gate = latch();
    ran.length = 0;
    const handle = await DBOS.startWorkflow(pipeline, { workflowID: `dash-ops-${kind}` })('b');
    await waitUntil(() => ran.includes('b-1'));
    assert.equal((await post(`/api/workflows/${handle.workflowID}/cancel`)).body.message, `cancelled ${handle.workflowID} (it was PENDING)`);
    await assert.rejects(handle.getResult());
    gate.release();
    await post(`/api/workflows/${handle.workflowID}/resume`);
    await DBOS.retrieveWorkflow(handle.workflowID).getResult();
    const fork = await post(`/api/workflows/${handle.workflowID}/fork`, { startStep: 1, newWorkflowID: `dash-fork-${kind}` });
    assert.equal(fork.body.forkID, `dash-fork-${kind}`);
    await DBOS.retrieveWorkflow(fork.body.forkID).getResult();
    assert.deepEqual(ran, ['b-1', 'b-2', 'b-2']);
    assert.equal((await post(`/api/workflows/${handle.workflowID}/fork`, { startStep: -1 })).status, 400);
  });

  it('rewinds and deletes through the API, and lists versions and registered queues', async () => {
    gate = latch();
    gate.release();
    ran.length = 0;
    const handle = await DBOS.startWorkflow(pipeline, { workflowID: `dash-rewind-${kind}` })('r');
    await handle.getResult();
    assert.match((await post(`/api/workflows/${handle.workflowID}/rewind`, { startStep: 1 })).body.message, /^rewound .*: it runs again from step 1$/);
    await waitUntil(async () => (await client.getWorkflow(handle.workflowID))?.status === 'SUCCESS' && ran.length === 3, {
      message: 'the rewound workflow to run its second step again',
    });
    assert.deepEqual(ran, ['r-1', 'r-2', 'r-2'], 'step 0 kept its record; step 1 ran again');

    gate = latch();
    const running = await DBOS.startWorkflow(pipeline, { workflowID: `dash-running-${kind}` })('s');
    await waitUntil(() => ran.includes('s-1'));
    assert.equal((await post(`/api/workflows/${running.workflowID}/rewind`, {})).status, 409, 'a running workflow cannot be rewound');
    gate.release();
    await running.getResult();

    assert.deepEqual((await post(`/api/workflows/${handle.workflowID}/delete`, {})).body.deleted, [handle.workflowID]);
    assert.equal((await get(`/api/workflows/${handle.workflowID}`)).status, 404);
    assert.equal((await post(`/api/workflows/${handle.workflowID}/delete`, {})).status, 404);

    const versions = await get('/api/versions');
    assert.ok(versions.body.some((v: { versionName: string }) => v.versionName === DBOS.applicationVersion));
    await DBOS.registerQueue(`dash-queue-${kind}`, { workerConcurrency: 3 });
    const queues = await get('/api/queues');
    assert.deepEqual(
      queues.body.filter((q: { queueName: string }) => q.queueName === `dash-queue-${kind}`).map((q: { workerConcurrency: number }) => q.workerConcurrency),
      [3],
    );
  });

  it('answers nothing without the token, to a foreign Host or Origin, or to a body that is not JSON or too large', async () => {
    const port = new URL(server.url).port;
    const raw = (path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request(server.url + path, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end(options.body);
      });
    const token = `Bearer ${server.token}`;
    assert.equal((await raw('/api/workflows')).status, 401);
    assert.equal((await raw('/api/workflows', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await raw('/api/workflows', { headers: { authorization: token } })).status, 200, 'the control: the same call with the token');
    assert.equal((await raw('/api/workflows', { headers: { authorization: token, host: `attacker.example:${port}` } })).status, 421);
    assert.equal((await raw('/', { headers: { host: `attacker.example:${port}` } })).status, 421, 'not even the page');
    assert.equal((await raw('/api/workflows', { headers: { authorization: token, host: `localhost:${port}` } })).status, 200);
    assert.equal((await raw('/api/workflows', { headers: { authorization: token, origin: 'http://attacker.example' } })).status, 403);
    assert.equal((await raw('/api/workflows', { headers: { authorization: token, 'sec-fetch-site': 'cross-site' } })).status, 403);
    const id = `dash-${kind}`;
    const form = await raw(`/api/workflows/${id}/delete`, { method: 'POST', headers: { authorization: token, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(form.status, 415);
    const big = await raw(`/api/workflows/${id}/fork`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({ startStep: 0, pad: 'x'.repeat(70_000) }),
    });
    assert.equal(big.status, 413);
    assert.equal((await raw(`/api/workflows/${id}/fork`, { method: 'POST', headers: { authorization: token, 'content-type': 'application/json' }, body: '[1' })).status, 400);
    assert.ok(await client.getWorkflow(id), 'nothing was deleted');
    assert.deepEqual(await client.listWorkflows({ forkedFrom: id }), [], 'nothing was forked');

    const page = await raw('/');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self';.*frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['cache-control'], 'no-store');
  });

  it('refuses to serve beyond loopback without a token of the operator\'s choosing', async () => {
    await assert.rejects(startAdminServer(client, { port: 0, host: '0.0.0.0' }), /refusing to serve the console on 0\.0\.0\.0 without a token/);
    const open = await startAdminServer(client, { port: 0, host: '0.0.0.0', token: 'a-long-operator-chosen-token' });
    try {
      const port = new URL(open.url).port;
      const res = await fetch(`http://127.0.0.1:${port}/api/versions`, { headers: { authorization: 'Bearer a-long-operator-chosen-token' } });
      assert.equal(res.status, 200);
      const rebound = await new Promise<number>((resolve, reject) => {
        request(`http://127.0.0.1:${port}/api/versions`, { headers: { host: `rebind.example:${port}`, authorization: 'Bearer a-long-operator-chosen-token' } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      assert.equal(rebound, 421, 'a host name is not accepted even on every interface');
    } finally {
      await open.close();
    }
  });
});
