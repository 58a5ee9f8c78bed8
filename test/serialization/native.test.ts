import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import SuperJSON from 'superjson';
import { DBOSError } from '../../src/errors.js';
import {
  deserializeArgs,
  deserializeValue,
  NATIVE_SERIALIZATION,
  serializeArgs,
  serializeValue,
} from '../../src/serialization/index.js';
import { inspectValue } from '../../src/serialization/inspect.js';
import { encodeWithSuperjson } from '../../src/serialization/native.js';

/** What DBOS writes, spelled as in dbos-spec §3.3, with the library itself as the reference. */
function dbosEnvelope(v: unknown): string {
  return JSON.stringify({ ...SuperJSON.serialize(v), __dbos_serializer: 'superjson' });
}

function roundTrip<T>(v: T): T {
  const s = serializeValue(v);
  assert.equal(s.serialization, NATIVE_SERIALIZATION);
  return deserializeValue<T>(s.text, s.serialization);
}

test('the envelope of plain values is exactly what DBOS writes', () => {
  assert.equal(serializeValue(42).text, '{"json":42,"__dbos_serializer":"superjson"}');
  assert.equal(serializeValue('hello').text, '{"json":"hello","__dbos_serializer":"superjson"}');
  assert.equal(serializeValue(['hello']).text, '{"json":["hello"],"__dbos_serializer":"superjson"}');
  assert.equal(serializeValue({ a: 1 }).text, '{"json":{"a":1},"__dbos_serializer":"superjson"}');
  for (const v of [42, 'hello', ['hello'], { a: 1 }, null, true, 0, -1.5, '', [], {}]) {
    assert.equal(serializeValue(v).text, dbosEnvelope(v), JSON.stringify(v));
  }
});

test('a Date inside an object gets superjson meta, in the key order json, meta, marker', () => {
  const v = { when: new Date('2024-05-06T07:08:09.010Z') };
  const text = serializeValue(v).text;
  assert.equal(text, dbosEnvelope(v));
  assert.ok(text.startsWith('{"json":{"when":"2024-05-06T07:08:09.010Z"},"meta":{"values":{"when":["Date"]}'), text);
  assert.ok(text.endsWith(',"__dbos_serializer":"superjson"}'), text);
});

test('top-level undefined is stored as text and comes back as undefined', () => {
  const s = serializeValue(undefined);
  assert.equal(s.text, dbosEnvelope(undefined));
  assert.equal(s.text, '{"json":null,"meta":{"values":["undefined"],"v":1},"__dbos_serializer":"superjson"}');
  assert.equal(deserializeValue(s.text, s.serialization), undefined);
});

test('SQL NULL reads as undefined, whatever the format', () => {
  assert.equal(deserializeValue(null, NATIVE_SERIALIZATION), undefined);
  assert.equal(deserializeValue(undefined, null), undefined);
  assert.equal(deserializeValue(null, 'portable_json'), undefined);
  assert.deepEqual(deserializeArgs(null, NATIVE_SERIALIZATION), []);
});

test('values JSON cannot carry round-trip: Date, Map, Set, bigint, undefined, NaN, Infinity, -0, RegExp, Buffer', () => {
  const when = new Date('2020-02-29T12:00:00.000Z');
  const back = roundTrip({
    when,
    map: new Map<unknown, unknown>([['k', 1], [2, { deep: new Date(0) }]]),
    set: new Set(['a', 'b']),
    big: 12345678901234567890n,
    missing: undefined,
    list: [1, undefined, 3],
    nan: NaN,
    inf: -Infinity,
    negZero: -0,
    re: /ab+c/gi,
    buf: Buffer.from('héllo'),
  });
  assert.ok(back.when instanceof Date);
  assert.equal(back.when.getTime(), when.getTime());
  assert.deepEqual(back.map, new Map<unknown, unknown>([['k', 1], [2, { deep: new Date(0) }]]));
  assert.deepEqual(back.set, new Set(['a', 'b']));
  assert.equal(back.big, 12345678901234567890n);
  assert.ok('missing' in back);
  assert.equal(back.missing, undefined);
  assert.deepEqual(back.list, [1, undefined, 3]);
  assert.ok(Number.isNaN(back.nan));
  assert.equal(back.inf, -Infinity);
  assert.ok(Object.is(back.negZero, -0));
  assert.deepEqual(back.re, /ab+c/gi);
  assert.ok(Buffer.isBuffer(back.buf));
  assert.equal(back.buf.toString(), 'héllo');
});

test('a top-level Buffer, bigint and NaN round-trip', () => {
  const buf = roundTrip(Buffer.from([0, 1, 255]));
  assert.ok(Buffer.isBuffer(buf));
  assert.deepEqual([...buf], [0, 1, 255]);
  assert.equal(roundTrip(7n), 7n);
  assert.ok(Number.isNaN(roundTrip(NaN)));
});

test('Buffers use the DBOS recipe name "Buffer" with the bytes as an array', () => {
  assert.equal(
    serializeValue(Buffer.from([1, 2])).text,
    '{"json":[1,2],"meta":{"values":[["custom","Buffer"]],"v":1},"__dbos_serializer":"superjson"}',
  );
});

test('nested plain objects round-trip unchanged', () => {
  const v = { a: { b: { c: [1, 'two', { d: null, e: false }] } }, f: [[], {}], g: 'x'.repeat(100), '': 0, 'a.b': 1 };
  assert.deepEqual(roundTrip(v), v);
  const nullProto = Object.assign(Object.create(null) as object, { x: 1 });
  assert.deepEqual({ ...(roundTrip(nullProto) as object) }, { x: 1 });
});

test('shared (non-cyclic) references keep their identity', () => {
  const shared = { n: 1 };
  const back = roundTrip({ a: shared, b: shared });
  assert.equal(back.a, back.b);
});

// A small seeded generator of plain JSON values, to compare the fast path with superjson on many shapes.
function plainValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.4) {
    const pick = Math.floor(rand() * 7);
    return [null, true, false, Math.floor(rand() * 2000) - 1000, rand() * 1e6, `s${Math.floor(rand() * 100)}\u00e9"\\\n`, 1e21][pick];
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => plainValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) o[`k${Math.floor(rand() * 50)}.x`] = plainValue(rand, depth + 1);
  return o;
}

test('the fast path and superjson agree byte for byte on plain values', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 500; i++) {
    const v = plainValue(rand, 0);
    assert.equal(serializeValue(v).text, dbosEnvelope(v), JSON.stringify(v));
    assert.equal(serializeValue(v).text, encodeWithSuperjson(v));
  }
});

test('values that need superjson are encoded exactly as superjson encodes them', () => {
  const shared = [1];
  const values: unknown[] = [
    { when: new Date(0) },
    [undefined],
    { a: undefined },
    -0,
    [NaN, Infinity],
    10n,
    new Set([1]),
    { a: shared, b: shared },
    { err: new Error('inside a value') },
    /x/,
    [1, , 3], // a hole: superjson and JSON both write null
  ];
  for (const v of values) assert.equal(serializeValue(v).text, dbosEnvelope(v));
});

test('the walk calls a value plain exactly when superjson would write no meta', () => {
  const shared = { s: 1 };
  const cases: unknown[] = [
    1, 'x', null, true, [], {}, { a: [1, { b: 'c' }] }, Object.create(null),
    undefined, [undefined], NaN, Infinity, -0, [-0], 1n, new Date(0), { d: new Date(0) }, new Map(), new Set(),
    /r/, Buffer.from('b'), new Uint8Array(2), new URL('https://example.com'), new Error('e'), { shared, again: shared },
    [[shared], shared],
  ];
  for (const v of cases) {
    const plain = inspectValue(v, { what: 'a test value', root: 'value', portable: false });
    assert.equal(plain, SuperJSON.serialize(v).meta === undefined, inspect(v));
  }
});

test('class instances pass through as plain objects of their own properties', () => {
  class Point {
    constructor(readonly x: number, readonly y: number) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }
  assert.deepEqual(roundTrip({ p: new Point(3, 4) }), { p: { x: 3, y: 4 } });
});

test('arguments are stored as the superjson of the positional array', () => {
  const s = serializeArgs(['hello']);
  assert.deepEqual(s, { text: '{"json":["hello"],"__dbos_serializer":"superjson"}', serialization: 'js_superjson' });
  const args = deserializeArgs(serializeArgs([new Date(5), undefined, 3n]).text, 'js_superjson');
  assert.deepEqual(args, [new Date(5), undefined, 3n]);
  assert.deepEqual(deserializeArgs(serializeArgs([]).text, 'js_superjson'), []);
});

test('text marked js_superjson without the marker is refused', () => {
  assert.throws(() => deserializeValue('{"json":1}', 'js_superjson'), (e: unknown) => {
    assert.ok(e instanceof DBOSError);
    assert.match(e.message, /__dbos_serializer/);
    return true;
  });
  assert.throws(() => deserializeValue('not json', 'js_superjson'), DBOSError);
});

test('text written by DBOS with an older superjson (no "v" in meta) reads back', () => {
  const text = '{"json":{"when":"2024-01-02T03:04:05.000Z"},"meta":{"values":{"when":["Date"]}},"__dbos_serializer":"superjson"}';
  const v = deserializeValue<{ when: Date }>(text, 'js_superjson');
  assert.ok(v.when instanceof Date);
  assert.equal(v.when.toISOString(), '2024-01-02T03:04:05.000Z');
});

test('an unknown serialization format is refused with its name', () => {
  assert.throws(() => deserializeValue('gASVAgAAAAAAAABLKi4=', 'py_pickle'), (e: unknown) => {
    assert.ok(e instanceof DBOSError);
    assert.match(e.message, /py_pickle/);
    assert.match(e.message, /cannot read/);
    return true;
  });
  assert.throws(() => deserializeArgs('[]', 'my_custom'), /my_custom/);
});
