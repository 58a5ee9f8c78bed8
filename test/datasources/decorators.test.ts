// `@ds.transaction()` under standard decorators (this project's tsconfig; the legacy form is run by
// dbos-app.test.ts, whose DBOS app compiles with experimentalDecorators): the method becomes a transaction step
// named after it, `this` is the class, and a configured isolation level is applied.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DBOS } from '../../src/index.js';
import { NodePostgresDataSource } from '../../src/datasources/nodepg.js';
import { dropFreshDatabases, freshDatabase, postgresUnavailable } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { createAppDatabase, dropAppDatabase } from './support/suite.js';

let appUrl = '';
let ds!: NodePostgresDataSource;

class Accounts {
  static prefix = 'acct';

  static async open(id: string): Promise<string> {
    await ds.client.query('INSERT INTO ds_rows (id, workflow_id, note) VALUES ($1, $2, $3)', [id, DBOS.workflowID, this.prefix]);
    const iso = (await ds.client.query(`SELECT current_setting('transaction_isolation') AS v`)).rows[0].v;
    return `${this.prefix}:${id}:${iso}`;
  }

  @DBOS.workflow()
  static async openTwo(a: string, b: string): Promise<string[]> {
    return [await Accounts.decorated(a), await Accounts.decorated(b)];
  }

  // Assigned once the data source exists (below): the decorator is applied to a method of this class.
  static decorated: (id: string) => Promise<string>;
}

describe('@ds.transaction() with standard decorators', { skip: postgresUnavailable }, () => {
  before(async () => {
    appUrl = await createAppDatabase('deco');
    ds = new NodePostgresDataSource('deco', { connectionString: appUrl });
    class Decorated {
      @ds.transaction({ isolationLevel: 'REPEATABLE READ' })
      static async openAccount(id: string): Promise<string> {
        return Accounts.open.call(Accounts, id);
      }
    }
    Accounts.decorated = (id) => Decorated.openAccount(id);
    await launchOn(freshDatabase('sqlite', 'deco'));
  });
  after(async () => {
    await DBOS.shutdown();
    await ds.dataSourceCore.destroy();
    if (appUrl) await dropAppDatabase(appUrl);
    await dropFreshDatabases();
  });

  it('is a transaction step named after the method, with its isolation level', async () => {
    const handle = await DBOS.startWorkflow(Accounts, { workflowID: 'deco-1' }).openTwo('x1', 'x2');
    assert.deepEqual(await handle.getResult(), ['acct:x1:repeatable read', 'acct:x2:repeatable read']);
    const steps = (await DBOS.listWorkflowSteps('deco-1'))!;
    assert.deepEqual(steps.map((s) => [s.functionID, s.name]), [[0, 'openAccount'], [1, 'openAccount']]);
  });
});
