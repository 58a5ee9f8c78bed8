// The README's testing example (examples/testing/order-pipeline.test.ts) runs and passes: the demo's order pipeline
// survives a crash at every boundary, and a week-long sleep is tested with the virtual clock.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';

const require = createRequire(import.meta.url);
const example = fileURLToPath(new URL('../../examples/testing/order-pipeline.test.ts', import.meta.url));

it('the node:test example of transact/testing passes', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', require.resolve('tsx'), '--test', example], {
    timeout: 120_000,
    // Without the outer test runner's context, the example reports as a test run of its own (TAP on stdout).
    env: { ...process.env, DEMO_STEP_SECONDS: '0', NODE_TEST_CONTEXT: undefined },
  }).catch((err: { stdout?: string; stderr?: string }) => assert.fail(`the example failed:\n${err.stdout}\n${err.stderr}`));
  assert.match(stdout, /^ok 1 - the order pipeline survives a crash at every step boundary$/m);
  assert.match(stdout, /^ok 2 - a week-long sleep, tested in milliseconds$/m);
  assert.match(stdout, /^# pass 2$/m);
});
