// On the embedded database, the engine and a DBOSClient in the same process write the same file at the same time.
// Both connections take turns through one mutex: waiting on SQLite's lock would block the event loop that must let
// the other connection's open transaction commit.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSClient, WorkflowQueue } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

new WorkflowQueue('one-process');
const work = DBOS.registerWorkflow(
  async (n: number) => {
    let total = n;
    for (let i = 0; i < 3; i++) total += await DBOS.runStep(async () => i, { name: `add${i}` });
    return total;
  },
  { name: 'oneProcessWork' },
);

after(dropFreshDatabases);

it('the engine and a client of one process write one SQLite file concurrently without stalling', async () => {
  const url = freshDatabase('sqlite', 'one_process');
  await launchOn(url);
  const client = await DBOSClient.create({ systemDatabaseUrl: url, pollingIntervalMs: 20 });
  try {
    const startedAt = Date.now();
    const direct = Array.from({ length: 40 }, (_, i) => DBOS.startWorkflow(work)(i).then((h) => h.getResult()));
    const queued = Array.from({ length: 40 }, (_, i) =>
      client.enqueue({ queueName: 'one-process', workflowName: 'oneProcessWork' }, 100 + i).then((h) => h.getResult()),
    );
    const sent = Array.from({ length: 40 }, () => client.send('no-such-workflow', 'x').catch((e: Error) => e.name));
    assert.deepEqual(await Promise.all(direct), Array.from({ length: 40 }, (_, i) => i + 3));
    assert.deepEqual(await Promise.all(queued), Array.from({ length: 40 }, (_, i) => 103 + i));
    assert.deepEqual(new Set(await Promise.all(sent)), new Set(['DBOSNonExistentWorkflowError']));
    // Without the shared mutex a connection busy-waits on the lock the other holds (the 10 s busy timeout, then errors).
    assert.ok(Date.now() - startedAt < 8000, `took ${Date.now() - startedAt} ms`);
  } finally {
    await client.destroy();
    await DBOS.shutdown();
  }
});
