// Lost replies injected at the wire. A worker reaches PostgreSQL (the shared server) through the test's proxy
// (support/pg-proxy.ts), which reads just enough of the protocol to see which named prepared statement is executed:
// asked to, it lets the server execute and commit one execution of a given statement, then closes the client's
// connection before the reply reaches it. The engine must come through each from what it can see (a connection
// error, the statement retried or reconciled), and the outcome is judged from outside:
//
//   the queue claim            the workflows it took still run, exactly once, promptly: not stranded PENDING under a
//                              live executor (no other executor exists to take them over); also the claim of a queue
//                              with a global limit, which runs in a transaction: there the reply to its COMMIT is lost
//   a step checkpoint          the step is not run again (alone, and in a group-commit batch)
//   a workflow completion      the completion is not lost, and the workflow is not run again (alone, and batched)
//   send (client and workflow) the message is delivered once
//   recv                       the message it took is returned promptly, well under the recv's timeout
//
// A lost reply explains no execution (support/verdict.ts), and no process dies, so every step runs exactly once.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';
import type { WorkerRun } from './support/cluster.js';
import { PgProxy, type LostReply } from './support/pg-proxy.js';
import { assertPromiseKept, Scenario } from './support/scenario.js';
import { failureEvidence, Mailboxes, recordServerFault, returnedTwice } from './support/server-faults.js';

const SCHEMA = 'dbos';
const statement = (name: string) => `${name}@${SCHEMA}`;
/** How long the engine may take to come through a lost reply (its backoffs are a few seconds at most). */
const PROMPT_MS = 8000;

let scenario: Scenario | undefined;
let proxy: PgProxy | undefined;
const clients: DBOSClient[] = [];
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
  await proxy?.close();
  proxy = undefined;
  for (const c of clients.splice(0)) await c.destroy().catch(() => {});
});
after(dropFreshDatabases);

/** A scenario whose one worker, w1, reaches the database through a fresh proxy. */
async function throughProxy(
  name: string,
  options: { queue?: string; workerEnv?: Record<string, string> } = {},
): Promise<{ s: Scenario; proxy: PgProxy; worker: WorkerRun }> {
  const s = (scenario = await Scenario.create({
    name,
    backend: 'postgres',
    queue: options.queue,
    workerEnv: {
      FAULT_APP_VERSION: 'faults-v1',
      FAULT_LEASE_MS: '3000',
      FAULT_WORKER_CONCURRENCY: '10',
      FAULT_STEP_MS: '10-60',
      ...options.workerEnv,
    },
  }));
  const p = (proxy = await PgProxy.start(s.systemDatabaseUrl));
  const worker = s.cluster.start('w1', { executorID: 'w1', env: { FAULT_SYSTEM_DB: p.via(s.systemDatabaseUrl) } });
  await s.cluster.ready(worker);
  return { s, proxy: p, worker };
}

/** Waits for the armed reply to be lost, with a deadline; records it in the ledger as a fault that explains nothing. */
async function lost(s: Scenario, worker: WorkerRun, pending: Promise<LostReply>, what: string, timeoutMs = 20_000): Promise<LostReply> {
  const reply = await Promise.race([
    pending,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} was executed within ${timeoutMs} ms`)), timeoutMs).unref()),
  ]);
  await recordServerFault(s, 'lost-reply', reply.cutAtMs, worker.incarnation);
  console.log(`lost-replies: the reply to ${reply.statement} (${what}) was lost at ${reply.cutAtMs}; params ${JSON.stringify(reply.params).slice(0, 300)}; ${reply.rows.length} row(s)`);
  return reply;
}

/** The drain's verdict, with no step run twice and no workflow body returning twice. */
async function assertExactlyOnce(s: Scenario): Promise<void> {
  const verdict = await s.verdict();
  for (const line of await failureEvidence(s)) console.log(`lost-replies: ${line}`);
  assertPromiseKept(verdict, s.cluster);
  assert.equal(verdict.counts.allowedExtra, 0, 'no process died: no step may have run twice');
  assert.deepEqual(returnedTwice(await s.ledger.executions()), [], 'no workflow body ran again after it returned');
}

describeEachBackend(
  'exactly once when a reply is lost at the wire',
  () => {
    it('the queue claim: what it took still runs, once, promptly', async () => {
      const { s, proxy, worker } = await throughProxy('lost-claim');
      // A claim that took at least two workflows (one that took none answers with a single row of figures).
      const pending = proxy.loseReply([statement('transact_claim')], { when: (rows) => rows.length >= 2 });
      await s.enqueue(40);
      const reply = await lost(s, worker, pending, 'a claim');
      const taken = reply.rows.map((r) => r.find((c) => c?.startsWith(s.prefix))).filter((id): id is string => id !== undefined);
      const finished = await s.waitForAll(PROMPT_MS + 10_000);
      const states = await s.systemState();
      const lastDone = Math.max(...(await Promise.all(taken.map(async (id) => (await s.client.getWorkflow(id))?.updatedAt ?? Infinity))));
      console.log(`lost-replies: the lost claim took ${taken.length} workflows; all finished: ${finished}; the last of them ${lastDone - reply.cutAtMs} ms after the cut`);
      assert.ok(taken.length >= 2, `the lost claim took workflows: ${JSON.stringify(reply.rows).slice(0, 300)}`);
      for (const id of taken) assert.equal(states.get(id)?.status, 'SUCCESS', `${id}, taken by the lost claim, ran`);
      await assertExactlyOnce(s);
      assert.ok(lastDone - reply.cutAtMs < PROMPT_MS, `the lost claim's workflows finished ${lastDone - reply.cutAtMs} ms after the cut`);
    });

    it('the claim of a queue with a global limit (a transaction): the reply to its COMMIT lost, what it took still runs', async () => {
      const { s, proxy, worker } = await throughProxy('lost-limited-claim', {
        queue: 'limited',
        workerEnv: { FAULT_QUEUE: 'faults', FAULT_LIMITED_QUEUE: 'limited', FAULT_LIMITED_CONCURRENCY: '8' },
      });
      // The claim runs between BEGIN and COMMIT (after the queue's advisory lock): its rows go through, the reply
      // to the COMMIT is the one lost. Its rows tell what it took.
      const pending = proxy.loseReply([statement('transact_claim')], { when: (rows) => rows.length >= 2 });
      await s.enqueue(40);
      const reply = await lost(s, worker, pending, 'a claim in a transaction');
      const taken = reply.rows.map((r) => r.find((c) => c?.startsWith(s.prefix))).filter((id): id is string => id !== undefined);
      const finished = await s.waitForAll(PROMPT_MS + 10_000);
      const states = await s.systemState();
      const lastDone = Math.max(...(await Promise.all(taken.map(async (id) => (await s.client.getWorkflow(id))?.updatedAt ?? Infinity))));
      console.log(`lost-replies: the lost claim (in a transaction) took ${taken.length} workflows; all finished: ${finished}; the last of them ${lastDone - reply.cutAtMs} ms after the cut`);
      assert.ok(taken.length >= 2, `the lost claim took workflows: ${JSON.stringify(reply.rows).slice(0, 300)}`);
      for (const id of taken) assert.equal(states.get(id)?.status, 'SUCCESS', `${id}, taken by the lost claim, ran`);
      await assertExactlyOnce(s);
      assert.ok(lastDone - reply.cutAtMs < PROMPT_MS, `the lost claim's workflows finished ${lastDone - reply.cutAtMs} ms after the cut`);
    });

    it('a step checkpoint: the step is not run again', async () => {
      const { s, proxy, worker } = await throughProxy('lost-checkpoint');
      const pending = proxy.loseReply([statement('transact_record_step'), statement('transact_record_steps_batch')], {
        nth: 10,
        when: (rows) => rows.length >= 1, // written (not refused by the ownership fence)
      });
      await s.enqueue(40);
      await lost(s, worker, pending, 'a step checkpoint');
      await s.waitForAll(PROMPT_MS + 10_000);
      await assertExactlyOnce(s);
    });

    it('a workflow completion: not lost, not run again', async () => {
      const { s, proxy, worker } = await throughProxy('lost-completion');
      const pending = proxy.loseReply([statement('transact_complete_workflow'), statement('transact_complete_workflows_batch')], {
        nth: 5,
        when: (rows) => rows.length >= 1, // the workflow was completed by it
      });
      await s.enqueue(40);
      const reply = await lost(s, worker, pending, 'a completion');
      const completed = reply.rows.map((r) => r[0]).filter((id): id is string => id !== null);
      const finished = await s.waitForAll(PROMPT_MS + 10_000);
      const states = await s.systemState();
      console.log(`lost-replies: the lost completion completed ${completed.join(', ')}; all finished: ${finished}`);
      for (const id of completed) assert.equal(states.get(id)?.status, 'SUCCESS', `${id}, completed by the lost statement`);
      await assertExactlyOnce(s);
    });

    // The group-commit paths: many concurrent checkpoints or completions written by one statement. Short steps and
    // no pause between them make batches frequent.
    for (const [what, name] of [
      ['step checkpoints', 'transact_record_steps_batch'],
      ['completions', 'transact_complete_workflows_batch'],
    ] as const) {
      it(`a batch of ${what}: none is lost, nothing runs again`, async () => {
        const { s, proxy, worker } = await throughProxy(`lost-batch-${name.includes('steps') ? 'steps' : 'completions'}`, {
          workerEnv: { FAULT_STEP_MS: '0-5' },
        });
        const pending = proxy.loseReply([statement(name)], { nth: 2, when: (rows) => rows.length >= 2 });
        // Batches form only when writes overlap, which a loaded machine makes rarer: more work goes in, in rounds,
        // until the second batch has been cut (or the deadline in lost() passes).
        let cut = false;
        void pending.then(() => (cut = true), () => {});
        for (let round = 0; round < 5 && !cut; round++) {
          await s.enqueue(120, 20);
          await waitUntil(() => cut, { timeoutMs: 3000, intervalMs: 50 }).catch(() => {});
        }
        const reply = await lost(s, worker, pending, `a batch of ${what}`);
        const finished = await s.waitForAll(PROMPT_MS + 10_000);
        console.log(`lost-replies: the lost batch wrote ${reply.rows.length} rows; all finished: ${finished}`);
        await assertExactlyOnce(s);
      });
    }

    it('send, from a client and from a workflow: each message delivered once', async () => {
      const { s, proxy, worker } = await throughProxy('lost-send');
      const mail = new Mailboxes(s, 6, 2);
      await mail.enqueue();
      await mail.waitUntilListening();
      // Round 0 from a client that reaches the database through the proxy; its third send's reply is lost.
      const sender = await DBOSClient.create({ systemDatabaseUrl: proxy.via(s.systemDatabaseUrl) });
      clients.push(sender);
      const fromClient = proxy.loseReply([statement('transact_send')], { nth: 3 });
      await mail.sendRound(0, sender, 1);
      await lost(s, worker, fromClient, 'a client send');
      // Round 1 from workflows (faultSend, one per mailbox) on the worker; the third send's reply is lost.
      const fromWorkflow = proxy.loseReply([statement('transact_send_from_workflow')], {
        nth: 3,
        when: (rows) => rows[0]?.[0] === '1' && rows[0]?.[1] === '1', // owned, and the send recorded
      });
      const senders = mail.ids.map((id) => `${s.name}_send-${id}`);
      for (const [i, id] of mail.ids.entries()) {
        await s.client.enqueue({ queueName: s.queue, workflowName: 'faultSend', workflowID: senders[i] }, id, [mail.message(id, 1)], mail.topic);
      }
      await lost(s, worker, fromWorkflow, 'a workflow send');
      const delivered = await mail.waitForAll(PROMPT_MS + 10_000);
      const messaging = await mail.judge();
      const senderStates = await queryRows(s.systemDatabaseUrl, `SELECT workflow_uuid, status FROM dbos.workflow_status WHERE workflow_uuid = ANY($1)`, [
        senders,
      ]);
      console.log(`lost-replies: mailboxes done: ${delivered}; problems: ${messaging.problems.length}; senders: ${senderStates.map((r) => r.status).join(',')}`);
      assert.deepEqual(messaging.problems, [], 'every message received exactly once, in order');
      assert.deepEqual(senderStates.map((r) => String(r.status)).sort(), senders.map(() => 'SUCCESS'), 'every sending workflow succeeded');
    });

    it('recv: the message it took is returned promptly, well under its timeout', async () => {
      const TIMEOUT_SEC = 30;
      const { s, proxy, worker } = await throughProxy('lost-recv');
      const mail = new Mailboxes(s, 3, 1, 'inbox', TIMEOUT_SEC);
      await mail.enqueue();
      await mail.waitUntilListening();
      // Each is waiting in its recv once its timeout (recorded first, as DBOS.sleep) is checkpointed.
      await waitUntil(
        async () => {
          const rows = await queryRows(
            s.systemDatabaseUrl,
            `SELECT count(*)::int AS n FROM dbos.operation_outputs WHERE workflow_uuid = ANY($1) AND function_name = 'DBOS.sleep'`,
            [mail.ids],
          );
          return Number(rows[0]!.n) === mail.ids.length;
        },
        { timeoutMs: 10_000, message: 'every mailbox waiting in recv' },
      );
      // A recv that found a message and took it (found = 1, and the step recorded).
      const pending = proxy.loseReply([statement('transact_recv')], { when: (rows) => rows[0]?.[0] === '1' && rows[0]?.[2] === '1' });
      await mail.sendRound(0, s.client, 1);
      const reply = await lost(s, worker, pending, 'a recv that took a message');
      const victim = reply.params[0];
      const delivered = await mail.waitForAll((TIMEOUT_SEC + 10) * 1000);
      const messaging = await mail.judge();
      const victimMessage = mail.message(victim ?? '?', 0);
      const victimLatency = messaging.latencies.length > 0 ? await latencyOf(s, victim ?? '', mail.sentAt.get(victimMessage)) : undefined;
      console.log(
        `lost-replies: the recv of ${victim} lost its reply; mailboxes done: ${delivered}; it returned ${victimLatency} ms after the send ` +
          `(timeout ${TIMEOUT_SEC} s); problems: ${messaging.problems.join('; ') || 'none'}`,
      );
      assert.deepEqual(messaging.problems, [], 'every message received exactly once');
      assert.ok(victimLatency !== undefined && victimLatency < PROMPT_MS, `the recv whose reply was lost returned ${victimLatency} ms after the send`);
    });
  },
  ['postgres'],
);

/** How long after `sentAt` the mailbox workflow's first recv returned (from its output). */
async function latencyOf(s: Scenario, id: string, sentAt: number | undefined): Promise<number | undefined> {
  if (sentAt === undefined) return undefined;
  const rows = await queryRows(s.systemDatabaseUrl, `SELECT output FROM dbos.workflow_output WHERE workflow_uuid = $1`, [id]);
  if (!rows[0]) return undefined;
  const parsed = JSON.parse(String(rows[0].output));
  const got = (parsed && typeof parsed === 'object' && 'json' in parsed ? parsed.json : parsed) as { at: number }[];
  return got[0] ? got[0].at - sentAt : undefined;
}
