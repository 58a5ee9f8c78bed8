import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callAt, MAX_TIMER_MS, sleepUnlessStopped } from '../../src/runtime/context.js';

describe('long waits', () => {
  it('a durable sleep of 30 days neither fires early nor overflows Node’s timer', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const abort = new AbortController();
      let woke = false;
      const sleeping = sleepUnlessStopped(30 * 24 * 3600 * 1000, abort.signal).then(() => (woke = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(woke, false, 'still asleep');
      abort.abort();
      await sleeping;
      assert.deepEqual(warnings.filter((w) => w.name === 'TimeoutOverflowWarning'), []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('callAt fires at a time within the timer range and can be cancelled', async () => {
    const fired: number[] = [];
    const keepAlive = setInterval(() => {}, 1000); // callAt's timers do not hold the process open by themselves
    await new Promise<void>((resolve) =>
      callAt(Date.now() + 20, () => {
        fired.push(1);
        resolve();
      }),
    );
    clearInterval(keepAlive);
    const cancel = callAt(Date.now() + MAX_TIMER_MS * 2, () => fired.push(2));
    cancel();
    assert.deepEqual(fired, [1]);
  });
});
