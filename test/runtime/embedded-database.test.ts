// The embedded database: acknowledged checkpoints survive SIGKILL, and other processes read the file while the
// application writes it.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DBOSClient } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { waitUntil } from '../support/wait.js';

const workerScript = new URL('./fixtures/worker.ts', import.meta.url);

after(dropFreshDatabases);

describe('the embedded database [sqlite]', () => {
  it('keeps every checkpoint acknowledged before a SIGKILL, and is readable by another process meanwhile', async () => {
    const url = freshDatabase('sqlite', 'durable');
    const worker = startWorker(workerScript, { TEST_DB_URL: url, MODE: 'ticker', WORKFLOW_ID: 'ticker', STEPS: '100000' });
    await worker.waitForLine('ack 20');

    // A second process (here: a client in this test process) reads while the worker keeps writing.
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    const firstLook = (await client.listWorkflowSteps('ticker'))!.length;
    assert.ok(firstLook >= 21, `saw ${firstLook} steps`);
    await waitUntil(async () => (await client.listWorkflowSteps('ticker'))!.length > firstLook + 50, { message: 'more steps' });
    assert.equal((await client.getWorkflow('ticker'))?.status, 'PENDING');
    await client.destroy();

    await worker.kill('SIGKILL');
    const acknowledged = worker.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
    assert.ok(acknowledged.length > 70);

    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      const recorded = new Set(
        (db.prepare("SELECT function_id FROM operation_outputs WHERE workflow_uuid = 'ticker'").all() as { function_id: number }[]).map(
          (r) => r.function_id,
        ),
      );
      const missing = acknowledged.filter((i) => !recorded.has(i));
      assert.deepEqual(missing, [], 'every acknowledged checkpoint is in the file');
    } finally {
      db.close();
    }
  });
});
