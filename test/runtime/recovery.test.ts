// Crash behaviour with real processes: a worker is SIGKILLed mid-workflow and another process finishes the work.

import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { waitUntil } from '../support/wait.js';

const workerScript = new URL('./fixtures/worker.ts', import.meta.url);

function sideEffectFile(): string {
  return join(scratchDir('effects'), 'effects.log');
}

/** Which step numbers ran, in order, from the side-effect log. */
function stepsRun(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line.split(' ')[0]));
}

after(dropFreshDatabases);

describeEachBackend('recovery after a crash', (kind) => {
  it('finishes a SIGKILLed workflow without re-running completed steps', async () => {
    const url = freshDatabase(kind, 'crash');
    const effects = sideEffectFile();
    const env = { TEST_DB_URL: url, SIDE_EFFECTS: effects, WORKFLOW_ID: 'crash-me', STEPS: '5' };
    const first = startWorker(workerScript, { ...env, MODE: 'start', BLOCK_AT: '3' });
    await first.waitForLine('started 3'); // steps 0-2 are checkpointed: step 3 starts only after step 2 is recorded
    await first.kill('SIGKILL');
    assert.deepEqual(stepsRun(effects), [0, 1, 2]);

    const second = startWorker(workerScript, { ...env, MODE: 'recover' });
    assert.equal(await second.waitForLine(/^result/), 'result [0,1,4,9,16]');
    assert.equal(await second.exited, 0);
    assert.deepEqual(stepsRun(effects), [0, 1, 2, 3, 4], 'each step ran exactly once');

    // Another process reads the outcome through the client.
    const reader = startWorker(workerScript, { TEST_DB_URL: url, MODE: 'client', WORKFLOW_ID: 'crash-me' });
    const line = await reader.waitForLine(/^client/);
    assert.deepEqual(JSON.parse(line.slice('client '.length)), {
      result: [0, 1, 4, 9, 16],
      status: 'SUCCESS',
      listed: 1,
      steps: ['work', 'work', 'work', 'work', 'work'],
    });
  });

  it('sleeps only for the rest of a durable sleep after a restart', async () => {
    const url = freshDatabase(kind, 'sleep');
    const env = { TEST_DB_URL: url, WORKFLOW_ID: 'sleeper', SLEEP_MS: '6000' };
    const first = startWorker(workerScript, { ...env, MODE: 'sleep' });
    await first.waitForLine('sleeping');
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      const sleepStep = await waitUntil(async () => (await client.listWorkflowSteps('sleeper'))?.find((s) => s.name === 'DBOS.sleep'));
      const wakeAt = sleepStep.output as number;
      await waitUntil(() => Date.now() > sleepStep.startedAtEpochMs! + 1500);
      await first.kill('SIGKILL');

      const second = startWorker(workerScript, { ...env, MODE: 'recover' });
      assert.equal(await second.waitForLine(/^result/), 'result "awake"');
      const status = await client.getWorkflow('sleeper');
      assert.ok(status?.completedAt, 'completed');
      // Sleeping the whole 6 s again after the restart would finish at least 1.5 s past the recorded wake-up time.
      assert.ok(status!.completedAt! >= wakeAt, 'did not wake early');
      assert.ok(status!.completedAt! - wakeAt < 1500, `woke ${status!.completedAt! - wakeAt} ms after the recorded time`);
      const steps = await client.listWorkflowSteps('sleeper');
      assert.equal(steps?.filter((s) => s.name === 'DBOS.sleep').length, 1, 'the wake-up time was recorded once');
    } finally {
      await client.destroy();
    }
  });

  it('moves a workflow that keeps crashing its process to MAX_RECOVERY_ATTEMPTS_EXCEEDED', async () => {
    const url = freshDatabase(kind, 'dead');
    const env = { TEST_DB_URL: url, WORKFLOW_ID: 'doomed' };
    // maxRecoveryAttempts is 1: the first run and one recovery may crash; the next claim dead-letters it.
    for (const mode of ['suicidal', 'recover']) {
      const worker = startWorker(workerScript, { ...env, MODE: mode });
      assert.equal(await worker.exited, 'SIGKILL', 'the workflow killed its process');
    }
    const last = startWorker(workerScript, { ...env, MODE: 'recover' });
    assert.equal(
      await last.waitForLine(/^error/),
      'error DBOSAwaitedWorkflowExceededMaxRecoveryAttempts: Awaited doomed exceeded its maximum recovery attempts',
    );
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      const status = await client.getWorkflow('doomed');
      assert.equal(status?.status, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED');
      assert.equal(status?.recoveryAttempts, 3);
    } finally {
      await client.destroy();
    }
  });

  it('runs a workflow once when two processes start the same ID at the same time', async () => {
    const url = freshDatabase(kind, 'race');
    const effects = sideEffectFile();
    const env = { TEST_DB_URL: url, SIDE_EFFECTS: effects, WORKFLOW_ID: 'contested', STEPS: '3', MODE: 'start' };
    // Both launch first (migrations, recovery), then start the workflow as close together as possible.
    // Distinct executor IDs: two processes sharing one would each recover the other's PENDING work at launch.
    const workers = [startWorker(workerScript, { ...env, DBOS__VMID: 'racer-1' }), startWorker(workerScript, { ...env, DBOS__VMID: 'racer-2' })];
    const results = await Promise.all(workers.map((w) => w.waitForLine(/^result/)));
    assert.deepEqual(results, ['result [0,1,4]', 'result [0,1,4]']);
    assert.deepEqual(stepsRun(effects), [0, 1, 2], 'the steps ran once in all');
  });
});
