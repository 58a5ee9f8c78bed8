import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DBOSSerializationError } from '../../src/errors.js';
import {
  deserializeArgs,
  deserializeValue,
  PORTABLE_SERIALIZATION,
  serializeArgs,
  serializeValue,
} from '../../src/serialization/index.js';

test('portable values are plain JSON', () => {
  assert.deepEqual(serializeValue(8, 'portable'), { text: '8', serialization: PORTABLE_SERIALIZATION });
  assert.equal(serializeValue({ a: [1, 'x', null, true] }, 'portable').text, '{"a":[1,"x",null,true]}');
  assert.deepEqual(deserializeValue('{"a":[1,"x",null,true]}', 'portable_json'), { a: [1, 'x', null, true] });
});

test('values JSON lacks are written as the nearest JSON shape', () => {
  const text = serializeValue(
    {
      when: new Date('2024-01-02T03:04:05.000Z'),
      big: 12345678901234567890n,
      map: new Map([['k', new Date(0)]]),
      set: new Set([1, 2]),
      err: new RangeError('out'),
      dropped: undefined,
    },
    'portable',
  ).text;
  assert.equal(
    text,
    '{"when":"2024-01-02T03:04:05.000Z","big":"12345678901234567890","map":{"k":"1970-01-01T00:00:00.000Z"},"set":[1,2],"err":{"name":"RangeError","message":"out"}}',
  );
});

test('top-level undefined is written as null', () => {
  const s = serializeValue(undefined, 'portable');
  assert.equal(s.text, 'null');
  assert.equal(deserializeValue(s.text, s.serialization), null);
});

test('a Map with non-string keys is refused, with its path', () => {
  assert.throws(
    () => serializeValue({ lookup: new Map([[1, 'one']]) }, 'portable', 'the output of workflow w'),
    (e: unknown) => {
      assert.ok(e instanceof DBOSSerializationError);
      assert.match(e.message, /the output of workflow w/);
      assert.match(e.message, /value\.lookup/);
      return true;
    },
  );
});

test('portable inputs are {"positionalArgs":[…]}', () => {
  const s = serializeArgs([4, 'x', new Date(0)], 'portable');
  assert.deepEqual(s, { text: '{"positionalArgs":[4,"x","1970-01-01T00:00:00.000Z"]}', serialization: 'portable_json' });
  assert.deepEqual(deserializeArgs(s.text, s.serialization), [4, 'x', '1970-01-01T00:00:00.000Z']);
  assert.deepEqual(deserializeArgs('{"positionalArgs":[4]}', 'portable_json'), [4]);
});

test('named arguments from other languages arrive as one trailing object', () => {
  assert.deepEqual(deserializeArgs('{"positionalArgs":[1],"namedArgs":{"flag":true}}', 'portable_json'), [1, { flag: true }]);
  assert.deepEqual(deserializeArgs('{"positionalArgs":[1],"namedArgs":{}}', 'portable_json'), [1]);
  assert.deepEqual(deserializeArgs('{"namedArgs":{"only":1}}', 'portable_json'), [{ only: 1 }]);
  assert.deepEqual(deserializeArgs('{}', 'portable_json'), []);
});
