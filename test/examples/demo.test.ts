// The demo is the first thing a user runs: interrupted mid-way and started again, it resumes after the last
// completed step and says so.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { startWorker } from '../support/child.js';

const demo = new URL('../../examples/demo.ts', import.meta.url);

after(dropFreshDatabases);

describe('the demo [sqlite]', () => {
  it('resumes at the step after the last completed one', async () => {
    const env = { DBOS_SYSTEM_DATABASE_URL: freshDatabase('sqlite', 'demo'), DEMO_STEP_SECONDS: '0.2' };
    const first = startWorker(demo, env);
    await first.waitForLine('[3/5]');
    await first.kill('SIGKILL');
    assert.ok(first.lines.some((l) => l.includes('done: charged $42.00')));

    const second = startWorker(demo, env);
    await second.waitForLine(/complete:/);
    const out = second.lines.join('\n');
    assert.match(out, /Resuming order-\d+: an earlier run was interrupted after 2 of 5 steps/);
    assert.match(out, /\[1\/5\] reserveInventory: already done \(reserved 3 items\), not run again/);
    assert.match(out, /\[2\/5\] chargeCard: already done \(charged \$42\.00\), not run again/);
    assert.doesNotMatch(out, /reserving inventory|charging the card/, 'completed steps did not run again');
    for (const step of ['[3/5] packing', '[4/5] handing', '[5/5] emailing']) assert.ok(out.includes(step), step);
    assert.equal(await second.exited, 0);
  });
});
