// transact/datasources/prisma: the data-source behaviour on both system-database backends (Prisma 7's Rust-free
// client on @prisma/adapter-pg, generated from test/datasources/prisma/schema.prisma), then what is Prisma's own:
//   - the typed transaction client (`ds.client.dsRow.create`, Prisma's model API) inside a workflow's transaction,
//     with Prisma's spelling of the isolation level;
//   - a completion row another execution committed first (23505 under Prisma's P2010) wins over this one's transaction;
//   - a deadlock raised through the model API (Prisma's P2034, no SQLSTATE at its top) is retried, both succeed;
//   - the static schema helpers on a PrismaClient;
//   - `@ds.transaction()` under standard decorators here, and under legacy experimentalDecorators in a worker.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import superjson from 'superjson';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { launchOn } from '../support/launch.js';
import { latch } from '../support/wait.js';
import { appQuery, createAppDatabase, dataSourceSuite, dropAppDatabase } from './support/suite.js';
import { prisma } from './support/libraries.js';
import { ensurePrismaClient } from './support/prisma-generate.js';
import type { PrismaDataSource } from '../../src/datasources/prisma.js';
import type { Prisma, PrismaClient } from './prisma/generated/client.js';

dataSourceSuite(prisma);

let appUrl = '';
let client!: PrismaClient;
let ds!: PrismaDataSource<Prisma.TransactionClient>;
const runs = new Map<string, number>();


// Assigned once the data source exists: both transactions below are registered on it.
let modelInsert: (id: string) => Promise<{ id: string; iso: string }>;
let crossUpdate: (key: string, mine: string, theirs: string, barrier: { arrive(): Promise<void> }) => Promise<string>;

const modelWorkflow = DBOS.registerWorkflow(async (id: string) => [await modelInsert(`${id}-1`), await modelInsert(`${id}-2`)], { name: 'prismaModel' });
const deadlockWorkflow = DBOS.registerWorkflow(
  async (key: string, mine: string, theirs: string) => crossUpdate(key, mine, theirs, barrier!),
  { name: 'prismaDeadlock' },
);
let barrier: { arrive(): Promise<void> } | undefined;

class Ledger {
  static prefix = 'std';
  static decorated: (id: string) => Promise<string>;

  @DBOS.workflow()
  static async openTwo(a: string, b: string): Promise<string[]> {
    return [await Ledger.decorated(a), await Ledger.decorated(b)];
  }
}

describe('Prisma data source: its own client and decorators', { skip: postgresUnavailable }, () => {
  before(async () => {
    appUrl = await createAppDatabase('prismaown');
    ensurePrismaClient();
    const { PrismaClient } = await import('./prisma/generated/client.js');
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const { PrismaDataSource } = await import('../../src/datasources/prisma.js');
    client = new PrismaClient({ adapter: new PrismaPg({ connectionString: appUrl, max: 4 }), transactionOptions: { maxWait: 20_000, timeout: 60_000 } });
    ds = new PrismaDataSource<Prisma.TransactionClient>('prisma_own', () => client);
    modelInsert = ds.registerTransaction(
      async (id: string) => {
        runs.set(id, (runs.get(id) ?? 0) + 1);
        const row = await ds.client.dsRow.create({ data: { id, workflow_id: DBOS.workflowID ?? null, note: 'model' } });
        const [{ iso }] = await ds.client.$queryRawUnsafe<{ iso: string }[]>(`SELECT current_setting('transaction_isolation') AS iso`);
        return { id: row.id, iso };
      },
      { name: 'modelInsert', isolationLevel: 'RepeatableRead' },
    );
    // Each updates its own row, waits for the other to have done the same, then updates the other's row: a
    // deadlock, which PostgreSQL breaks by failing one (40P01, which Prisma's model API reports as P2034).
    crossUpdate = ds.registerTransaction(
      async (key: string, mine: string, theirs: string, b: { arrive(): Promise<void> }) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await ds.client.dsRow.update({ where: { id: mine }, data: { note: `${key} first` } });
        if (runs.get(key) === 1) await b.arrive();
        await ds.client.dsRow.update({ where: { id: theirs }, data: { note: `${key} second` } });
        return `${key} done`;
      },
      { name: 'crossUpdate' },
    );
    class Decorated {
      @ds.transaction({ isolationLevel: 'Serializable' })
      static async open(id: string): Promise<string> {
        await ds.client.dsRow.create({ data: { id, workflow_id: DBOS.workflowID ?? null, note: Ledger.prefix } });
        const [{ v }] = await ds.client.$queryRawUnsafe<{ v: string }[]>(`SELECT current_setting('transaction_isolation') AS v`);
        return `${Ledger.prefix}:${id}:${v}`;
      }
    }
    Ledger.decorated = (id) => Decorated.open(id);
  });

  after(async () => {
    if (!appUrl) return;
    await ds.dataSourceCore.destroy();
    await client.$disconnect();
    await dropAppDatabase(appUrl);
    await dropFreshDatabases();
  });

  it('initializeDBOSSchema and uninitializeDBOSSchema on a PrismaClient', async () => {
    const { PrismaDataSource } = await import('../../src/datasources/prisma.js');
    const exists = async () =>
      (await appQuery(appUrl, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'dbos_helpers' AND tablename IN ('transaction_completion', 'dbos_transaction_completion_migrations')`))[0]!.n;
    await PrismaDataSource.initializeDBOSSchema(client, 'dbos_helpers');
    assert.equal(await exists(), 2);
    assert.deepEqual(await appQuery(appUrl, 'SELECT version::int AS v FROM dbos_helpers.dbos_transaction_completion_migrations'), [{ v: 1 }]);
    await PrismaDataSource.initializeDBOSSchema(client, 'dbos_helpers'); // already there: nothing to do
    await PrismaDataSource.uninitializeDBOSSchema(client, 'dbos_helpers');
    assert.equal(await exists(), 0);
  });

  describeEachBackend('in workflows', (kind) => {
    before(async () => {
      await launchOn(freshDatabase(kind, 'ds_prisma_own'));
    });
    after(() => DBOS.shutdown());

    it("the typed transaction client (Prisma's model API), with Prisma's spelling of the isolation level", async () => {
      const id = `model-${kind}-${randomBytes(3).toString('hex')}`;
      const handle = await DBOS.startWorkflow(modelWorkflow, { workflowID: id })(id);
      assert.deepEqual(await handle.getResult(), [
        { id: `${id}-1`, iso: 'repeatable read' },
        { id: `${id}-2`, iso: 'repeatable read' },
      ]);
      const steps = (await DBOS.listWorkflowSteps(id))!;
      assert.deepEqual(steps.map((s) => [s.functionID, s.name]), [[0, 'modelInsert'], [1, 'modelInsert']]);
      assert.deepEqual(
        (await client.dsRow.findMany({ where: { workflow_id: id }, orderBy: { id: 'asc' } })).map((r) => r.id),
        [`${id}-1`, `${id}-2`],
      );
      const fork = await DBOS.forkWorkflow(id, 2);
      assert.deepEqual(await fork.getResult(), await handle.getResult());
      assert.equal(runs.get(`${id}-1`), 1, 'the replay did not run the transaction');
    });

    it('a completion row committed by another execution first (a unique violation, P2010/23505) wins: rolled back, its output returned', async () => {
      const id = `taken-${kind}-${randomBytes(3).toString('hex')}`;
      // As if an earlier execution of this workflow had committed step 0 and lost the race to checkpoint it.
      await appQuery(appUrl, 'INSERT INTO dbos.transaction_completion (workflow_id, function_num, output) VALUES ($1, 0, $2)', [
        id,
        superjson.stringify({ id: 'elsewhere', iso: 'serializable' }),
      ]);
      const handle = await DBOS.startWorkflow(modelWorkflow, { workflowID: id })(id);
      const [first, second] = await handle.getResult();
      assert.deepEqual(first, { id: 'elsewhere', iso: 'serializable' });
      assert.deepEqual(second, { id: `${id}-2`, iso: 'repeatable read' });
      assert.equal(runs.get(`${id}-1`), 1, 'the body ran, and its transaction was rolled back');
      assert.deepEqual(
        (await client.dsRow.findMany({ where: { workflow_id: id }, orderBy: { id: 'asc' } })).map((r) => r.id),
        [`${id}-2`],
      );
      assert.deepEqual((await DBOS.listWorkflowSteps(id))!.map((s) => [s.functionID, s.name, s.output]), [
        [0, 'modelInsert', { id: 'elsewhere', iso: 'serializable' }],
        [1, 'modelInsert', { id: `${id}-2`, iso: 'repeatable read' }],
      ]);
    });

    it('a deadlock through the model API (P2034) is retried; both transactions succeed', async () => {
      const tag = randomBytes(3).toString('hex');
      const [x, y] = [`dl-${kind}-${tag}-x`, `dl-${kind}-${tag}-y`];
      await client.dsRow.createMany({ data: [{ id: x }, { id: y }] });
      const open = latch();
      let arrived = 0;
      barrier = {
        async arrive() {
          if (++arrived === 2) open.release();
          await open.promise;
        },
      };
      const [a, b] = [`${x}-wf`, `${y}-wf`];
      const results = await Promise.all([
        DBOS.startWorkflow(deadlockWorkflow, { workflowID: a })(a, x, y).then((h) => h.getResult()),
        DBOS.startWorkflow(deadlockWorkflow, { workflowID: b })(b, y, x).then((h) => h.getResult()),
      ]);
      assert.deepEqual(results, [`${a} done`, `${b} done`]);
      assert.equal((runs.get(a) ?? 0) + (runs.get(b) ?? 0), 3, 'one of the two ran again after the deadlock');
      for (const id of [a, b]) {
        const steps = (await DBOS.listWorkflowSteps(id))!;
        assert.deepEqual(steps.map((s) => [s.name, s.error]), [['crossUpdate', null]]);
      }
    });

    it('@ds.transaction() under standard decorators: a step named after the method, with its isolation level', async () => {
      const id = `std-${kind}-${randomBytes(3).toString('hex')}`;
      const handle = await DBOS.startWorkflow(Ledger, { workflowID: id }).openTwo(`${id}-a`, `${id}-b`);
      assert.deepEqual(await handle.getResult(), [`std:${id}-a:serializable`, `std:${id}-b:serializable`]);
      assert.deepEqual((await DBOS.listWorkflowSteps(id))!.map((s) => [s.functionID, s.name]), [[0, 'open'], [1, 'open']]);
    });
  });

  it('@ds.transaction() under legacy experimentalDecorators (a worker compiled that way)', async () => {
    const worker = startWorker(new URL('./fixtures/prisma-legacy-app.ts', import.meta.url), {
      APP_URL: appUrl,
      TEST_DB_URL: freshDatabase('sqlite', 'prisma_legacy'),
      TSX_TSCONFIG_PATH: fileURLToPath(new URL('./fixtures/tsconfig.legacy.json', import.meta.url)),
    });
    const line = await worker.waitForLine(/^\{/, 60_000);
    assert.deepEqual(JSON.parse(line), {
      compiledAs: 'legacy',
      result: ['legacy-a:repeatable read', 'legacy-b:repeatable read'],
      steps: [[0, 'open'], [1, 'open']],
      rows: ['legacy-a', 'legacy-b'],
    });
    assert.equal(await worker.exited, 0);
  });
});
