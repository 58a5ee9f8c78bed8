import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import {
  DBOS,
  DBOSAwaitedWorkflowCancelledError,
  DBOSClient,
  DBOSInvalidWorkflowTransitionError,
  DBOSNonExistentWorkflowError,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { afterLooking, RECV_LOOKS, statementsDuring } from './waiting.js';

// Waits for one message; a long poll interval makes sure only a wake-up can deliver it quickly.
const receiver = DBOS.registerWorkflow(
  async (topic: string | null, options: { timeoutSeconds: number; pollingIntervalMs?: number }) =>
    DBOS.recv<unknown>(topic ?? undefined, options),
  { name: 'receiver' },
);

// After 'go', takes `count` messages from each topic in turn; a message that does not come is null.
const collector = DBOS.registerWorkflow(
  async (plan: [string | null, number][], timeoutSeconds: number = 5) => {
    await DBOS.recv('go', 30);
    const got: unknown[] = [];
    for (const [topic, count] of plan) {
      for (let i = 0; i < count; i++) got.push(await DBOS.recv(topic ?? undefined, timeoutSeconds));
    }
    return got;
  },
  { name: 'collector' },
);

const pinger = DBOS.registerWorkflow(
  async (peer: string) => {
    await DBOS.send(peer, 'ping', undefined, 'ping-key');
    const reply = await DBOS.recv<string>('pong', 30);
    return `got ${reply}`;
  },
  { name: 'pinger' },
);

const ponger = DBOS.registerWorkflow(
  async (peer: string) => {
    const ping = await DBOS.recv<string>(undefined, 30);
    await DBOS.send(peer, `${ping}-pong`, 'pong');
    return ping;
  },
  { name: 'ponger' },
);

const sendsToNowhere = DBOS.registerWorkflow(
  async () => {
    try {
      await DBOS.send('no-such-workflow', 'hello?');
      return 'sent';
    } catch (err) {
      return (err as Error).name;
    }
  },
  { name: 'sendsToNowhere' },
);

const recvInStep = DBOS.registerWorkflow(
  async () => {
    try {
      await DBOS.runStep(() => DBOS.recv('x', 1), { name: 'recvStep' });
      return 'received';
    } catch (err) {
      return (err as Error).name;
    }
  },
  { name: 'recvInStep' },
);

const sendsFromStep = DBOS.registerWorkflow(
  async (peer: string) => {
    await DBOS.runStep(() => DBOS.send(peer, 'from a step'), { name: 'sendStep' });
    return 'done';
  },
  { name: 'sendsFromStep' },
);

after(dropFreshDatabases);

describeEachBackend('messages', (kind) => {
  const url = engineOn(kind, 'msg');

  it('a workflow waiting in recv gets a message sent from outside, woken at once', async () => {
    const handle = await afterLooking(RECV_LOOKS, () =>
      DBOS.startWorkflow(receiver, { workflowID: `outside-${kind}` })('greeting', { timeoutSeconds: 60, pollingIntervalMs: 60_000 }),
    );
    const sentAt = Date.now();
    await DBOS.send(handle.workflowID, { hello: 'world', at: new Date(0) }, 'greeting');
    assert.deepEqual(await handle.getResult(), { hello: 'world', at: new Date(0) });
    assert.ok(Date.now() - sentAt < 2000, `received after ${Date.now() - sentAt} ms`);

    const rows = await queryRows(
      url(),
      'SELECT topic, consumed, consumed_by_function_id, serialization FROM dbos.notifications WHERE destination_uuid = $1',
      [handle.workflowID],
    );
    assert.deepEqual(rows.map((r) => [r.topic, Boolean(r.consumed), r.consumed_by_function_id, r.serialization]), [
      ['greeting', true, 0, 'js_superjson'],
    ]);
  });

  it('a workflow gets a message sent from a DBOSClient', async () => {
    // On PostgreSQL the notifications trigger wakes the waiter (its own poll is a minute); on SQLite the client is
    // another connection, seen at the runtime's short poll.
    const options = kind === 'postgres' ? { timeoutSeconds: 60, pollingIntervalMs: 60_000 } : { timeoutSeconds: 60 };
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(receiver, { workflowID: `client-${kind}` })(null, options));
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      const sentAt = Date.now();
      await client.send(handle.workflowID, 'from the client');
      assert.equal(await handle.getResult(), 'from the client');
      assert.ok(Date.now() - sentAt < 5000, `received after ${Date.now() - sentAt} ms`);
    } finally {
      await client.destroy();
    }
  });

  it('recv returns null at its timeout and records both its outcome and its deadline', async () => {
    const started = Date.now();
    const handle = await DBOS.startWorkflow(receiver, { workflowID: `timeout-${kind}` })('nothing', { timeoutSeconds: 0.3 });
    assert.equal(await handle.getResult(), null);
    assert.ok(Date.now() - started >= 300, 'waited for the timeout');
    const steps = await DBOS.listWorkflowSteps(handle.workflowID);
    assert.deepEqual(
      steps?.map((s) => [s.functionID, s.name, s.output]),
      [
        [0, 'DBOS.recv', null],
        [1, 'DBOS.sleep', steps?.[1]?.output],
      ],
    );
    const deadline = steps![1]!.output as number;
    assert.ok(deadline >= started + 300 && deadline < started + 2000, 'the deadline is the start plus the timeout');
  });

  it('delivers messages per topic in the order they were sent; topics are independent', async () => {
    const id = `order-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () =>
      DBOS.startWorkflow(collector, { workflowID: id })([
        ['b', 2],
        ['a', 3],
        [null, 1],
        ['a', 1],
      ], 0.3),
    );
    // Sent back to back, several within the same millisecond.
    for (const m of ['a1', 'a2', 'a3']) await DBOS.send(id, m, 'a');
    await DBOS.send(id, 'untopical');
    for (const m of ['b1', 'b2']) await DBOS.send(id, m, 'b');
    await DBOS.send(id, 'now', 'go');
    assert.deepEqual(await handle.getResult(), ['b1', 'b2', 'a1', 'a2', 'a3', 'untopical', null]);
    const topics = await queryRows(url(), 'SELECT DISTINCT topic FROM dbos.notifications WHERE destination_uuid = $1 ORDER BY topic', [id]);
    assert.deepEqual(
      topics.map((r) => r.topic),
      ['__null__topic__', 'a', 'b', 'go'],
    );
  });

  it('a workflow cancelled while waiting in recv stops at once and takes nothing', async () => {
    const handle = await afterLooking(RECV_LOOKS, () =>
      DBOS.startWorkflow(receiver, { workflowID: `cancelled-${kind}` })('never', { timeoutSeconds: 60, pollingIntervalMs: 60_000 }),
    );
    const cancelledAt = Date.now();
    await DBOS.cancelWorkflow(handle.workflowID);
    await assert.rejects(handle.getResult(), DBOSAwaitedWorkflowCancelledError);
    assert.ok(Date.now() - cancelledAt < 2000, `stopped after ${Date.now() - cancelledAt} ms`);
    await DBOS.send(handle.workflowID, 'too late', 'never');
    const rows = await queryRows(url(), 'SELECT consumed FROM dbos.notifications WHERE destination_uuid = $1', [handle.workflowID]);
    assert.deepEqual(
      rows.map((r) => Boolean(r.consumed)),
      [false],
    );
    assert.deepEqual(
      (await DBOS.listWorkflowSteps(handle.workflowID))?.map((s) => s.name),
      ['DBOS.sleep'],
      'no recv was recorded',
    );
  });

  it('a send with an idempotency key is delivered once, from any sender', async () => {
    const id = `idem-${kind}`;
    const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(collector, { workflowID: id })([['t', 2]], 0.3));
    await DBOS.send(id, 'first', 't', 'key-1');
    await DBOS.send(id, 'second', 't', 'key-1');
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      await client.send(id, 'third', 't', 'key-1');
    } finally {
      await client.destroy();
    }
    await DBOS.send(id, 'go', 'go');
    assert.deepEqual(await handle.getResult(), ['first', null]);
    const rows = await queryRows(url(), "SELECT message_uuid FROM dbos.notifications WHERE destination_uuid = $1 AND topic = 't'", [id]);
    assert.deepEqual(
      rows.map((r) => r.message_uuid),
      [`key-1::${id}`],
    );
  });

  it('sending to a workflow that does not exist is DBOSNonExistentWorkflowError, from anywhere', async () => {
    await assert.rejects(DBOS.send('no-such-workflow', 'hello?'), DBOSNonExistentWorkflowError);
    const client = await DBOSClient.create({ systemDatabaseUrl: url() });
    try {
      await assert.rejects(client.send('no-such-workflow', 'hello?'), DBOSNonExistentWorkflowError);
    } finally {
      await client.destroy();
    }
    const handle = await DBOS.startWorkflow(sendsToNowhere, { workflowID: `nowhere-${kind}` })();
    assert.equal(await handle.getResult(), 'DBOSNonExistentWorkflowError');
    const steps = await DBOS.listWorkflowSteps(handle.workflowID);
    assert.equal(steps?.[0]?.name, 'DBOS.send');
    assert.ok(steps?.[0]?.error instanceof DBOSNonExistentWorkflowError, 'the failure is checkpointed');
  });

  it('send and recv between workflows are checkpointed under the function IDs DBOS gives them', async () => {
    const a = `pinger-${kind}`;
    const b = `ponger-${kind}`;
    const pong = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(ponger, { workflowID: b })(a));
    const ping = await DBOS.startWorkflow(pinger, { workflowID: a })(b);
    assert.equal(await ping.getResult(), 'got ping-pong');
    assert.equal(await pong.getResult(), 'ping');
    assert.deepEqual(
      (await DBOS.listWorkflowSteps(a))?.map((s) => [s.functionID, s.name]),
      [
        [0, 'DBOS.send'],
        [1, 'DBOS.recv'],
        [2, 'DBOS.sleep'],
      ],
    );
    assert.deepEqual(
      (await DBOS.listWorkflowSteps(b))?.map((s) => [s.functionID, s.name]),
      [
        [0, 'DBOS.recv'],
        [1, 'DBOS.sleep'],
        [2, 'DBOS.send'],
      ],
    );
    const sent = await queryRows(url(), 'SELECT message_uuid, consumed_by_function_id FROM dbos.notifications WHERE destination_uuid = $1', [b]);
    assert.deepEqual(sent, [{ message_uuid: `ping-key::${b}`, consumed_by_function_id: 0 }]);
  });

  it('a send from inside a step is delivered; recv outside workflow code is refused', async () => {
    const peer = await afterLooking(RECV_LOOKS, () =>
      DBOS.startWorkflow(receiver, { workflowID: `step-peer-${kind}` })(null, { timeoutSeconds: 30 }),
    );
    await (await DBOS.startWorkflow(sendsFromStep, { workflowID: `step-sender-${kind}` })(peer.workflowID)).getResult();
    assert.equal(await peer.getResult(), 'from a step');
    assert.deepEqual(
      (await DBOS.listWorkflowSteps(`step-sender-${kind}`))?.map((s) => s.name),
      ['sendStep'],
    );

    await assert.rejects(DBOS.recv('x', 1), DBOSInvalidWorkflowTransitionError);
    assert.equal(await (await DBOS.startWorkflow(recvInStep)()).getResult(), 'DBOSInvalidWorkflowTransitionError');
  });

  if (kind === 'postgres') {
    it('a send costs one statement; a recv that finds its message costs two (its deadline, then the take)', async () => {
      const id = `budget-${kind}`;
      const handle = await afterLooking(RECV_LOOKS, () => DBOS.startWorkflow(collector, { workflowID: id })([['t', 1]]));
      const sendCost = await statementsDuring(() => DBOS.send(id, 'm', 't'));
      assert.deepEqual(
        Object.entries(sendCost).filter(([n]) => n.startsWith('transact_send')),
        [['transact_send', 1]],
      );
      const recvCost = await statementsDuring(async () => {
        await DBOS.send(id, 'go', 'go');
        await handle.getResult();
      });
      // go's recv and t's recv each: one deadline and one take (which found the message waiting).
      assert.equal(recvCost.transact_recv, 2);
    });
  }
});
