// Rows written the way DBOS's own tools write them are run and answered by Transact: a workflow enqueued through
// the schema's SQL function (portable_json, no application version) runs on the latest version and its outcome is
// stored where DBOS's readers look for it.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, withPg } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

const addNumbers = DBOS.registerWorkflow(async (a: number, b: number) => ({ sum: a + b, when: new Date(0) }), {
  name: 'addNumbers',
});
void addNumbers;

after(dropFreshDatabases);

describeEachBackend(
  'DBOS compatibility',
  (kind) => {
    let url: string;
    before(async () => {
      url = freshDatabase(kind, 'compat');
      await launchOn(url);
    });
    after(() => DBOS.shutdown());

    it('runs a workflow enqueued with dbos.enqueue_workflow and stores a portable outcome', async () => {
      const id = await withPg(url, async (c) => {
        const { rows } = await c.query(
          `SELECT dbos.enqueue_workflow('addNumbers', '_dbos_internal_queue', ARRAY['2'::json, '40'::json]) AS id`,
        );
        return rows[0].id as string;
      });
      assert.deepEqual(await DBOS.retrieveWorkflow(id).getResult(), { sum: 42, when: '1970-01-01T00:00:00.000Z' });
      await withPg(url, async (c) => {
        const { rows } = await c.query(
          `SELECT ws.status, ws.serialization, ws.application_version, ws.application_name, ws.owner_xid, wo.output
             FROM dbos.workflow_status ws JOIN dbos.workflow_output wo USING (workflow_uuid) WHERE workflow_uuid = $1`,
          [id],
        );
        assert.deepEqual(rows[0], {
          status: 'SUCCESS',
          serialization: 'portable_json',
          application_version: 'test-v1', // stamped at dequeue
          application_name: 'transact-test',
          owner_xid: null,
          output: '{"sum":42,"when":"1970-01-01T00:00:00.000Z"}',
        });
      });
    });

    it('writes native values in the js_superjson envelope that DBOS reads', async () => {
      const handle = await DBOS.startWorkflow(addNumbers, { workflowID: 'native-envelope' })(1, 2);
      await handle.getResult();
      await withPg(url, async (c) => {
        const { rows } = await c.query(
          `SELECT ws.serialization, wi.inputs, wo.output FROM dbos.workflow_status ws
             JOIN dbos.workflow_input wi USING (workflow_uuid) JOIN dbos.workflow_output wo USING (workflow_uuid)
            WHERE workflow_uuid = 'native-envelope'`,
        );
        assert.equal(rows[0].serialization, 'js_superjson');
        assert.equal(rows[0].inputs, '{"json":[1,2],"__dbos_serializer":"superjson"}');
        assert.deepEqual(JSON.parse(rows[0].output), {
          json: { sum: 3, when: '1970-01-01T00:00:00.000Z' },
          meta: { values: { when: ['Date'] }, v: 1 },
          __dbos_serializer: 'superjson',
        });
      });
    });
  },
  ['postgres'],
);
