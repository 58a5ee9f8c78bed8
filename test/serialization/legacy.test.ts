import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserializeArgs, deserializeValue, serializeValue } from '../../src/serialization/index.js';

// DBOS 4.x stored plain JSON with tagged objects and, normally, a NULL serialization column (dbos-spec §3.3).

test('4.x tagged Date, BigInt and Buffer revive when the serialization column is NULL', () => {
  const text = JSON.stringify({
    when: { dbos_type: 'dbos_Date', dbos_data: '2023-03-04T05:06:07.000Z' },
    count: { dbos_type: 'dbos_BigInt', dbos_data: '900719925474099312' },
    bytes: { type: 'Buffer', data: [1, 2, 3] },
    nested: [{ at: { dbos_type: 'dbos_Date', dbos_data: '2000-01-01T00:00:00.000Z' } }],
    plain: { type: 'Buffer', note: 'not a buffer: it has other keys', data: [] },
  });
  const v = deserializeValue<Record<string, unknown>>(text, null);
  assert.ok(v.when instanceof Date);
  assert.equal((v.when as Date).toISOString(), '2023-03-04T05:06:07.000Z');
  assert.equal(v.count, 900719925474099312n);
  assert.ok(Buffer.isBuffer(v.bytes));
  assert.deepEqual([...(v.bytes as Buffer)], [1, 2, 3]);
  assert.ok(((v.nested as { at: unknown }[])[0]?.at) instanceof Date);
  assert.deepEqual(v.plain, { type: 'Buffer', note: 'not a buffer: it has other keys', data: [] });
});

test('4.x plain values and argument arrays read back', () => {
  assert.equal(deserializeValue('42', null), 42);
  assert.equal(deserializeValue('"hi"', undefined), 'hi');
  assert.deepEqual(deserializeArgs('[1,{"dbos_type":"dbos_Date","dbos_data":"1970-01-01T00:00:00.000Z"}]', null), [1, new Date(0)]);
});

test('marked text with a NULL serialization column is read as js_superjson', () => {
  const s = serializeValue({ when: new Date(1) });
  const v = deserializeValue<{ when: Date }>(s.text, null);
  assert.ok(v.when instanceof Date);
  assert.equal(v.when.getTime(), 1);
});
