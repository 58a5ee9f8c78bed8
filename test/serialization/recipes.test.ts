// DBOS.registerSerialization: a type of the application's own goes through workflow inputs, step outputs and results
// and comes back as itself; the stored text names the recipe, as DBOS writes it.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSError } from '../../src/index.js';
import { deserializeValue, serializeValue } from '../../src/serialization/index.js';
import { dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

class Money {
  constructor(
    readonly cents: bigint,
    readonly currency: string,
  ) {}
  plus(other: Money): Money {
    return new Money(this.cents + other.cents, this.currency);
  }
}

DBOS.registerSerialization<Money, string>({
  name: 'Money',
  isApplicable: (v): v is Money => v instanceof Money,
  serialize: (m) => `${m.cents}:${m.currency}`,
  deserialize: (s) => {
    const [cents, currency] = s.split(':');
    return new Money(BigInt(cents!), currency!);
  },
});

const addFee = DBOS.registerStep(async (m: Money) => m.plus(new Money(30n, m.currency)), { name: 'addFee' });
const charge = DBOS.registerWorkflow(async (m: Money) => ({ total: await addFee(m), plain: { n: 1 } }), { name: 'charge' });

after(dropFreshDatabases);

it('a registered type survives inputs, step outputs and results, and is stored under its recipe name', async () => {
  const url = freshDatabase('sqlite', 'recipes');
  await launchOn(url);
  try {
    const handle = await DBOS.startWorkflow(charge, { workflowID: 'charge-1' })(new Money(1000n, 'EUR'));
    const { total, plain } = await handle.getResult();
    assert.ok(total instanceof Money, 'the result is a Money again');
    assert.deepEqual([total.cents, total.currency, plain], [1030n, 'EUR', { n: 1 }]);
    const [step] = (await DBOS.listWorkflowSteps('charge-1'))!;
    assert.ok(step?.output instanceof Money, 'the recorded step output reads back as Money');
    const [row] = await queryRows(url, `SELECT inputs FROM dbos.workflow_input WHERE workflow_uuid = 'charge-1'`);
    assert.match(String(row?.inputs), /"1000:EUR".*\["custom","Money"\]/);
  } finally {
    await DBOS.shutdown();
  }
  // Plain JSON is written exactly as before (byte for byte what superjson writes), recipes or not.
  assert.equal(serializeValue({ a: [1, 'x'] }).text, '{"json":{"a":[1,"x"]},"__dbos_serializer":"superjson"}');
  assert.deepEqual(deserializeValue(serializeValue(new Money(5n, 'USD')).text, 'js_superjson'), new Money(5n, 'USD'));
  assert.throws(() => DBOS.registerSerialization({ name: '', isApplicable: (v): v is never => false, serialize: () => 0, deserialize: () => 0 as never }), DBOSError);
});
