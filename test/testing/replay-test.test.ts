// replayTest on both backends: executions recorded by the engine (read from the system database, and exported as
// JSON) replay cleanly against the code that recorded them, and each kind of change to the code is reported at the
// first divergence, with both sides: a different step, a different child, a new operation, an early end, a different
// result. An unfinished execution replays as far as it went, and nothing past its end runs.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { failure, main } from '../../src/cli/main.js';
import { DBOS, DBOSClient, startAdminServer } from '../../src/index.js';
import { assertReplays, replayTest, type WorkflowHistory } from '../../src/testing/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';

process.env.TRANSACT_TEST_LEDGER ??= join(scratchDir('ledger'), 'ledger.log');
const { checkout, ledger } = await import('./fixtures/workflows.js');

const step = (name: string) => DBOS.registerStep(async (orderID: string) => `${name} ${orderID}`, { name });
const reserve = step('reserve');
const charge = DBOS.registerStep(async (orderID: string, cents: number) => ({ orderID, cents }), { name: 'charge' });
const ship = step('ship');
const audit = step('audit');

// The code of `checkout` after five kinds of change (registered under names of their own; replayed with its history).
const reordered = DBOS.registerWorkflow(async (orderID: string, cents: number) => {
  const charged = await charge(orderID, cents); // charge before reserving
  const reserved = await reserve(orderID);
  return { reserved, charged };
}, { name: 'checkoutReordered' });

const extraStep = DBOS.registerWorkflow(async (orderID: string, cents: number) => {
  const reserved = await reserve(orderID);
  const charged = await charge(orderID, cents);
  await DBOS.sleep(5);
  const shipped = await ship(orderID);
  const handle = await DBOS.startWorkflow(receiptFn)(orderID);
  const result = { reserved, charged, shipped, receipt: await handle.getResult() };
  await audit(orderID); // new at the end
  return result;
}, { name: 'checkoutWithAudit' });

const endsEarly = DBOS.registerWorkflow(async (orderID: string, cents: number) => {
  const reserved = await reserve(orderID);
  const charged = await charge(orderID, cents);
  return { reserved, charged, shipped: 'not any more', receipt: 'none' };
}, { name: 'checkoutEndsEarly' });

const otherResult = DBOS.registerWorkflow(async (orderID: string, cents: number) => {
  const reserved = await reserve(orderID);
  const charged = await charge(orderID, cents);
  await DBOS.sleep(5);
  const shipped = await ship(orderID);
  const handle = await DBOS.startWorkflow(receiptFn)(orderID);
  return { reserved, charged, shipped, receipt: `${await handle.getResult()}!` };
}, { name: 'checkoutOtherResult' });

const otherChild = DBOS.registerWorkflow(async (orderID: string, cents: number) => {
  const reserved = await reserve(orderID);
  const charged = await charge(orderID, cents);
  await DBOS.sleep(5);
  const shipped = await ship(orderID);
  const handle = await DBOS.startWorkflow(receiptFn, { workflowID: `receipt-${orderID}` })(orderID);
  return { reserved, charged, shipped, receipt: await handle.getResult() };
}, { name: 'checkoutOtherChild' });

const { sendReceipt: receiptFn } = await import('./fixtures/workflows.js');

// An execution that waits for a message: exported while it waits, then replayed as far as it went.
const waiter = DBOS.registerWorkflow(async (orderID: string) => {
  await reserve(orderID);
  const approval = await DBOS.recv<string>('approval', 600);
  await ship(orderID);
  return approval;
}, { name: 'waitForApproval' });

after(dropFreshDatabases);

describeEachBackend('replayTest', (kind) => {
  let url = '';
  let client: DBOSClient;
  let history: WorkflowHistory;
  before(async () => {
    url = freshDatabase(kind, 'replay');
    await launchOn(url);
    await checkout('order-r1', 1200);
    await DBOS.startWorkflow(waiter, { workflowID: 'waiting-r2' })('order-r2');
    client = await DBOSClient.create({ systemDatabaseUrl: url });
    await waitUntil(async () => (await client.listWorkflowSteps('waiting-r2'))?.some((s) => s.name === 'DBOS.recv' || s.name === 'DBOS.sleep'));
    const id = (await client.listWorkflows({ workflowName: 'checkout' }))[0]!.workflowID;
    history = JSON.parse(JSON.stringify(await client.exportWorkflowHistory(id))) as WorkflowHistory;
  });
  after(async () => {
    await client?.destroy();
    await DBOS.shutdown();
  });

  it('replays a recorded execution, by ID from the database and from exported JSON, against the same code', async () => {
    const ledgerBefore = ledger().length;
    const fromDatabase = await replayTest(history.workflow.workflowID, checkout, { systemDatabaseUrl: url });
    assertReplays(fromDatabase);
    assert.deepEqual(fromDatabase.replayed.map((o) => o.name), ['reserve', 'charge', 'DBOS.sleep', 'ship', 'sendReceipt', 'DBOS.getResult']);
    assert.equal(fromDatabase.recordedStatus, 'SUCCESS');
    assert.deepEqual(fromDatabase.replayedOutcome, fromDatabase.recordedOutcome);
    const fromJson = await replayTest(history); // the workflow registered under the history's name
    assertReplays(fromJson);
    assert.equal(ledger().length, ledgerBefore, 'a replay runs no step');
    assert.equal(history.format, 'transact.workflow-history');
    assert.equal(history.steps.length, 6);
  });

  it('reports a different step at a function ID, with both sides', async () => {
    const report = await replayTest(history, reordered);
    assert.equal(report.ok, false);
    assert.deepEqual([report.divergence!.kind, report.divergence!.functionID], ['different step', 0]);
    assert.deepEqual(report.divergence!.recorded, { name: 'reserve' });
    assert.deepEqual(report.divergence!.replayed, { name: 'charge' });
    assert.throws(() => assertReplays(report), /DIVERGED at step 0 \(different step\)[\s\S]*recorded: reserve[\s\S]*replayed: charge/);
  });

  it('reports a different child ID', async () => {
    const report = await replayTest(history, otherChild);
    assert.equal(report.divergence?.kind, 'different child', report.summary);
    assert.equal(report.divergence!.functionID, 4);
    assert.equal(report.divergence!.recorded!.childWorkflowID, `${history.workflow.workflowID}-4`);
    assert.equal(report.divergence!.replayed!.childWorkflowID, 'receipt-order-r1');
  });

  it('reports an operation the recorded execution did not have, and does not run it', async () => {
    const audits = () => ledger().filter((l) => l.startsWith('audit')).length;
    const report = await replayTest(history, extraStep);
    assert.equal(report.divergence?.kind, 'new operation', report.summary);
    assert.deepEqual([report.divergence!.functionID, report.divergence!.recorded, report.divergence!.replayed?.name], [6, null, 'audit']);
    assert.equal(audits(), 0);
  });

  it('reports code that ends before the recorded execution did', async () => {
    const report = await replayTest(history, endsEarly);
    assert.equal(report.divergence?.kind, 'ended early', report.summary);
    assert.deepEqual([report.divergence!.functionID, report.divergence!.recorded!.name, report.divergence!.replayed], [2, 'DBOS.sleep', null]);
  });

  it('reports a different result', async () => {
    const report = await replayTest(history, otherResult);
    assert.equal(report.divergence?.kind, 'result', report.summary);
    assert.match(report.divergence!.recorded!.outcome!, /"receipt":"receipt for order-r1"/);
    assert.match(report.divergence!.replayed!.outcome!, /"receipt":"receipt for order-r1!"/);
  });

  it('replays an unfinished execution as far as it went, and runs nothing past its end', async () => {
    const ships = () => ledger().filter((l) => l === 'ship order-r2').length;
    const pending = await client.exportWorkflowHistory('waiting-r2');
    assert.equal(pending!.workflow.status, 'PENDING');
    const report = await replayTest(pending!, waiter);
    assertReplays(report);
    assert.equal(report.recordedStatus, 'PENDING');
    assert.deepEqual(report.replayed.map((o) => o.name), ['reserve']);
    assert.deepEqual(report.endOfHistory, { functionID: 1, name: 'DBOS.recv' });
    assert.equal(ships(), 0);
  });

  it('exports a history from the command line and from the console API, and each replays', async () => {
    const id = history.workflow.workflowID;
    const file = join(scratchDir('export'), 'history.json');
    const lines: string[] = [];
    assert.equal(await main(['workflow', 'export', id, '--db', url, '--out', file], (l) => lines.push(l)), 0, lines.join('\n'));
    assert.match(lines.join('\n'), new RegExp(`exported ${id} \\(SUCCESS, 6 steps\\) to `));
    const fromCli = JSON.parse(readFileSync(file, 'utf8')) as WorkflowHistory;
    assert.deepEqual({ ...fromCli, exportedAt: '' }, { ...history, exportedAt: '' });
    assertReplays(await replayTest(fromCli, checkout));
    const printed: string[] = [];
    assert.equal(await main(['workflow', 'export', id, '--db', url], (l) => printed.push(l)), 0);
    assert.equal((JSON.parse(printed.join('\n')) as WorkflowHistory).steps.length, 6, 'to stdout without --out');
    assert.equal(await main(['workflow', 'export', 'nope', '--db', url], () => {}, () => {}).catch((e) => failure(e, []).code), 3, 'not found');

    const server = await startAdminServer(client, { port: 0 });
    try {
      const res = await fetch(`${server.url}/api/workflows/${encodeURIComponent(id)}/history`, { headers: { authorization: `Bearer ${server.token}` } });
      assert.equal(res.status, 200);
      const fromConsole = (await res.json()) as WorkflowHistory;
      assert.deepEqual(fromConsole.steps, history.steps);
      assertReplays(await replayTest(fromConsole, checkout));
      assert.equal((await fetch(`${server.url}/api/workflows/nope/history`, { headers: { authorization: `Bearer ${server.token}` } })).status, 404);
      assert.equal((await fetch(`${server.url}/api/workflows/${encodeURIComponent(id)}/history`)).status, 401, 'the token is required');
    } finally {
      await server.close();
    }
  });

  it('refuses what is not a history', async () => {
    await assert.rejects(replayTest({ hello: 1 } as never), /not a workflow history/);
    await assert.rejects(replayTest('no-such-workflow', checkout, { systemDatabaseUrl: url }), /no workflow no-such-workflow/);
  });
});
