import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSClient, DBOSInvalidWorkflowTransitionError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { afterLooking, EVENT_LOOKS, RECV_LOOKS, statementsDuring } from './waiting.js';

// Publishes 'started', waits to be told to go on, then publishes 'done' (the last value wins).
const publisher = DBOS.registerWorkflow(
  async () => {
    await DBOS.setEvent('status', { phase: 'started', at: new Date(1_000) });
    await DBOS.recv('continue', 30);
    await DBOS.setEvent('status', { phase: 'done', at: new Date(2_000) });
    await DBOS.setEvent('portable', [1, 'two'], { serializationType: 'portable' });
    return 'published';
  },
  { name: 'publisher' },
);

const reader = DBOS.registerWorkflow(
  async (workflowID: string, key: string, timeoutSeconds: number) => DBOS.getEvent<unknown>(workflowID, key, timeoutSeconds),
  { name: 'reader' },
);

const eventInStep = DBOS.registerWorkflow(
  async () => {
    try {
      await DBOS.runStep(() => DBOS.setEvent('k', 'v'), { name: 'setEventStep' });
      return 'set';
    } catch (err) {
      return (err as Error).name;
    }
  },
  { name: 'eventInStep' },
);

after(dropFreshDatabases);

describeEachBackend('events', (kind) => {
  const url = engineOn(kind, 'evt');

  it('an event is read from outside, from a client and from another workflow; the last value wins', async () => {
    const id = `publisher-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(publisher, { workflowID: id })());
    const started = { phase: 'started', at: new Date(1_000) };
    assert.deepEqual(await DBOS.getEvent(id, 'status', 5), started);

    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      assert.deepEqual(await client.getEvent(id, 'status', 5), started);

      const readerHandle = await DBOS.startWorkflow(reader, { workflowID: `reader-${kind}` })(id, 'status', 5);
      assert.deepEqual(await readerHandle.getResult(), started);
      const steps = await DBOS.listWorkflowSteps(readerHandle.workflowID);
      assert.deepEqual(
        steps?.map((s) => [s.functionID, s.name]),
        [
          [0, 'DBOS.getEvent'],
          [1, 'DBOS.sleep'],
        ],
      );
      assert.deepEqual(steps?.[0]?.output, started, 'what the reader saw is checkpointed');

      await DBOS.send(id, 'go', 'continue');
      assert.equal(await handle.getResult(), 'published');
      assert.deepEqual(await DBOS.getEvent(id, 'status', 5), { phase: 'done', at: new Date(2_000) });
      assert.deepEqual(await client.getEvent(id, 'portable', 5), [1, 'two']);
    } finally {
      await client.destroy();
    }

    assert.deepEqual(
      (await DBOS.listWorkflowSteps(id))?.map((s) => [s.functionID, s.name]),
      [
        [0, 'DBOS.setEvent'],
        [1, 'DBOS.recv'],
        [2, 'DBOS.sleep'],
        [3, 'DBOS.setEvent'],
        [4, 'DBOS.setEvent'],
      ],
    );
    const history = await queryRows(
      url(),
      'SELECT function_id, key, serialization FROM dbos.workflow_events_history WHERE workflow_uuid = $1 ORDER BY function_id',
      [id],
    );
    assert.deepEqual(
      history.map((r) => [r.function_id, r.key, r.serialization]),
      [
        [0, 'status', 'js_superjson'],
        [3, 'status', 'js_superjson'],
        [4, 'portable', 'portable_json'],
      ],
    );
    const current = await queryRows(url(), 'SELECT key, value FROM dbos.workflow_events WHERE workflow_uuid = $1 ORDER BY key', [id]);
    assert.deepEqual(
      current.map((r) => [r.key, r.value]),
      [
        ['portable', '[1,"two"]'],
        ['status', (await queryRows(url(), 'SELECT value FROM dbos.workflow_events_history WHERE workflow_uuid = $1 AND function_id = 3', [id]))[0]!.value],
      ],
    );
  });

  it('getEvent waits for the event to be set and wakes as soon as it is', async () => {
    const id = `late-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(publisher, { workflowID: id })());
    // Waits on a key the workflow publishes only after being told to go on.
    const { pending } = await afterLooking(EVENT_LOOKS, async () => ({
      pending: DBOS.getEvent(id, 'portable', { timeoutSeconds: 60, pollingIntervalMs: 60_000 }),
    }));
    const sentAt = Date.now();
    await DBOS.send(id, 'go', 'continue');
    const value = await pending;
    assert.ok(Date.now() - sentAt < 2000, `woke after ${Date.now() - sentAt} ms`);
    assert.deepEqual(value, [1, 'two']);
    await handle.getResult();
  });

  it('getEvent returns null at its timeout, outside and inside a workflow', async () => {
    const started = Date.now();
    assert.equal(await DBOS.getEvent('nobody', 'nothing', 0.2), null);
    assert.ok(Date.now() - started >= 200);
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      assert.equal(await client.getEvent('nobody', 'nothing', { timeoutSeconds: 0.2, pollingIntervalMs: 50 }), null);
    } finally {
      await client.destroy();
    }
    const handle = await DBOS.startWorkflow(reader, { workflowID: `nothing-${kind}` })('nobody', 'nothing', 0.2);
    assert.equal(await handle.getResult(), null);
    const steps = await DBOS.listWorkflowSteps(handle.workflowID);
    assert.deepEqual(
      steps?.map((s) => [s.name, s.name === 'DBOS.getEvent' ? s.output : 'deadline']),
      [
        ['DBOS.getEvent', null],
        ['DBOS.sleep', 'deadline'],
      ],
    );
  });

  it('setEvent outside workflow code is refused', async () => {
    await assert.rejects(DBOS.setEvent('k', 'v'), DBOSInvalidWorkflowTransitionError);
    assert.equal(await (await DBOS.startWorkflow(eventInStep)()).getResult(), 'DBOSInvalidWorkflowTransitionError');
  });

  if (kind === 'postgres') {
    it('a setEvent costs one statement, and a getEvent of a set event one read', async () => {
      const id = `budget-${kind}`;
      const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(publisher, { workflowID: id })());
      const cost = await statementsDuring(async () => {
        await DBOS.send(id, 'go', 'continue');
        await handle.getResult();
      });
      assert.equal(cost.transact_set_event, 2, 'two setEvents, one statement each');
      const readCost = await statementsDuring(() => DBOS.getEvent(id, 'status'));
      assert.equal(readCost.transact_get_event, 1);
    });
  }
});
