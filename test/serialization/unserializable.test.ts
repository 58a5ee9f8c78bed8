import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DBOSSerializationError } from '../../src/errors.js';
import { serializeArgs, serializeValue, type SerializationFormat } from '../../src/serialization/index.js';

function refuses(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DBOSSerializationError, `expected DBOSSerializationError, got ${String(e)}`);
    assert.equal(e.dbosErrorCode, 32);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

for (const format of ['native', 'portable'] as SerializationFormat[]) {
  test(`${format}: a function anywhere in the arguments is refused with its path`, () => {
    refuses(() => serializeArgs([1, { callback: () => 1 }], format, 'the arguments of workflow checkout'), /the arguments of workflow checkout/, /args\[1\]\.callback/, /function/);
    refuses(() => serializeArgs([function named() {}], format), /args\[0\]/, /named/);
    refuses(() => serializeValue({ deep: [{ 'odd key': { f: Math.max } }] }, format), /value\.deep\[0\]\["odd key"\]\.f/);
  });

  test(`${format}: a symbol is refused with its path`, () => {
    refuses(() => serializeValue({ tag: Symbol('t') }, format), /value\.tag/, /symbol/);
    refuses(() => serializeValue(Symbol('top'), format), /value is a symbol/);
  });

  test(`${format}: a cycle is refused with where it points back to`, () => {
    const node: Record<string, unknown> = { name: 'a', children: [] };
    (node.children as unknown[]).push({ parent: node });
    refuses(() => serializeValue({ root: node }, format), /value\.root\.children\[0\]\.parent refers back to value\.root/, /cyclic/);
    const arr: unknown[] = [];
    arr.push(arr);
    refuses(() => serializeArgs([arr], format), /args\[0\]\[0\] refers back to args\[0\]/);
  });

  test(`${format}: functions inside Maps, Sets and class instances are found too`, () => {
    refuses(() => serializeValue({ m: new Map([['k', () => 1]]) }, format), /value\.m\.get\("k"\)/);
    refuses(() => serializeValue({ s: new Set([() => 1]) }, format), /value\.s \(Set element 0\)/);
    class Holder {
      handler = () => 1;
    }
    refuses(() => serializeValue({ h: new Holder() }, format), /value\.h\.handler/);
  });
}

test('native: keys superjson refuses are reported with their path', () => {
  refuses(() => serializeValue({ a: { constructor: 1 } }), /value\.a\.constructor/);
  refuses(() => serializeValue(JSON.parse('{"__proto__":{"x":1}}')), /__proto__/);
});

test('methods on a class prototype are not data and do not count', () => {
  class Money {
    constructor(readonly cents: number) {}
    format(): string {
      return `$${this.cents / 100}`;
    }
  }
  assert.doesNotThrow(() => serializeValue({ price: new Money(150) }));
  assert.doesNotThrow(() => serializeValue({ price: new Money(150) }, 'portable'));
});
