// Every backend of the application terminated, again and again (pg_terminate_backend on every connection to the
// system database except the test's own admin connection, which is on another database): the workers' pools, their
// LISTEN connections, and the test's own DBOSClient. Three workers drain 300 workflows while, at the same time, 30
// workflows each wait for four messages (DBOS.recv) that the test sends with DBOSClient.send, a round every
// ~0.6 s, the backends being terminated between and during the rounds.
//
// No worker may die; exactly once for the drain (terminations explain no execution: support/verdict.ts); every
// message is received exactly once, in order, by its workflow, none lost or stored twice; and waiters still wake
// promptly: a recv returns within a few seconds of its message's send (a waiter that missed its notification would
// wait for the 10 s safety-net poll).

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { describeEachBackend, dropFreshDatabases, postgresBaseUrl } from '../support/backends.js';
import { databaseOf, terminateBackends, type Terminated } from './support/pg-server.js';
import { assertPromiseKept, pause, Scenario } from './support/scenario.js';
import { failureEvidence, Mailboxes, percentile, recordServerFault, returnedTwice, waitForReturns } from './support/server-faults.js';

const WORKFLOWS = 300;
const MAILBOXES = 30;
const MESSAGES_EACH = 4;
/** How soon a recv must return after its message's send returned. */
const PROMPT_MS = 3000;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});
after(dropFreshDatabases);

describeEachBackend(
  'exactly once when every backend is terminated',
  () => {
    it('backends terminated repeatedly during a drain and during send/recv traffic', async () => {
      const s = (scenario = await Scenario.create({
        name: 'backend-kills',
        backend: 'postgres',
        workerEnv: { FAULT_APP_VERSION: 'faults-v1', FAULT_LEASE_MS: '10000', FAULT_WORKER_CONCURRENCY: '25', FAULT_STEP_MS: '20-80' },
      }));
      const database = databaseOf(s.systemDatabaseUrl);
      const terminate = async () => {
        const atMs = Date.now();
        const ended = await terminateBackends(postgresBaseUrl, database);
        await recordServerFault(s, 'terminate', atMs);
        return ended;
      };
      const workers = ['w1', 'w2', 'w3'].map((label) => s.cluster.start(label, { executorID: label }));
      await Promise.all(workers.map((w) => s.cluster.ready(w)));
      const mail = new Mailboxes(s, MAILBOXES, MESSAGES_EACH);
      await mail.enqueue();
      await mail.waitUntilListening();

      const started = Date.now();
      const feeding = s.enqueueSteadily(WORKFLOWS, 60); // ~5 s of drain
      await waitForReturns(s, 20, 30_000);
      const terminated: Terminated[] = [];
      // The fault schedule: a termination before each round of sends, and one in the middle of it.
      for (let k = 0; k < MESSAGES_EACH; k++) {
        terminated.push(await terminate());
        await pause(100 + Math.random() * 300);
        const round = mail.sendRound(k);
        await pause(Math.random() * 100);
        terminated.push(await terminate());
        await round;
        await pause(400 + Math.random() * 400);
      }
      await feeding;
      terminated.push(await terminate());
      const drained = await s.waitForAll(60_000);
      const delivered = await mail.waitForAll(30_000);
      const verdict = await s.verdict();
      const messaging = await mail.judge();
      for (const line of await failureEvidence(s)) console.log(`backend-kills: ${line}`);
      const l = messaging.latencies;
      console.log(
        `backend-kills: ${terminated.length} rounds of terminations (${terminated.map((t) => `${t.n}/${t.listening}`).join(', ')} backends/of them LISTEN) over ${Date.now() - started} ms; ` +
          `drained ${drained}, mailboxes done ${delivered}; ${l.length} messages received, latency p50 ${percentile(l, 50)} ms, ` +
          `p99 ${percentile(l, 99)} ms, slowest ${messaging.slowest}`,
      );
      for (const p of messaging.problems.slice(0, 20)) console.log(`backend-kills: ${p}`);
      assert.equal(verdict.counts.faults.terminate, terminated.length);
      // A LISTEN connection reconnects ~100 ms after it is ended, so a round that follows closely may find it still away.
      const withListen = terminated.filter((t) => t.listening >= 1).length;
      assert.ok(withListen >= terminated.length / 2, `LISTEN connections were ended too (in ${withListen} of ${terminated.length} rounds)`);
      assertPromiseKept(verdict, s.cluster);
      assert.equal(verdict.counts.allowedExtra, 0, 'no process died: no step may have run twice');
      assert.deepEqual(returnedTwice(await s.ledger.executions()), [], 'no workflow body ran again after it returned');
      assert.deepEqual(messaging.problems, [], 'every message received exactly once, in order');
      assert.equal(l.length, MAILBOXES * MESSAGES_EACH);
      assert.ok(l.at(-1)! < PROMPT_MS, `the slowest recv returned ${messaging.slowest}, more than ${PROMPT_MS} ms after its send`);
    });
  },
  ['postgres'],
);
