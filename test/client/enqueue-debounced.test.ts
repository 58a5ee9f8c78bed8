// DBOSClient.enqueueDebounced, the call DBOS's DebouncerClient makes once no waiting workflow holds a debounce key:
// a DELAYED debounced row holding the key's deduplication ID, whose start may be pushed back until its deadline.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DBOS, DBOSClient, DBOSError, DBOSQueueDuplicatedError } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

const received: string[][] = [];
const collect = DBOS.registerWorkflow(
  async (...items: string[]) => {
    received.push(items);
    return items.join('+');
  },
  { name: 'collectDebounced' },
);
void collect;

after(dropFreshDatabases);

describeEachBackend('DBOSClient.enqueueDebounced', (kind) => {
  const url = engineOn(kind, 'enqdeb');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP });
  });
  after(() => client.destroy());

  it('enqueues a DELAYED debounced workflow with its deadline; a second call moves it and takes its arguments', async () => {
    received.length = 0;
    const deduplicationID = `.collectDebounced-key-${kind}`;
    const options = { queueName: '_dbos_internal_queue', workflowName: 'collectDebounced', deduplicationID, delaySeconds: 60 };
    const deadline = Date.now() + 120_000;
    const id = await client.enqueueDebounced({ ...options, workflowID: `debounced-${kind}` }, deadline, ['a']);
    assert.equal(id, `debounced-${kind}`);
    const [row] = await queryRows(
      url(),
      `SELECT status, is_debounced, deduplication_id, debounce_deadline_epoch_ms, delay_until_epoch_ms
         FROM dbos.workflow_status WHERE workflow_uuid = $1`,
      [id],
    );
    assert.equal(row?.status, 'DELAYED');
    assert.ok(row?.is_debounced === true || row?.is_debounced === 1, 'is_debounced');
    assert.equal(row?.deduplication_id, deduplicationID);
    assert.ok(Math.abs(Number(row?.debounce_deadline_epoch_ms) - deadline) < 5_000, 'the deadline is stored');
    assert.ok(Number(row?.delay_until_epoch_ms) > Date.now() + 30_000, 'delayed by delaySeconds');

    // The key is held by this waiting workflow: another enqueue for it lands on the same workflow, now due at once.
    const again = await client.enqueueDebounced({ ...options, delaySeconds: 0 }, deadline, ['b', 'c']);
    assert.equal(again, id);
    assert.equal(await client.retrieveWorkflow(id).getResult(), 'b+c');
    assert.deepEqual(received, [['b', 'c']]);
  });

  it('refuses a key held by a workflow that was not debounced, and options without a deduplication ID', async () => {
    const deduplicationID = `held-${kind}`;
    await client.enqueue({ queueName: '_dbos_internal_queue', workflowName: 'collectDebounced', deduplicationID, delaySeconds: 60 }, 'x');
    await assert.rejects(
      client.enqueueDebounced({ queueName: '_dbos_internal_queue', workflowName: 'collectDebounced', deduplicationID }, undefined, ['y']),
      DBOSQueueDuplicatedError,
    );
    await assert.rejects(
      client.enqueueDebounced({ queueName: '_dbos_internal_queue', workflowName: 'collectDebounced' }, undefined, []),
      DBOSError,
    );
  });
});
