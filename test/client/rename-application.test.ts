// Renaming an application from a client: its queues, schedules, versions, workflows and steps move to the new name
// (the history in batches), other applications' rows stay, unclaimed rows move only when adopted, and the
// application launched under the new name runs the work the old one left queued.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSClient, DBOSError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

const noted = DBOS.registerStep(async (s: string) => s, { name: 'noted' });
const twoSteps = DBOS.registerWorkflow(async (tag: string) => [await noted(`${tag}-1`), await noted(`${tag}-2`)], { name: 'twoSteps' });
const laterWork = DBOS.registerWorkflow(async (n: number) => n + 1, { name: 'laterWork' });
const yearly = DBOS.registerWorkflow(async (_tick: Date, _context: unknown) => {}, { name: 'yearly' });
void laterWork;

const TABLES = ['queues', 'workflow_schedules', 'application_versions', 'workflow_status', 'operation_outputs'] as const;
type Owners = Record<(typeof TABLES)[number], Record<string, number>>;

/** How many rows of each table each application owns ('-' for unclaimed rows). */
async function owners(url: string): Promise<Owners> {
  const result = {} as Owners;
  for (const table of TABLES) {
    const rows = await queryRows(url, `SELECT COALESCE(application_name, '-') AS app, count(*) AS n FROM dbos.${table} GROUP BY 1`);
    result[table] = Object.fromEntries(rows.map((r) => [String(r.app), Number(r.n)]));
  }
  return result;
}

const clients: DBOSClient[] = [];
async function clientFor(url: string, applicationName?: string): Promise<DBOSClient> {
  const client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName, pollingIntervalMs: 50 });
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await DBOS.shutdown();
});
after(dropFreshDatabases);

describeEachBackend('DBOSClient.renameApplication', (kind) => {
  it('moves every row of the old name in batches, leaves other rows, and the renamed application runs its queued work', async () => {
    const url = freshDatabase(kind, 'rename');
    await launchOn(url, { name: 'old-app' });
    for (let i = 0; i < 5; i++) await twoSteps(`t${i}`);
    await DBOS.registerQueue('old-queue');
    await DBOS.createSchedule({ scheduleName: 'old-schedule', workflowFn: yearly, schedule: '0 0 1 1 *' });
    await DBOS.shutdown();

    const client = await clientFor(url, 'old-app');
    const queued = await client.enqueue({ queueName: '_dbos_internal_queue', workflowName: 'laterWork', applicationName: 'old-app' }, 41);
    const other = await clientFor(url, 'other-app');
    await other.registerQueue('other-queue');
    await other.enqueue({ queueName: '_dbos_internal_queue', workflowName: 'laterWork', delaySeconds: 3600, applicationName: 'other-app' }, 1);
    const anonymous = await clientFor(url);
    await anonymous.registerQueue('unclaimed-queue');
    await anonymous.enqueue({ queueName: '_dbos_internal_queue', workflowName: 'laterWork', delaySeconds: 3600 }, 2);

    const before = await owners(url);
    assert.deepEqual(before.workflow_status, { 'old-app': 6, 'other-app': 1, '-': 1 });
    assert.deepEqual(before.operation_outputs, { 'old-app': 10 });

    // Batches of 2: the five finished workflows and ten steps take several, each resuming after the last.
    const moved = await client.renameApplication('old-app', 'new-app', { batchSize: 2 });
    assert.deepEqual(moved, { queues: 1, schedules: 1, versions: 1, workflows: 6, steps: 10 });
    const renamed = await owners(url);
    assert.deepEqual(renamed, {
      queues: { 'new-app': 1, 'other-app': 1, '-': 1 },
      workflow_schedules: { 'new-app': 1 },
      application_versions: { 'new-app': 1 },
      workflow_status: { 'new-app': 6, 'other-app': 1, '-': 1 },
      operation_outputs: { 'new-app': 10 },
    });

    const adopted = await client.renameApplication(undefined, 'new-app', { adoptUnclaimedRows: true });
    assert.deepEqual(adopted, { queues: 1, schedules: 0, versions: 0, workflows: 1, steps: 0 });
    assert.deepEqual((await owners(url)).workflow_status, { 'new-app': 7, 'other-app': 1 });

    // The work old-app left queued is new-app's now: new-app's dispatcher takes it (it skips other applications' rows).
    await launchOn(url, { name: 'new-app' });
    assert.equal(await DBOS.retrieveWorkflow<number>(queued.workflowID).getResult(), 42);
  });

  it('moves everything in one transaction with batchSize null, and nothing when no row matches', async () => {
    const url = freshDatabase(kind, 'rename1');
    await launchOn(url, { name: 'first-name' });
    for (let i = 0; i < 3; i++) await twoSteps(`u${i}`);
    await DBOS.shutdown();
    const client = await clientFor(url);
    assert.deepEqual(await client.renameApplication('first-name', 'second-name', { batchSize: null }), {
      queues: 0,
      schedules: 0,
      versions: 1,
      workflows: 3,
      steps: 6,
    });
    assert.deepEqual(await client.renameApplication('first-name', 'third-name'), {
      queues: 0,
      schedules: 0,
      versions: 0,
      workflows: 0,
      steps: 0,
    });
    const now = await owners(url);
    assert.deepEqual(now.workflow_status, { 'second-name': 3 });
    assert.deepEqual(now.operation_outputs, { 'second-name': 6 });
  });

  it('rejects a call that names nothing to move or a batch size that is not a positive integer', async () => {
    const url = freshDatabase(kind, 'rename2');
    await launchOn(url, { name: 'some-app' });
    await DBOS.shutdown();
    const client = await clientFor(url);
    await assert.rejects(client.renameApplication(undefined, 'new-app'), DBOSError);
    await assert.rejects(client.renameApplication('some-app', ''), DBOSError);
    await assert.rejects(client.renameApplication('some-app', 'new-app', { batchSize: 0 }), DBOSError);
    await assert.rejects(client.renameApplication('some-app', 'new-app', { batchSize: 1.5 }), DBOSError);
    assert.deepEqual((await owners(url)).application_versions, { 'some-app': 1 }, 'nothing moved');
  });
});
