// A portable enqueue inside the caller's own transaction: the workflow exists exactly when that transaction commits,
// and its arguments are stored in the cross-language format.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { DBOS, DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

const addPortable = DBOS.registerWorkflow(async (a: number, b: number) => a + b, { name: 'addPortable', serialization: 'portable' });
void addPortable;

after(dropFreshDatabases);

describeEachBackend(
  'DBOSClient.enqueuePortableInTransaction',
  (kind) => {
    const databaseUrl = engineOn(kind, 'portabletx');
    let client: DBOSClient;
    let pgClient: pg.Client;
    before(async () => {
      client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(), pollingIntervalMs: 50 });
      pgClient = new pg.Client({ connectionString: databaseUrl() });
      await pgClient.connect();
    });
    after(async () => {
      await pgClient.end();
      await client.destroy();
    });

    it('enqueues only when the caller’s transaction commits, with portable arguments', async () => {
      const options = { queueName: '_dbos_internal_queue', workflowName: 'addPortable' };
      await pgClient.query('BEGIN');
      await client.enqueuePortableInTransaction(pgClient, { ...options, workflowID: 'portable-rolled-back' }, [1, 2]);
      await pgClient.query('ROLLBACK');
      assert.equal(await client.getWorkflow('portable-rolled-back'), undefined, 'nothing was enqueued');

      await pgClient.query('BEGIN');
      const handle = await client.enqueuePortableInTransaction<number>(pgClient, { ...options, workflowID: 'portable-committed' }, [2, 3]);
      const [visible] = await queryRows(databaseUrl(), 'SELECT count(*)::int AS n FROM dbos.workflow_status WHERE workflow_uuid = $1', [
        handle.workflowID,
      ]);
      assert.equal(visible?.n, 0, 'not visible to others before the commit');
      await pgClient.query('COMMIT');
      assert.equal(await handle.getResult(), 5);

      const [row] = await queryRows(
        databaseUrl(),
        `SELECT ws.serialization, wi.inputs FROM dbos.workflow_status ws JOIN dbos.workflow_input wi USING (workflow_uuid)
          WHERE ws.workflow_uuid = $1`,
        [handle.workflowID],
      );
      assert.equal(row?.serialization, 'portable_json');
      assert.deepEqual(JSON.parse(String(row?.inputs)), { positionalArgs: [2, 3] });
    });
  },
  ['postgres'],
);
