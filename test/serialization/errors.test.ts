import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DBOSError,
  DBOSMaxStepRetriesError,
  DBOSUnexpectedStepError,
  DBOSWorkflowCancelledError,
  PortableWorkflowError,
} from '../../src/errors.js';
import { deserializeError, serializeError } from '../../src/serialization/index.js';

function roundTrip(thrown: unknown): unknown {
  const s = serializeError(thrown);
  assert.equal(s.serialization, 'js_superjson');
  assert.match(s.text, /"__dbos_serializer":"superjson"}$/);
  return deserializeError(s.text, s.serialization);
}

test('an Error keeps name, message and stack, and is an Error again', () => {
  const original = new Error('boom');
  const back = roundTrip(original) as Error;
  assert.ok(back instanceof Error);
  assert.equal(back.name, 'Error');
  assert.equal(back.message, 'boom');
  assert.equal(back.stack, original.stack);
  // like a constructed error, message and stack are not enumerable
  assert.deepEqual(Object.keys(back), []);
});

test('built-in error classes revive as themselves', () => {
  const back = roundTrip(new TypeError('bad type')) as Error;
  assert.ok(back instanceof TypeError);
  assert.equal(back.name, 'TypeError');
  assert.ok(roundTrip(new RangeError('r')) instanceof RangeError);
});

test('custom properties and a nested cause survive', () => {
  const cause = new TypeError('root cause');
  const original = Object.assign(new Error('outer', { cause }), { code: 'E_THING', details: { id: 7, when: new Date(0) } });
  const back = roundTrip(original) as Error & { code: string; details: { id: number; when: Date }; cause: Error };
  assert.equal(back.code, 'E_THING');
  assert.equal(back.details.id, 7);
  assert.ok(back.details.when instanceof Date);
  assert.ok(back.cause instanceof TypeError);
  assert.equal(back.cause.message, 'root cause');
  assert.equal(back.cause.stack, cause.stack);
});

test('an error of an unknown class keeps its name on an Error prototype', () => {
  class PaymentDeclined extends Error {
    constructor(readonly amount: number) {
      super(`declined: ${amount}`);
      this.name = 'PaymentDeclined';
    }
  }
  const back = roundTrip(new PaymentDeclined(12)) as Error & { amount: number };
  assert.ok(back instanceof Error);
  assert.equal(back.name, 'PaymentDeclined');
  assert.equal(back.message, 'declined: 12');
  assert.equal(back.amount, 12);
});

test("Transact's errors revive as their own classes with their codes", () => {
  const retries = new DBOSMaxStepRetriesError('charge', 3, [new Error('a'), new TypeError('b'), new Error('c')]);
  const back = roundTrip(retries) as DBOSMaxStepRetriesError;
  assert.ok(back instanceof DBOSMaxStepRetriesError);
  assert.ok(back instanceof DBOSError);
  assert.equal(back.name, 'DBOSMaxStepRetriesError');
  assert.equal(back.dbosErrorCode, 23);
  assert.equal(back.message, retries.message);
  assert.equal(back.stack, retries.stack);
  assert.equal(back.errors.length, 3);
  assert.ok(back.errors[1] instanceof TypeError);
  assert.equal(back.errors[2]?.message, 'c');
  assert.ok(back.cause instanceof Error);

  const unexpected = roundTrip(new DBOSUnexpectedStepError('wf', 2, 'stepA', 'stepB')) as DBOSUnexpectedStepError;
  assert.ok(unexpected instanceof DBOSUnexpectedStepError);
  assert.equal(unexpected.dbosErrorCode, 26);
  assert.equal(unexpected.stepID, 2);
  assert.equal(unexpected.expectedName, 'stepA');
  assert.ok(roundTrip(new DBOSWorkflowCancelledError('wf')) instanceof DBOSWorkflowCancelledError);
});

test('AggregateError keeps its errors', () => {
  const back = roundTrip(new AggregateError([new Error('one'), new RangeError('two')], 'many')) as AggregateError;
  assert.ok(back instanceof AggregateError);
  assert.equal(back.errors.length, 2);
  assert.ok(back.errors[1] instanceof RangeError);
});

test('thrown values that are not errors come back as they were', () => {
  assert.equal(roundTrip('just a string'), 'just a string');
  assert.equal(roundTrip(42), 42);
  assert.equal(roundTrip(undefined), undefined);
  assert.equal(roundTrip(null), null);
  assert.deepEqual(roundTrip({ status: 404 }), { status: 404 });
});

test('an error holding functions, cycles and odd getters is still recorded', () => {
  const err = new Error('messy') as Error & Record<string, unknown>;
  err.retry = () => 1;
  err.self = err;
  err.req = { socket: { owner: null as unknown, write() {} } };
  (err.req as { socket: { owner: unknown } }).socket.owner = err.req;
  Object.defineProperty(err, 'explodes', { enumerable: true, get: () => { throw new Error('getter'); } });
  const back = roundTrip(err) as Error & Record<string, unknown>;
  assert.equal(back.message, 'messy');
  assert.equal(back.retry, undefined);
  assert.equal(back.self, '[Circular]');
  assert.deepEqual(back.req, { socket: { owner: '[Circular]' } });
});

test('legacy 4.x error text (plain JSON, NULL serialization) revives', () => {
  const text = JSON.stringify({ name: 'TypeError', message: 'old', stack: 'TypeError: old\n    at x', code: 5 });
  const back = deserializeError(text, null) as TypeError & { code: number };
  assert.ok(back instanceof TypeError);
  assert.equal(back.message, 'old');
  assert.equal(back.code, 5);
});

test('portable errors are {name, message, code, data} and come back as PortableWorkflowError', () => {
  const plain = serializeError(new TypeError('nope'), 'portable');
  assert.deepEqual(plain, { text: '{"name":"TypeError","message":"nope"}', serialization: 'portable_json' });

  const withData = Object.assign(new Error('declined'), { code: 402, data: { amount: 12, when: new Date(0) } });
  const s = serializeError(withData, 'portable');
  assert.equal(s.text, '{"name":"Error","message":"declined","code":402,"data":{"amount":12,"when":"1970-01-01T00:00:00.000Z"}}');
  const back = deserializeError(s.text, s.serialization);
  assert.ok(back instanceof PortableWorkflowError);
  assert.equal(back.name, 'Error');
  assert.equal(back.message, 'declined');
  assert.equal(back.code, 402);
  assert.deepEqual(back.data, { amount: 12, when: '1970-01-01T00:00:00.000Z' });

  const fromPython = deserializeError('{"name":"ValueError","message":"bad value","code":"E1"}', 'portable_json');
  assert.ok(fromPython instanceof PortableWorkflowError);
  assert.equal(fromPython.name, 'ValueError');
  assert.equal(fromPython.code, 'E1');
});

test('a portable error whose data cannot be stored is recorded without it', () => {
  const s = serializeError(Object.assign(new Error('x'), { data: { fn: () => 1 } }), 'portable');
  assert.equal(s.text, '{"name":"Error","message":"x"}');
  assert.equal(serializeError('plain string', 'portable').text, '{"name":"Error","message":"plain string"}');
});
