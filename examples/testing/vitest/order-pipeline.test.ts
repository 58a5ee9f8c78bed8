// The same tests under Vitest (`npx vitest run examples/testing/vitest`). Vitest is not a dependency of this
// repository, so this file is not type-checked or run by `npm test` (tsconfig.json excludes it); the node:test version
// next door is. In your project, import from 'transact' and 'transact/testing'.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DBOS } from '../../../src/index.js';
import { crashTest, testRuntime, type TestRuntime } from '../../../src/testing/index.js';

process.env.DEMO_STEP_SECONDS ??= '0';
const { OrderPipeline } = await import('../../order-pipeline.js');

const remindInAWeek = DBOS.registerWorkflow(async (orderID: string) => {
  await DBOS.sleep(7 * 24 * 60 * 60 * 1000);
  return `reminded the customer of ${orderID}`;
}, { name: 'remindInAWeek' });

describe('the order pipeline', () => {
  it('survives a crash at every step boundary', async () => {
    const report = await crashTest(OrderPipeline.processOrder, ['order-42']);
    expect(report.failures, report.summary).toEqual([]);
    expect(report.boundaries).toHaveLength(21);
  });
});

describe('with a virtual clock', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await testRuntime({ virtualClock: true });
  });
  afterAll(() => rt.shutdown());

  it('sleeps a week in milliseconds', async () => {
    const handle = await DBOS.startWorkflow(remindInAWeek)('order-42');
    await rt.clock!.waitForTimers(1);
    await rt.clock!.advance('7 days');
    expect(await handle.getResult()).toBe('reminded the customer of order-42');
  });
});
