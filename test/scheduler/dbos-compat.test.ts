// The schedules table is shared with DBOS: DBOS's own published client (@dbos-inc/dbos-sdk 5.3.0) reads a schedule
// Transact created and triggers it, and a schedule it creates is picked up and run by the Transact application.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { launchOn, TEST_APP } from '../support/launch.js';
import { waitUntil } from '../support/wait.js';

const compatDir = fileURLToPath(new URL('../../compat/dbos-client/', import.meta.url));
const installed = existsSync(`${compatDir}node_modules/@dbos-inc/dbos-sdk`);
const skip =
  process.env.CI === 'true'
    ? undefined
    : (postgresUnavailable ?? (installed ? undefined : 'DBOS client not installed: npm ci --prefix compat/dbos-client'));

const runs: { id: string; scheduled: Date; context: unknown }[] = [];
const recordRun = DBOS.registerStep(async (id: string, scheduled: Date, context: unknown) => void runs.push({ id, scheduled, context }), {
  name: 'recordRun',
});
const report = DBOS.registerWorkflow(async (scheduled: Date, context: unknown) => recordRun(DBOS.workflowID!, scheduled, context), {
  name: 'report',
});

after(dropFreshDatabases);

describe('schedules shared with DBOS’s own client [postgres]', { skip }, () => {
  let url: string;
  before(async () => {
    url = freshDatabase('postgres', 'sched_dbos');
    await launchOn(url, { schedulerPollingIntervalMs: 1000 });
  });
  after(() => DBOS.shutdown());

  it('reads and triggers a Transact schedule, and creates one that Transact runs', async () => {
    await DBOS.createSchedule({
      scheduleName: 'made-by-transact',
      workflowFn: report,
      schedule: '0 0 * * *',
      context: { from: 'transact', at: new Date('2026-01-01T00:00:00Z') },
      options: { cronTimezone: 'Asia/Tokyo' },
    });
    const run = await promisify(execFile)(process.execPath, ['schedules.mjs'], {
      cwd: compatDir,
      env: { ...process.env, TEST_DB_URL: url, APP_NAME: TEST_APP },
      timeout: 60_000,
    });
    const seen = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.deepEqual(seen, {
      read: {
        workflowName: 'report',
        workflowClassName: '',
        schedule: '0 0 * * *',
        status: 'ACTIVE',
        context: { from: 'transact', at: '2026-01-01T00:00:00.000Z' },
        cronTimezone: 'Asia/Tokyo',
      },
      triggered: true,
    });

    await waitUntil(() => runs.some((r) => r.id.startsWith('sched-made-by-transact-trigger-')), { message: 'the triggered run' });
    const triggered = runs.find((r) => r.id.startsWith('sched-made-by-transact-trigger-'))!;
    assert.ok(triggered.scheduled instanceof Date);
    assert.deepEqual(triggered.context, { from: 'transact', at: new Date('2026-01-01T00:00:00Z') });

    await waitUntil(() => runs.filter((r) => r.id.startsWith('sched-made-by-dbos-')).length >= 2, {
      timeoutMs: 10_000,
      message: 'two ticks of the schedule DBOS created',
    });
    const ours = runs.filter((r) => r.id.startsWith('sched-made-by-dbos-'));
    assert.deepEqual(ours[0]!.context, { from: 'dbos', at: new Date('2026-01-01T00:00:00Z') });
    assert.equal(ours[0]!.id, `sched-made-by-dbos-${ours[0]!.scheduled.toISOString()}`);
  });
});
