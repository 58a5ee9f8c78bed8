// Lifecycle callbacks (DBOS.registerLifecycleCallback): add-ons such as event receivers start once the engine is
// launched (they can start workflows at once) and stop before it shuts down (their last events still get recorded).

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

const greet = DBOS.registerWorkflow(async (who: string) => `hello ${who}`, { name: 'lifecycleGreet' });

const events: string[] = [];
let failNextInitialize = false;

DBOS.registerLifecycleCallback({
  async initialize() {
    events.push(`first initialize (launched: ${DBOS.isInitialized()})`);
    events.push(await greet('from initialize'));
  },
  async destroy() {
    events.push(await greet('from destroy'));
    events.push('first destroy');
  },
  logRegisteredEndpoints() {
    events.push('first endpoints');
  },
});
DBOS.registerLifecycleCallback({
  async initialize() {
    if (failNextInitialize) throw new Error('the broker is unreachable');
    events.push('second initialize');
  },
  async destroy() {
    events.push('second destroy');
    throw new Error('a failing destroy does not stop the others');
  },
});

after(dropFreshDatabases);

it('initializes add-ons after launch, in order, and destroys them before shutdown, last first', async () => {
  events.length = 0;
  await launchOn(freshDatabase('sqlite', 'lifecycle'));
  assert.deepEqual(events, ['first initialize (launched: true)', 'hello from initialize', 'second initialize', 'first endpoints']);
  events.length = 0;
  await DBOS.shutdown();
  assert.deepEqual(events, ['second destroy', 'hello from destroy', 'first destroy']);
  assert.equal(DBOS.isInitialized(), false);
});

it('a failing initialize fails the launch, stops the add-ons already started and leaves nothing launched', async () => {
  events.length = 0;
  failNextInitialize = true;
  await assert.rejects(launchOn(freshDatabase('sqlite', 'lifecycle_fail')), /the broker is unreachable/);
  failNextInitialize = false;
  assert.equal(DBOS.isInitialized(), false);
  assert.deepEqual(events, ['first initialize (launched: true)', 'hello from initialize', 'second destroy', 'hello from destroy', 'first destroy']);
  // The next launch works.
  await launchOn(freshDatabase('sqlite', 'lifecycle_again'));
  assert.equal(await greet('again'), 'hello again');
  await DBOS.shutdown();
});
