// The dashboard's JSON API and page, over a database an application runs on.

import assert from 'node:assert/strict';
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
  const get = async (path: string): Promise<Reply> => {
    const res = await fetch(server.url + path);
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
  };
  const post = async (path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(server.url + path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  it('serves the page and lists, shows and steps workflows', async () => {
    gate = latch();
    gate.release();
    await (await DBOS.startWorkflow(pipeline, { workflowID: `dash-${kind}` })('a')).getResult();
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.body as string, /<title>Transact dashboard<\/title>/);
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body as string)?.[1];
    assert.ok(script, 'the page carries its script');
    assert.doesNotThrow(() => new Function(script), 'the page script parses');
    assert.equal((await get('/dbos-healthz')).body, 'healthy');
    const list = await get('/api/workflows?status=SUCCESS&name=pipeline');
    assert.ok((list.body as { workflowID: string }[]).some((w) => w.workflowID === `dash-${kind}`));
    const one = await get(`/api/workflows/dash-${kind}`);
    assert.equal(one.body.status, 'SUCCESS');
    const steps = await get(`/api/workflows/dash-${kind}/steps`);
    assert.deepEqual(
      steps.body.map((s: { name: string; output: unknown }) => [s.name, s.output]),
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
    assert.deepEqual((await post(`/api/workflows/${handle.workflowID}/cancel`)).body, { cancelled: handle.workflowID });
    await assert.rejects(handle.getResult());
    gate.release();
    await post(`/api/workflows/${handle.workflowID}/resume`);
    await DBOS.retrieveWorkflow(handle.workflowID).getResult();
    const fork = await post(`/api/workflows/${handle.workflowID}/fork`, { startStep: 1, newWorkflowID: `dash-fork-${kind}` });
    assert.equal(fork.body.workflowID, `dash-fork-${kind}`);
    await DBOS.retrieveWorkflow(fork.body.workflowID).getResult();
    assert.deepEqual(ran, ['b-1', 'b-2', 'b-2']);
    assert.equal((await post(`/api/workflows/${handle.workflowID}/fork`, { startStep: -1 })).status, 400);
  });

  it('rewinds and deletes through the API, and lists versions and registered queues', async () => {
    gate = latch();
    gate.release();
    ran.length = 0;
    const handle = await DBOS.startWorkflow(pipeline, { workflowID: `dash-rewind-${kind}` })('r');
    await handle.getResult();
    assert.deepEqual((await post(`/api/workflows/${handle.workflowID}/rewind`, { startStep: 1 })).body, {
      rewound: handle.workflowID,
      workflowID: handle.workflowID,
    });
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

    assert.deepEqual((await post(`/api/workflows/${handle.workflowID}/delete`, {})).body, { deleted: handle.workflowID });
    assert.equal((await get(`/api/workflows/${handle.workflowID}`)).status, 404);
    assert.equal((await post(`/api/workflows/${handle.workflowID}/delete`, {})).status, 404);

    const versions = await get('/api/versions');
    assert.ok(versions.body.some((v: { versionName: string }) => v.versionName === DBOS.applicationVersion));
    await DBOS.registerQueue(`dash-queue-${kind}`, { workerConcurrency: 3 });
    const queues = await get('/api/queues');
    assert.deepEqual(
      queues.body.filter((q: { name: string }) => q.name === `dash-queue-${kind}`).map((q: { workerConcurrency: number }) => q.workerConcurrency),
      [3],
    );
  });
});
