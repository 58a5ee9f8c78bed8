// Exactly-once writes under SIGKILL, for every data source at once, on one system-database backend a file
// (kill-sqlite.test.ts, kill-postgres.test.ts: each file must finish within the test runner's 180 s, and a run with
// every data source takes most of that per backend on a loaded machine).
//
// Real worker processes (fixtures/kill-worker.ts, run by the fault suite's Cluster under one fixed executor ID) and
// a real PostgreSQL application database. Each incarnation starts one workflow per data source, whose single
// transaction step inserts one row, and is SIGKILLed where the test asks, with every data source's workflow stopped
// at that point at the same moment:
//   w#1  (a) inside the transaction, after the INSERT, before COMMIT
//   w#2  recovers w#1's workflows at launch, starts its own; (b) after COMMIT, before the step's checkpoint
//   w#3  recovers w#2's; (c) after the checkpoint, before the workflow goes on
//   w#4  recovers w#3's and stops nowhere
// Then, per workflow: exactly one row inserted; SUCCESS with the expected result; the step recorded once, at
// function ID 0 under its name; the body's executions as the ledger counts them ((a) two: the first one's INSERT
// died with its process; (b) and (c) one: the committed transaction was never run again); no completion row left.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import pg from 'pg';
import { DBOSClient } from '../../../src/index.js';
import { type BackendKind, describeEachBackend, dropFreshDatabases, freshDatabase, postgresBaseUrl } from '../../support/backends.js';
import { waitUntil } from '../../support/wait.js';
import { Cluster } from '../../faults/support/cluster.js';
import { Ledger } from '../../faults/support/ledger.js';
import { libraries } from './libraries.js';
import { createAppDatabase, dropAppDatabase } from './suite.js';

const script = new URL('../fixtures/kill-worker.ts', import.meta.url);
const kinds = (process.env.DS_KINDS ?? Object.keys(libraries).join(',')).split(',');

export function killSuite(only: BackendKind): void {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await dropFreshDatabases();
  });

  /** Figures for the README, printed per backend. */
  const figures: string[] = [];
  after(() => {
    if (figures.length) console.log(figures.join('\n'));
  });

  describeEachBackend('data sources under SIGKILL', (backend) => {
    it(`(a) inside the transaction, (b) after COMMIT, (c) after the checkpoint: one row each, for ${kinds.join(', ')}`, async () => {
      const started = Date.now();
      const systemDatabaseUrl = freshDatabase(backend, 'dskill');
      const appUrl = await createAppDatabase('kill');
      cleanups.push(() => dropAppDatabase(appUrl));
      const ledgerUrl = new URL(postgresBaseUrl);
      ledgerUrl.pathname = `/transact_dsledger_${process.pid}_${randomBytes(3).toString('hex')}`;
      const ledger = await Ledger.create(postgresBaseUrl, ledgerUrl.toString());
      cleanups.push(async () => {
        await ledger.close();
        await dropAppDatabase(ledgerUrl.toString());
      });
      const cluster = new Cluster(ledger, { SYSTEM_DATABASE_URL: systemDatabaseUrl, APP_URL: appUrl, DS_KINDS: kinds.join(',') });
      cleanups.push(() => cluster.killAll());
      const executorID = `ds-kill-${randomBytes(3).toString('hex')}`;

      const points = ['a', 'b', 'c'] as const;
      for (const point of points) {
        const run = cluster.start('w', { executorID, script, env: { KILL_POINT: point, KILL_PREFIX: `kill-${point}` } });
        await cluster.ready(run);
        for (const kind of kinds) await run.worker.waitForLine(`at ${point} kill-${point}-${kind}`, 30_000);
        await cluster.kill(run);
      }
      const last = cluster.start('w', { executorID, script, env: { KILL_POINT: 'none', KILL_PREFIX: '' } });
      await cluster.ready(last);

      const client = await DBOSClient.create({ systemDatabaseUrl });
      const app = new pg.Client({ connectionString: appUrl });
      await app.connect();
      try {
        const ids = points.flatMap((p) => kinds.map((k) => ({ point: p, kind: k, id: `kill-${p}-${k}` })));
        for (const { id } of ids) {
          assert.equal(await client.retrieveWorkflow<string>(id).getResult(), `inserted ${id}`, id);
        }
        const executions = await ledger.executions();
        for (const { point, kind, id } of ids) {
          const rows = (await app.query('SELECT count(*)::int AS n FROM ds_rows WHERE id = $1', [id])).rows[0].n;
          assert.equal(rows, 1, `${id}: rows inserted`);
          const steps = (await client.listWorkflowSteps(id))!;
          assert.deepEqual(
            steps.map((s) => [s.functionID, s.name, s.output]),
            [[0, 'killInsert', `inserted ${id}`]],
            `${id}: steps`,
          );
          const ran = executions.filter((e) => e.workflowID === id).map((e) => e.incarnation);
          assert.deepEqual(ran, point === 'a' ? ['w#1', 'w#2'] : point === 'b' ? ['w#2'] : ['w#3'], `${id} (${kind}): executions of the body`);
        }
        // The workflows the last worker finished have their completion rows deleted; a killed worker may have finished
        // some (recovered) workflows without getting to delete theirs: retention does, and leaves alone the rows of
        // workflows this system database does not know (another application sharing the application database).
        const lastIds = ids.filter((w) => w.point === 'c').map((w) => w.id);
        let left: unknown[] = [];
        await waitUntil(
          async () => {
            left = (await app.query('SELECT workflow_id, function_num FROM dbos.transaction_completion WHERE workflow_id = ANY($1)', [lastIds])).rows;
            return left.length === 0;
          },
          { timeoutMs: 10_000 },
        ).catch(() => assert.fail(`completion rows of the last worker's workflows not cleaned up: ${JSON.stringify(left)}; ${last.worker.stderr().slice(-1500)}`));
        const leftByKills = (await app.query('SELECT count(*)::int AS n FROM dbos.transaction_completion')).rows[0].n as number;
        await app.query(`INSERT INTO dbos.transaction_completion (workflow_id, function_num, output, created_at) VALUES ('foreign-wf', 0, 'x', 0)`);
        process.kill(last.pid, 'SIGUSR2');
        for (const kind of kinds) await last.worker.waitForLine(`swept ${kind}`, 10_000);
        assert.deepEqual(
          (await app.query('SELECT workflow_id FROM dbos.transaction_completion')).rows.map((r) => r.workflow_id),
          ['foreign-wf'],
        );
        assert.deepEqual(cluster.crashes(), []);
        const faults = await ledger.faults();
        assert.equal(faults.filter((f) => f.kind === 'kill').length, 3);
        figures.push(
          `datasource-kills [${backend}] data sources=${kinds.length} workflows=${ids.length} kills=3 executions=${executions.length} ` +
            `rows=${ids.length} (each 1) re-run in (a)=${kinds.length} in (b)=0 in (c)=0 completion-rows-left-by-kills=${leftByKills} (retention swept them) wall=${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
      } finally {
        await app.end();
        await client.destroy();
        await cluster.killAll();
      }
    });
  }, [only]);
}
