import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { DBOS, DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, launchOn } from '../support/launch.js';
import { latch, waitUntil } from '../support/wait.js';

const calls = new Map<string, number>();
const bump = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1);

class Shop {
  @DBOS.step()
  static async reserve(item: string): Promise<string> {
    bump(`reserve:${item}`);
    return `reserved ${item}`;
  }

  @DBOS.step()
  static async charge(amount: number): Promise<{ charged: number; at: Date }> {
    bump(`charge:${amount}`);
    return { charged: amount, at: new Date(1_700_000_000_000) };
  }

  @DBOS.workflow()
  static async order(item: string, amount: number): Promise<string[]> {
    const r = await Shop.reserve(item);
    const c = await Shop.charge(amount);
    return [r, `charged ${c.charged} at ${c.at.toISOString()}`];
  }
}

after(dropFreshDatabases);

describeEachBackend('workflows and steps', (kind) => {
  const databaseUrl = engineOn(kind, 'wf');
  beforeEach(() => calls.clear());

  it('runs each step once and records the steps in order', async () => {
    const handle = await DBOS.startWorkflow(Shop, { workflowID: `order-${kind}` }).order('book', 12);
    assert.deepEqual(await handle.getResult(), ['reserved book', 'charged 12 at 2023-11-14T22:13:20.000Z']);
    assert.equal(calls.get('reserve:book'), 1);
    assert.equal(calls.get('charge:12'), 1);
    const steps = await DBOS.listWorkflowSteps(`order-${kind}`);
    assert.deepEqual(
      steps?.map((s) => [s.functionID, s.name]),
      [
        [0, 'reserve'],
        [1, 'charge'],
      ],
    );
    assert.deepEqual(steps?.[1]?.output, { charged: 12, at: new Date(1_700_000_000_000) });
    const status = await handle.getStatus();
    assert.equal(status?.status, 'SUCCESS');
    assert.equal(status?.workflowName, 'order');
    assert.equal(status?.workflowClassName, 'Shop');
    assert.deepEqual(status?.input, ['book', 12]);
  });

  it('can be read from a DBOSClient', async () => {
    const client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl() });
    try {
      await DBOS.startWorkflow(Shop, { workflowID: `client-${kind}` }).order('pen', 3);
      assert.deepEqual(await client.retrieveWorkflow(`client-${kind}`).getResult(), ['reserved pen', 'charged 3 at 2023-11-14T22:13:20.000Z']);
      const listed = await client.listWorkflows({ workflowIDs: [`client-${kind}`] });
      assert.equal(listed.length, 1);
      assert.equal((await client.listWorkflowSteps(`client-${kind}`))?.length, 2);
    } finally {
      await client.destroy();
    }
  });
});

let drainGate = latch();
const drained = DBOS.registerWorkflow(
  async () => {
    const before = await Shop.reserve('before');
    await drainGate.promise;
    return [before, await Shop.reserve('after')];
  },
  { name: 'drained' },
);

describeEachBackend('shutdown with a completion timeout', (kind) => {
  const databaseUrl = engineOn(kind, 'drain');

  it('lets running workflows finish, still checkpointing their steps', async () => {
    drainGate = latch();
    const handle = await DBOS.startWorkflow(drained, { workflowID: `drained-${kind}` })();
    await waitUntil(async () => (await DBOS.listWorkflowSteps(handle.workflowID))?.length === 1);
    const stopping = DBOS.shutdown({ workflowCompletionTimeoutMS: 10_000 });
    drainGate.release(); // the workflow goes on while the facade is already shutting down
    await stopping;
    await launchOn(databaseUrl());
    assert.deepEqual(await DBOS.retrieveWorkflow(handle.workflowID).getResult(), ['reserved before', 'reserved after']);
    const steps = await DBOS.listWorkflowSteps(handle.workflowID);
    assert.deepEqual(steps?.map((s) => s.output), ['reserved before', 'reserved after'], 'the step after the shutdown began was checkpointed');
  });
});
