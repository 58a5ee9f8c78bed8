// One corrupt row never stops the engine (the exactly-once issue): rows are damaged directly with SQL, the way a hand
// edit, another tool or an older version would leave them, next to healthy work on the same queue. The healthy work
// completes, each damaged workflow ends ERROR with a DBOSCorruptRowError that names it and the column, reads of
// damaged values get that error too, listings (the API, the client, the CLI, the dashboard's API) still work, and
// the dispatcher keeps taking new work.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS, DBOSClient, DBOSCorruptRowError, startAdminServer, WorkflowQueue } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, type BackendKind } from '../support/backends.js';
import { execSql as exec } from '../support/exec.js';
import { launchOn, TEST_APP } from '../support/launch.js';

new WorkflowQueue('corrupt-queue');

const echo = DBOS.registerWorkflow(async (x: string) => `echo ${x}`, { name: 'corruptEcho' });

const stepOne = DBOS.registerStep(async () => 'fresh', { name: 'stepOne' });
DBOS.registerWorkflow(
  async () => {
    try {
      return await stepOne();
    } catch {
      return 'caught'; // swallowing the error must not let a replay go on past an unreadable step
    }
  },
  { name: 'corruptStepper' },
);

DBOS.registerWorkflow(
  async () => {
    try {
      return await DBOS.recv<string>('topic', 30);
    } catch {
      return 'caught';
    }
  },
  { name: 'corruptReceiver' },
);

after(dropFreshDatabases);

/** The workflow's outcome as a client sees it: the DBOSCorruptRowError it ended with. */
async function corruptOutcome(client: DBOSClient, workflowID: string): Promise<DBOSCorruptRowError> {
  const err = await client.retrieveWorkflow(workflowID).getResult().then(
    (value) => assert.fail(`${workflowID} succeeded with ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DBOSCorruptRowError, `${workflowID}: ${String(err)}`);
  assert.equal(err.dbosErrorCode, 1002);
  assert.match(err.message, new RegExp(`Workflow ${workflowID}\\b`));
  return err;
}

describeEachBackend('corrupt rows', (kind: BackendKind) => {
  let url = '';
  let client: DBOSClient;
  const id = (name: string) => `${name}-${kind}`;
  // Damaged rows, in the order they were enqueued (ahead of the healthy work, so a claim meets them first).
  const damaged: Record<string, { sql: string; column: RegExp }> = {
    roles: { sql: `UPDATE dbos.workflow_status SET authenticated_roles = '[not json' WHERE workflow_uuid = $1`, column: /authenticated_roles/ },
    rolesShape: { sql: `UPDATE dbos.workflow_status SET authenticated_roles = '{"admin": true}' WHERE workflow_uuid = $1`, column: /authenticated_roles/ },
    serialization: { sql: `UPDATE dbos.workflow_status SET serialization = 'klingon' WHERE workflow_uuid = $1`, column: /workflow_status\.serialization/ },
    deadline: { sql: `UPDATE dbos.workflow_status SET workflow_deadline_epoch_ms = 100000000000000000 WHERE workflow_uuid = $1`, column: /workflow_deadline_epoch_ms/ },
    timeout: { sql: `UPDATE dbos.workflow_status SET workflow_timeout_ms = -5 WHERE workflow_uuid = $1`, column: /workflow_timeout_ms/ },
    inputs: { sql: `UPDATE dbos.workflow_input SET inputs = '{not json' WHERE workflow_uuid = $1`, column: /workflow_input\.inputs/ },
  };
  // Damaged in columns a run does not depend on: the workflow runs, and listings show the field as null or raw.
  const descriptive: Record<string, string> = {
    // PostgreSQL's JSONB cannot hold text that is not JSON; a JSON value that is not an object is as unreadable.
    attributes:
      kind === 'sqlite'
        ? `UPDATE dbos.workflow_status SET attributes = '{not json' WHERE workflow_uuid = $1`
        : `UPDATE dbos.workflow_status SET attributes = '[1, 2]'::jsonb WHERE workflow_uuid = $1`,
    createdAt: `UPDATE dbos.workflow_status SET created_at = 100000000000000000 WHERE workflow_uuid = $1`,
    updatedAt: `UPDATE dbos.workflow_status SET updated_at = -100000000000000000 WHERE workflow_uuid = $1`,
  };

  before(async () => {
    url = freshDatabase(kind, 'corrupt');
    await DBOS.migrate(url);
    client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: TEST_APP });
    const enqueue = (workflowID: string, workflowName = 'corruptEcho') =>
      client.enqueue({ queueName: 'corrupt-queue', workflowName, workflowID, authenticatedRoles: ['user'] }, workflowID);
    for (const name of Object.keys(damaged)) await enqueue(id(name));
    for (const name of Object.keys(descriptive)) await enqueue(id(name));
    await enqueue(id('step'), 'corruptStepper');
    await enqueue(id('message'), 'corruptReceiver');
    await client.enqueue({ queueName: 'corrupt-queue', workflowName: 'corruptEcho', workflowID: id('unknown-status') }, 'x');
    await client.enqueue({ queueName: 'corrupt-queue', workflowName: 'corruptEcho', workflowID: id('delay'), delaySeconds: 3600 }, id('delay'));
    for (let i = 0; i < 3; i++) await enqueue(id(`healthy${i}`));

    for (const [name, { sql }] of Object.entries(damaged)) await exec(url, sql, [id(name)]);
    for (const [name, sql] of Object.entries(descriptive)) await exec(url, sql, [id(name)]);
    await exec(url, `UPDATE dbos.workflow_status SET status = 'WEIRD' WHERE workflow_uuid = $1`, [id('unknown-status')]);
    // A delay that is not a time: SQLite's columns take text (the promoter once spun on it, never promoting it).
    const delay = kind === 'sqlite' ? `'soon'` : '-100000000000000000';
    await exec(url, `UPDATE dbos.workflow_status SET delay_until_epoch_ms = ${delay} WHERE workflow_uuid = $1`, [id('delay')]);
    // A recorded step whose output cannot be decoded: the claim finds it and replays.
    await exec(
      url,
      `INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, output, serialization, started_at_epoch_ms, completed_at_epoch_ms)
       VALUES ($1, 0, 'stepOne', '{not json', 'js_superjson', 1, 2)`,
      [id('step')],
    );
    await exec(
      url,
      `INSERT INTO dbos.notifications (message_uuid, destination_uuid, topic, message, serialization) VALUES ($1, $2, 'topic', '{not json', 'js_superjson')`,
      [`m-${kind}`, id('message')],
    );
    await launchOn(url);
  });

  after(async () => {
    await DBOS.shutdown();
    await client?.destroy();
  });

  it('healthy work on the same queue completes, and so does work with unreadable descriptive fields', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await client.retrieveWorkflow(id(`healthy${i}`)).getResult(), `echo ${id(`healthy${i}`)}`);
    for (const name of Object.keys(descriptive)) assert.equal(await client.retrieveWorkflow(id(name)).getResult(), `echo ${id(name)}`);
    assert.equal(await client.retrieveWorkflow(id('delay')).getResult(), `echo ${id('delay')}`, 'an unreadable delay is due');
  });

  it('each workflow_status or workflow_input column a run needs, damaged, ends that workflow in ERROR, naming the column', async () => {
    for (const [name, { column }] of Object.entries(damaged)) {
      const err = await corruptOutcome(client, id(name));
      assert.match(err.message, column, name);
      const status = await DBOS.getWorkflowStatus(id(name));
      assert.equal(status?.status, 'ERROR');
      assert.ok(status?.error instanceof DBOSCorruptRowError, 'recorded as its outcome');
    }
  });

  it('an unreadable recorded step fails the replay, even when the workflow catches the error', async () => {
    const err = await corruptOutcome(client, id('step'));
    assert.match(err.message, /operation_outputs\.output of step 0 \(stepOne\)/);
    const steps = await DBOS.listWorkflowSteps(id('step'));
    assert.equal(steps?.[0]?.output, '{not json', 'the step listing shows the raw text');
  });

  it('an unreadable message fails the workflow that received it, naming notifications.message', async () => {
    const err = await corruptOutcome(client, id('message'));
    assert.match(err.message, /notifications\.message/);
  });

  it('an unknown status is listed as it is, and a wait for its outcome is a DBOSCorruptRowError, not a wait forever', async () => {
    const [row] = await DBOS.listWorkflows({ workflowIDs: [id('unknown-status')] });
    assert.equal(row?.status, 'WEIRD');
    await assert.rejects(client.retrieveWorkflow(id('unknown-status')).getResult(), (e: unknown) => {
      assert.ok(e instanceof DBOSCorruptRowError);
      assert.match(e.message, /workflow_status\.status/);
      return true;
    });
  });

  it('reading a damaged output, event or stream value is a DBOSCorruptRowError naming it', async () => {
    const done = id('healthy0');
    await client.retrieveWorkflow(done).getResult();
    await exec(url, `UPDATE dbos.workflow_output SET output = '{not json' WHERE workflow_uuid = $1`, [done]);
    await assert.rejects(client.retrieveWorkflow(done).getResult(), (e: unknown) => e instanceof DBOSCorruptRowError && /workflow_output\.output/.test(e.message));
    await assert.rejects(DBOS.retrieveWorkflow(done).getResult(), DBOSCorruptRowError);

    await exec(url, `INSERT INTO dbos.workflow_events (workflow_uuid, key, value, serialization) VALUES ($1, 'k', '{not json', 'js_superjson')`, [done]);
    await assert.rejects(DBOS.getEvent(done, 'k', 1), (e: unknown) => e instanceof DBOSCorruptRowError && /workflow_events\.value/.test(e.message));
    await assert.rejects(client.getEvent(done, 'k', 1), DBOSCorruptRowError);

    await exec(url, `INSERT INTO dbos.streams (workflow_uuid, key, value, "offset", serialization) VALUES ($1, 's', '{not json', 0, 'js_superjson')`, [done]);
    const read = async (iterator: AsyncGenerator<unknown>) => {
      for await (const _ of iterator) assert.fail('no value can be read');
    };
    await assert.rejects(read(DBOS.readStream(done, 's')), (e: unknown) => e instanceof DBOSCorruptRowError && /streams\.value/.test(e.message));
    await assert.rejects(read(client.readStream(done, 's')), DBOSCorruptRowError);
  });

  it('listings (workflows and schedules), the CLI and the dashboard show damaged rows without failing', async () => {
    const all = await DBOS.listWorkflows({ workflow_id_prefix: '', sortDesc: true });
    const byID = new Map(all.map((w) => [w.workflowID, w]));
    for (const name of [...Object.keys(damaged), ...Object.keys(descriptive), 'step', 'message', 'unknown-status']) {
      assert.ok(byID.has(id(name)), `${name} is listed`);
    }
    assert.equal(byID.get(id('attributes'))?.attributes, undefined, 'unreadable attributes are left out');
    assert.equal(byID.get(id('createdAt'))?.createdAt, 1e17, 'an out-of-range time is shown as stored');
    assert.equal(byID.get(id('roles'))?.authenticatedRoles, undefined);
    assert.equal((await client.listWorkflows({})).length, all.length);
    await client.listQueuedWorkflows({});
    assert.ok(await DBOS.getWorkflowStatus(id('createdAt')));

    const lines: string[] = [];
    assert.equal(await main(['workflow', 'list', '--db', url], (line) => lines.push(line)), 0);
    assert.match(lines.join('\n'), /\(invalid: 100000000000000000\)/);
    lines.length = 0;
    assert.equal(await main(['workflow', 'get', id('createdAt'), '--db', url], (line) => lines.push(line)), 0);

    await client.createSchedule({ scheduleName: `yearly-${kind}`, workflowName: 'corruptEcho', schedule: '0 0 1 1 *', context: 'ok' });
    await exec(url, `UPDATE dbos.workflow_schedules SET context = '{not json' WHERE schedule_name = $1`, [`yearly-${kind}`]);
    const schedules = await DBOS.listSchedules();
    assert.equal(schedules.find((x) => x.scheduleName === `yearly-${kind}`)?.context, '{not json', 'a schedule listing shows the stored text');

    const server = await startAdminServer(client, { port: 0 });
    try {
      const response = await fetch(`${server.url}/api/workflows?limit=200`, { headers: { authorization: `Bearer ${server.token}` } });
      assert.equal(response.status, 200);
      const listed = ((await response.json()) as { workflows: { workflowID: string }[] }).workflows;
      assert.ok(listed.some((w) => w.workflowID === id('createdAt')));
    } finally {
      await server.close();
    }
  });

  it('the dispatcher keeps taking new work', async () => {
    const handle = await DBOS.startWorkflow(echo, { queueName: 'corrupt-queue' })('after');
    assert.equal(await handle.getResult(), 'echo after');
  });
});
