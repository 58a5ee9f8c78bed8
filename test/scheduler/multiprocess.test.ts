// Several processes run the same schedules: every process fires every tick, and each tick becomes one workflow that
// runs once (its ID is deterministic, so the first insert wins and the others attach). When one process is killed,
// the others go on firing without a gap.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, it } from 'node:test';
import { DBOSClient } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, scratchDir } from '../support/backends.js';
import { startWorker, type Worker } from '../support/child.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const workerScript = new URL('./fixtures/schedule-worker.ts', import.meta.url);
const LEASE_MS = 1500;
let workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  workers = [];
});
after(dropFreshDatabases);

/** Who ran each scheduled workflow, from the workers' side-effect logs. */
function ranBy(dir: string, names: string[]): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  for (const name of names) {
    const file = join(dir, `${name}.log`);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      const [id, by] = line.split(' ') as [string, string];
      runs.set(id, [...(runs.get(id) ?? []), by]);
    }
  }
  return runs;
}

function ticksOf(runs: Map<string, string[]>, scheduleName: string): number[] {
  const prefix = `sched-${scheduleName}-`;
  return [...runs.keys()]
    .filter((id) => id.startsWith(prefix))
    .map((id) => Date.parse(id.slice(prefix.length)))
    .sort((a, b) => a - b);
}

describeEachBackend('one schedule, two processes', (kind) => {
  it('creates and runs one workflow per tick, and keeps ticking without a gap when a process is killed', async () => {
    const url = freshDatabase(kind, 'sched_mp');
    const dir = scratchDir('sched');
    const env = { TEST_DB_URL: url, EFFECTS_DIR: dir, LEASE_MS: String(LEASE_MS) };
    const [w1, w2] = ['w1', 'w2'].map((name) => startWorker(workerScript, { ...env, WORKER: name }));
    workers.push(w1!, w2!);
    await Promise.all(workers.map((w) => w.waitForLine('ready')));
    const bothUp = Date.now();

    // A schedule created by a third process (a client): both workers find it in the table.
    const client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: 'transact-test' });
    try {
      await client.createSchedule({ scheduleName: 'mp-table', workflowName: 'tableTick', schedule: '* * * * * *' });
    } finally {
      await client.destroy();
    }
    const ticksAfter = (t: number) => {
      const runs = ranBy(dir, ['w1', 'w2']);
      return Math.min(...['Ticker.everySecond', 'mp-table'].map((s) => ticksOf(runs, s).filter((x) => x > t).length));
    };
    // Which process wins a tick's insert is a race; wait until each has won at least one, so the kill below
    // interrupts a process that really was sharing the work.
    const ranByBoth = () => new Set([...ranBy(dir, ['w1', 'w2']).values()].flat()).size === 2;
    await waitUntil(() => ticksAfter(bothUp + 1500) >= 2 && ranByBoth(), {
      timeoutMs: 30_000,
      message: 'two ticks of each schedule with both up, and work run by each process',
    });
    await w1!.kill('SIGKILL');
    const killedAt = Date.now();
    await waitUntil(() => ticksAfter(killedAt) >= 2, { timeoutMs: 15_000, message: 'two ticks of each after the kill' });

    // A workflow w1 was running when it died is taken over by w2 once w1's lease lapses; then w2 stops cleanly.
    await waitUntil(
      async () => {
        const [row] = await queryRows(url, `SELECT count(*) AS n FROM dbos.workflow_status WHERE executor_id = 'w1' AND status = 'PENDING'`);
        return Number(row!.n) === 0;
      },
      { timeoutMs: 15_000, message: "w1's unfinished work taken over" },
    );
    assert.equal(await w2!.kill('SIGTERM'), 0);
    const runs = ranBy(dir, ['w1', 'w2']);
    for (const schedule of ['Ticker.everySecond', 'mp-table']) {
      // From the first tick both processes had picked up to the last: every second, once.
      const ticks = ticksOf(runs, schedule).filter((t) => t > bothUp + 1500);
      assert.ok(ticks.length >= 4, `${schedule}: ${ticks.length} ticks`);
      for (let i = 1; i < ticks.length; i++) {
        assert.equal(ticks[i]! - ticks[i - 1]!, 1000, `${schedule}: no gap before ${new Date(ticks[i]!).toISOString()}`);
      }
      const done = await queryRows(url, `SELECT workflow_uuid FROM dbos.workflow_status WHERE schedule_name = $1 AND status = 'SUCCESS'`, [
        schedule,
      ]);
      assert.deepEqual(
        done.map((r) => r.workflow_uuid).sort(),
        [...runs.keys()].filter((id) => id.startsWith(`sched-${schedule}-`)).sort(),
        `${schedule}: the workflows that ran are the ones recorded done, one per tick`,
      );
    }
    // Each tick ran once; only a run cut off by the kill (its side effect done, its checkpoint not) ran again.
    const twice = [...runs].filter(([, by]) => by.length > 1);
    assert.ok(twice.length <= 1, `ran more than once: ${twice.map(([id, by]) => `${id} by ${by.join(', ')}`).join('; ')}`);
    for (const [, by] of twice) assert.deepEqual(by.sort(), ['w1', 'w2']);
    const executors = new Set([...runs.values()].flat());
    assert.deepEqual([...executors].sort(), ['w1', 'w2'], 'both processes ran scheduled work');
  });
});
