// Testing the demo's order pipeline with transact/testing, under node:test:
//
//   node --import tsx --test examples/testing/order-pipeline.test.ts
//
// In your project, import from 'transact' and 'transact/testing' instead of ../../src/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DBOS } from '../../src/index.js';
import { assertCrashSafe, crashTest, testRuntime } from '../../src/testing/index.js';

process.env.DEMO_STEP_SECONDS ??= '0'; // the demo's steps pretend to work for a second each: not in tests
const { OrderPipeline } = await import('../order-pipeline.js');

// A workflow that waits a week before it reminds the customer.
const remindInAWeek = DBOS.registerWorkflow(async (orderID: string) => {
  await DBOS.sleep(7 * 24 * 60 * 60 * 1000);
  return `reminded the customer of ${orderID}`;
}, { name: 'remindInAWeek' });

test('the order pipeline survives a crash at every step boundary', async () => {
  const report = await crashTest(OrderPipeline.processOrder, ['order-42']);
  assertCrashSafe(report); // throws with the report's summary if any boundary failed
  // 5 steps x (before, during, before the checkpoint, after the checkpoint) + before the outcome: 21 crashes.
  assert.equal(report.boundaries.length, 21);
  // Each step's side effects must be idempotent: it runs again when the crash comes while it is in flight.
  assert.deepEqual(
    report.ranTwice.map((t) => t.step.name),
    ['reserveInventory', 'chargeCard', 'packParcel', 'shipParcel', 'emailCustomer'],
  );
});

test('a week-long sleep, tested in milliseconds', async () => {
  const rt = await testRuntime({ virtualClock: true }); // DBOS on a temporary embedded database
  try {
    const handle = await DBOS.startWorkflow(remindInAWeek)('order-42');
    await rt.clock!.waitForTimers(1); // the workflow is asleep
    await rt.clock!.advance('7 days');
    assert.equal(await handle.getResult(), 'reminded the customer of order-42');
  } finally {
    await rt.shutdown();
  }
});
