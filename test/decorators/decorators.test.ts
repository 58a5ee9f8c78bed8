// Both of TypeScript's decorator implementations register the same workflow: standard decorators (this project's
// own tsconfig) and legacy experimentalDecorators (a child process compiled with its own tsconfig).

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { launchOn } from '../support/launch.js';

class Inventory {
  static log: string[] = [];

  @DBOS.step({ retriesAllowed: true, maxAttempts: 2, intervalSeconds: 0.01 })
  static async take(item: string): Promise<string> {
    Inventory.log.push(`take ${item}`);
    return `${item} taken`;
  }

  @DBOS.workflow()
  static async restock(items: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const item of items) out.push(await Inventory.take(item));
    return out;
  }
}

// A bundler may rename the class; DBOS.className fixes the name workflows are registered and recorded under.
@DBOS.className('Warehouse')
class Minified {
  @DBOS.workflow()
  static async count(n: number): Promise<number> {
    return n + 1;
  }
}

const expected = {
  result: ['bolt taken', 'nut taken'],
  className: 'Inventory',
  name: 'restock',
  steps: ['take', 'take'],
  log: ['take bolt', 'take nut'],
  renamed: { className: 'Warehouse', result: 42 },
};

after(dropFreshDatabases);

describe('decorators [sqlite]', () => {
  it('registers static workflows and steps with standard decorators', async () => {
    await launchOn(freshDatabase('sqlite', 'dec'));
    try {
      const handle = await DBOS.startWorkflow(Inventory, { workflowID: 'standard-1' }).restock(['bolt', 'nut']);
      const result = await handle.getResult();
      const status = await handle.getStatus();
      const steps = await DBOS.listWorkflowSteps('standard-1');
      const renamed = await DBOS.startWorkflow(Minified).count(41);
      assert.deepEqual(
        {
          result,
          className: status?.workflowClassName,
          name: status?.workflowName,
          steps: steps?.map((s) => s.name),
          log: Inventory.log,
          renamed: { className: (await renamed.getStatus())?.workflowClassName, result: await renamed.getResult() },
        },
        expected,
      );
      assert.deepEqual(await Inventory.restock(['nut']), ['nut taken'], 'calling the method directly runs the workflow');
    } finally {
      await DBOS.shutdown();
    }
  });

  it('registers them with legacy experimentalDecorators too', async () => {
    const worker = startWorker(new URL('./legacy-app.ts', import.meta.url), {
      TEST_DB_URL: freshDatabase('sqlite', 'legacy'),
      TSX_TSCONFIG_PATH: fileURLToPath(new URL('./tsconfig.legacy.json', import.meta.url)),
    });
    const line = await worker.waitForLine(/^\{/);
    assert.deepEqual(JSON.parse(line), {
      compiledAs: 'legacy',
      ...expected,
      instances: { small: 'small 6 true', large: 'large 30 true', className: 'Shelving', configName: 'small' },
    });
  });
});
