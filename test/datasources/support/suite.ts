// The behaviour every data source must have, declared once and run per library on both system-database backends
// (embedded SQLite and PostgreSQL); the application database is always a real PostgreSQL database of the file's own.
//
//   - outside a workflow: a plain transaction (committed, or rolled back by a throw); the client only inside
//   - in a workflow: each transaction a step at the workflow's function ID, recorded in operation_outputs under its
//     name; its completion row (same function ID) committed with it and deleted once the workflow has finished;
//     a fork past the steps replays them without running anything
//   - isolation levels and readOnly as seen by current_setting() inside the transaction
//   - a serialization failure between two concurrent SERIALIZABLE transactions is retried, and both succeed
//   - an error thrown by the function rolls its writes back, is recorded, and a replay throws it without running

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { DBOS } from '../../../src/index.js';
import { PGIsolationLevel } from '../../../src/datasources/core.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, postgresBaseUrl, postgresUnavailable } from '../../support/backends.js';
import { launchOn } from '../../support/launch.js';
import { latch, waitUntil } from '../../support/wait.js';
import type { Library, TestDataSource } from './libraries.js';

/** A fresh application database with the tables the tests write; returns its URL. */
export async function createAppDatabase(tag: string): Promise<string> {
  const url = new URL(postgresBaseUrl);
  url.pathname = `/transact_app_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresBaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${url.pathname.slice(1)}"`);
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ds_rows (id text PRIMARY KEY, workflow_id text, note text)`);
    await client.query(`CREATE TABLE ds_skew (k int)`);
  } finally {
    await client.end();
  }
  return url.toString();
}

export async function dropAppDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresBaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export async function appQuery(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

export function dataSourceSuite(lib: Library): void {
  const tag = lib.kind;
  // The application database is made before the tests, the data source at module load (it opens lazily).
  let appUrl = '';
  let ds!: TestDataSource;
  const runs = new Map<string, number>(); // body executions by key
  const count = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);

  const insertRow = async (id: string, note: string) => {
    count(id);
    await lib.sql(ds, 'INSERT INTO ds_rows (id, workflow_id, note) VALUES ($1, $2, $3)', [id, DBOS.workflowID ?? null, note]);
    return `${id}:${note}`;
  };
  let insertTx: (id: string, note: string) => Promise<string>;
  let failingTx: (id: string) => Promise<string>;
  let skewTx: (key: string, barrier: { arrive(): Promise<void> }) => Promise<number>;

  const gate = new Map<string, ReturnType<typeof latch>>();
  const threeTransactions = DBOS.registerWorkflow(
    async (prefix: string) => {
      const a = await insertTx(`${prefix}-a`, 'one');
      const b = await insertTx(`${prefix}-b`, 'two');
      const c = await ds.runTransaction(() => insertRow(`${prefix}-c`, 'three'), lib.config({ name: 'thirdInsert' }));
      await gate.get(prefix)?.promise;
      return [a, b, c];
    },
    { name: `dsThree_${tag}` },
  );
  const failing = DBOS.registerWorkflow(
    async (id: string) => {
      try {
        return await failingTx(id);
      } catch (err) {
        return `caught: ${(err as Error).message}`;
      }
    },
    { name: `dsFailing_${tag}` },
  );
  const skew = DBOS.registerWorkflow(async (key: string) => skewTx(key, barrierFor(2)), { name: `dsSkew_${tag}` });
  const settingsWf = DBOS.registerWorkflow(
    async (level: string | null, readOnly: boolean) =>
      ds.runTransaction(
        async () => {
          const iso = (await lib.sql(ds, `SELECT current_setting('transaction_isolation') AS v`))[0]!.v;
          const ro = (await lib.sql(ds, `SELECT current_setting('transaction_read_only') AS v`))[0]!.v;
          return { iso, ro, inTx: DBOS.isInTransaction(), stepID: DBOS.stepID };
        },
        lib.config({ isolationLevel: (level ?? undefined) as PGIsolationLevel | undefined, readOnly, name: 'settings' }),
      ),
    { name: `dsSettings_${tag}` },
  );

  const inStep = DBOS.registerWorkflow(
    async () => DBOS.runStep(() => ds.runTransaction(async () => 'ran', lib.config({})), { name: 'outer' }).catch((e: Error) => e.name),
    { name: `dsInStep_${tag}` },
  );

  // Two SERIALIZABLE transactions that each read the table and then insert (write skew): both read before either
  // writes, so one of them must fail with 40001 and be retried.
  let barrierState: { arrived: number; open: ReturnType<typeof latch> } | undefined;
  function barrierFor(parties: number) {
    return {
      async arrive() {
        const state = barrierState!;
        state.arrived++;
        if (state.arrived >= parties) state.open.release(undefined);
        await Promise.race([
          state.open.promise,
          new Promise((_, reject) => setTimeout(() => reject(new Error('barrier deadline')), 10_000).unref()),
        ]);
      },
    };
  }

  before(async () => {
    if (postgresUnavailable) return;
    appUrl = await createAppDatabase(tag);
    ds = await lib.create(`app_${tag}`, appUrl);
    insertTx = ds.registerTransaction(insertRow, lib.config({ name: 'insertRow' }));
    failingTx = ds.registerTransaction(
      async (id: string) => {
        count(id);
        await lib.sql(ds, 'INSERT INTO ds_rows (id, workflow_id, note) VALUES ($1, $2, $3)', [id, DBOS.workflowID ?? null, 'doomed']);
        throw new Error(`refused ${id}`);
      },
      lib.config({ name: 'failingInsert' }),
    );
    skewTx = ds.registerTransaction(
      async (key: string, barrier: { arrive(): Promise<void> }) => {
        count(key);
        const n = Number((await lib.sql(ds, 'SELECT count(*)::int AS n FROM ds_skew'))[0]!.n);
        if (runs.get(key) === 1) await barrier.arrive();
        await lib.sql(ds, 'INSERT INTO ds_skew (k) VALUES ($1)', [n]);
        return n;
      },
      lib.config({ name: 'skewInsert', isolationLevel: PGIsolationLevel.Serializable }),
    );
  });

  after(async () => {
    if (!appUrl) return;
    await ds.dataSourceCore.destroy();
    await lib.close?.(ds);
    await dropAppDatabase(appUrl);
    await dropFreshDatabases();
  });

  describeEachBackend(`data source ${tag}`, (kind) => {
    before(async () => {
      await launchOn(freshDatabase(kind, `ds_${tag}`));
    });
    after(() => DBOS.shutdown());

    it('outside a workflow: a plain transaction, rolled back by a throw; the client only inside', async () => {
      const id = `plain-${kind}-${randomBytes(3).toString('hex')}`;
      assert.equal(await ds.runTransaction(() => insertRow(id, 'plain'), lib.config({})), `${id}:plain`);
      await assert.rejects(
        ds.runTransaction(async () => {
          await insertRow(`${id}-x`, 'rolled back');
          throw new Error('no');
        }, lib.config({})),
        /no/,
      );
      const rows = await appQuery(appUrl, 'SELECT id FROM ds_rows WHERE id LIKE $1 ORDER BY id', [`${id}%`]);
      assert.deepEqual(rows.map((r) => r.id), [id]);
      assert.throws(() => (ds as unknown as Record<string, unknown>)[lib.clientProperty ?? 'client'], /outside of a transaction/);
      assert.equal(DBOS.isInTransaction(), false);
      // No completion row outside a workflow.
      assert.equal((await appQuery(appUrl, 'SELECT count(*)::int AS n FROM dbos.transaction_completion WHERE workflow_id = $1', [id]))[0]!.n, 0);
    });

    it('in a workflow: each transaction is a step, its completion row committed with it and cleaned up after', async () => {
      const prefix = `wf-${kind}-${randomBytes(3).toString('hex')}`;
      gate.set(prefix, latch());
      const handle = await DBOS.startWorkflow(threeTransactions, { workflowID: prefix })(prefix);
      // While the workflow waits after its third transaction, the three completion rows are there.
      const completions = await waitUntil(
        async () => {
          const rows = await appQuery(appUrl, 'SELECT function_num, output, error FROM dbos.transaction_completion WHERE workflow_id = $1 ORDER BY 1', [prefix]);
          return rows.length === 3 ? rows : undefined;
        },
        { message: 'three completion rows' },
      );
      assert.deepEqual(completions.map((r) => r.function_num), [0, 1, 2]);
      assert.ok(completions.every((r) => r.error === null && typeof r.output === 'string'));
      gate.get(prefix)!.release(undefined);
      assert.deepEqual(await handle.getResult(), [`${prefix}-a:one`, `${prefix}-b:two`, `${prefix}-c:three`]);
      const steps = (await DBOS.listWorkflowSteps(prefix))!;
      assert.deepEqual(
        steps.map((s) => [s.functionID, s.name, s.output]),
        [
          [0, 'insertRow', `${prefix}-a:one`],
          [1, 'insertRow', `${prefix}-b:two`],
          [2, 'thirdInsert', `${prefix}-c:three`],
        ],
      );
      const rows = await appQuery(appUrl, 'SELECT id, workflow_id FROM ds_rows WHERE workflow_id = $1 ORDER BY id', [prefix]);
      assert.equal(rows.length, 3);
      await waitUntil(
        async () => (await appQuery(appUrl, 'SELECT count(*)::int AS n FROM dbos.transaction_completion WHERE workflow_id = $1', [prefix]))[0]!.n === 0,
        { message: 'completion rows cleaned up' },
      );
      // A fork past the three transactions replays them: nothing runs, nothing is written again.
      const before = runs.get(`${prefix}-a`);
      const fork = await DBOS.forkWorkflow<string[]>(prefix, 3);
      assert.deepEqual(await fork.getResult(), [`${prefix}-a:one`, `${prefix}-b:two`, `${prefix}-c:three`]);
      assert.equal(runs.get(`${prefix}-a`), before);
      assert.equal((await appQuery(appUrl, 'SELECT count(*)::int AS n FROM ds_rows WHERE id LIKE $1', [`${prefix}-%`]))[0]!.n, 3);
    });

    it('applies isolation levels and readOnly (current_setting inside the transaction)', async () => {
      const cases: [string | null, boolean, string, string][] = [
        [null, false, 'read committed', 'off'],
        [PGIsolationLevel.ReadUncommitted, false, 'read uncommitted', 'off'],
        [PGIsolationLevel.ReadCommitted, false, 'read committed', 'off'],
        [PGIsolationLevel.RepeatableRead, false, 'repeatable read', 'off'],
        [PGIsolationLevel.Serializable, false, 'serializable', 'off'],
        [PGIsolationLevel.Serializable, true, 'serializable', 'on'],
        [null, true, 'read committed', 'on'],
      ];
      for (const [level, readOnly, iso, ro] of cases) {
        const got = await settingsWf(level, readOnly);
        assert.deepEqual({ iso: got.iso, ro: got.ro, inTx: got.inTx }, { iso, ro, inTx: true }, `${level} readOnly=${readOnly}`);
        assert.equal(got.stepID, 0);
        const plain = await ds.runTransaction(
          async () => (await lib.sql(ds, `SELECT current_setting('transaction_isolation') AS i, current_setting('transaction_read_only') AS r`))[0],
          lib.config({ isolationLevel: (level ?? undefined) as PGIsolationLevel | undefined, readOnly }),
        );
        assert.deepEqual(plain, { i: iso, r: ro }, `outside a workflow: ${level} readOnly=${readOnly}`);
      }
      // A write in a read-only transaction fails (25006) and is not retried.
      await assert.rejects(
        ds.runTransaction(() => lib.sql(ds, `INSERT INTO ds_rows (id) VALUES ('never')`), lib.config({ readOnly: true })),
        (err: Error & { code?: string }) => /read-only/.test(String(err.message) + String((err as { cause?: Error }).cause?.message ?? '')),
      );
    });

    it('retries a serialization failure between concurrent SERIALIZABLE transactions; both succeed', async () => {
      const a = `skew-${kind}-a-${randomBytes(2).toString('hex')}`;
      const b = `skew-${kind}-b-${randomBytes(2).toString('hex')}`;
      barrierState = { arrived: 0, open: latch() };
      const [ra, rb] = await Promise.all([
        DBOS.startWorkflow(skew, { workflowID: a })(a).then((h) => h.getResult()),
        DBOS.startWorkflow(skew, { workflowID: b })(b).then((h) => h.getResult()),
      ]);
      // Both read before either wrote; one was refused and ran again, seeing the other's row.
      // (At least one retry; under load SSI may refuse a retried attempt once more.)
      assert.ok((runs.get(a) ?? 0) + (runs.get(b) ?? 0) >= 3, `executions a=${runs.get(a)} b=${runs.get(b)}`);
      assert.equal(Math.abs(ra! - rb!), 1);
      for (const id of [a, b]) {
        const steps = (await DBOS.listWorkflowSteps(id))!;
        assert.equal(steps.length, 1);
        assert.equal(steps[0]!.name, 'skewInsert');
        assert.equal(steps[0]!.error, null);
      }
    });

    it('an error thrown by the function rolls back, is recorded, and is thrown again on replay without running', async () => {
      const id = `fail-${kind}-${randomBytes(3).toString('hex')}`;
      const handle = await DBOS.startWorkflow(failing, { workflowID: id })(id);
      assert.equal(await handle.getResult(), `caught: refused ${id}`);
      assert.equal(runs.get(id), 1);
      assert.equal((await appQuery(appUrl, 'SELECT count(*)::int AS n FROM ds_rows WHERE id = $1', [id]))[0]!.n, 0);
      const steps = (await DBOS.listWorkflowSteps(id))!;
      assert.equal(steps.length, 1);
      assert.equal(steps[0]!.name, 'failingInsert');
      assert.match(String((steps[0]!.error as Error)?.message), new RegExp(`refused ${id}`));
      const fork = await DBOS.forkWorkflow<string>(id, 1);
      assert.equal(await fork.getResult(), `caught: refused ${id}`);
      assert.equal(runs.get(id), 1, 'the replay did not run the function');
    });

    it('a transaction called inside a step is refused', async () => {
      assert.equal(await inStep(), 'DBOSInvalidWorkflowTransitionError');
    });
  });
}
