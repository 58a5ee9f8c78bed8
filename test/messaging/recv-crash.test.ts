// recv across crashes, with real processes: a worker waiting for a message is SIGKILLed and another one takes over.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const workerScript = new URL('./fixtures/recv-worker.ts', import.meta.url);

function sideEffectFile(): string {
  return join(scratchDir('recv'), 'effects.log');
}

function linesOf(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

after(dropFreshDatabases);

describeEachBackend('recv across crashes', (kind) => {
  it('a workflow SIGKILLed while waiting in recv, restarted, receives the message exactly once', async () => {
    const url = freshDatabase(kind, 'recvcrash');
    const effects = sideEffectFile();
    const env = { TEST_DB_URL: url, WORKFLOW_ID: 'pay-1', SIDE_EFFECTS: effects };
    // 1. Killed while waiting: nothing was received yet.
    const first = startWorker(workerScript, { ...env, MODE: 'start', TIMEOUT_SECONDS: '120' });
    await first.waitForLine('launched'); // the database exists from here on
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      const deadline = await waitUntil(async () => (await client.listWorkflowSteps('pay-1'))?.find((s) => s.name === 'DBOS.sleep'));
      await first.kill('SIGKILL');

      // 2. The message arrives while no process runs the workflow; the next one takes it, then dies before finishing.
      await client.send('pay-1', 'paid-1', 'payment');
      const second = startWorker(workerScript, { ...env, MODE: 'recover', BLOCK_AFTER_RECV: '1' });
      assert.equal(await second.waitForLine(/^got/), 'got "paid-1"');
      await second.kill('SIGKILL');

      // 3. A second message: the recovered workflow must replay the first, not take this one.
      await client.send('pay-1', 'paid-2', 'payment');
      const third = startWorker(workerScript, { ...env, MODE: 'recover' });
      assert.equal(await third.waitForLine(/^result/), 'result "paid-1"');
      assert.equal(await third.exited, 0);

      assert.deepEqual(linesOf(effects), ['"paid-1"'], 'the workflow acted on the message once');
      const messages = await queryRows(
        url,
        'SELECT message, consumed, consumed_by_function_id FROM dbos.notifications WHERE destination_uuid = $1 ORDER BY created_at_epoch_ms',
        ['pay-1'],
      );
      assert.deepEqual(
        messages.map((m) => [m.message, Boolean(m.consumed), m.consumed_by_function_id]),
        [
          ['{"json":"paid-1","__dbos_serializer":"superjson"}', true, 0],
          ['{"json":"paid-2","__dbos_serializer":"superjson"}', false, null],
        ],
      );
      const steps = await client.listWorkflowSteps('pay-1');
      assert.deepEqual(
        steps?.map((s) => [s.functionID, s.name]),
        [
          [0, 'DBOS.recv'],
          [1, 'DBOS.sleep'],
          [2, 'settle'],
        ],
      );
      assert.equal(steps?.[1]?.output, deadline.output, 'the deadline was recorded once, by the first run');
    } finally {
      await client.destroy();
    }
  });

  it("recv's timeout counts from the original start across a restart", async () => {
    const url = freshDatabase(kind, 'recvtimeout');
    const env = { TEST_DB_URL: url, WORKFLOW_ID: 'pay-late' };
    const first = startWorker(workerScript, { ...env, MODE: 'start', TIMEOUT_SECONDS: '6' });
    await first.waitForLine('launched');
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      const sleepStep = await waitUntil(async () => (await client.listWorkflowSteps('pay-late'))?.find((s) => s.name === 'DBOS.sleep'));
      const wakeAt = sleepStep.output as number;
      await waitUntil(() => Date.now() > sleepStep.startedAtEpochMs! + 1500);
      await first.kill('SIGKILL');

      const second = startWorker(workerScript, { ...env, MODE: 'recover' });
      assert.equal(await second.waitForLine(/^result/), 'result null');
      const status = await client.getWorkflow('pay-late');
      assert.ok(status?.completedAt, 'completed');
      // Waiting the whole 6 s again after the restart would end at least 1.5 s past the recorded deadline.
      assert.ok(status!.completedAt! >= wakeAt, 'did not give up early');
      assert.ok(status!.completedAt! - wakeAt < 1500, `gave up ${status!.completedAt! - wakeAt} ms after the recorded deadline`);
      const steps = await client.listWorkflowSteps('pay-late');
      assert.deepEqual(
        steps?.map((s) => [s.name, s.name === 'DBOS.sleep' ? s.output : s.output ?? null]),
        [
          ['DBOS.recv', null],
          ['DBOS.sleep', wakeAt],
          ['settle', null],
        ],
      );
    } finally {
      await client.destroy();
    }
  });
});
