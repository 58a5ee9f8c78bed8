// The registration-info API DBOS's event-receiver packages are written against: a receiver's decorator attaches its
// config to a function (associateFunctionWithInfo) and to its class (associateClassWithInfo), in either order with
// @DBOS.workflow(); at launch it reads them back (getAssociatedInfo) and starts the workflows. Then DBOS.clearRegistry,
// and the refusal of workflows registered after launch.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { DBOS, DBOSConflictingRegistrationError, DBOSError, DBOSNotRegisteredError, type DBOSLifecycleCallback } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => Promise<any>;
type LegacyDecorator = (target: object, key: string, descriptor: PropertyDescriptor) => PropertyDescriptor | void;

/** What TypeScript's experimentalDecorators emit for a method: the decorators listed top first, applied bottom up. */
function legacyDecorate(cls: Function, key: string, isStatic: boolean, ...decorators: LegacyDecorator[]): void {
  const target = isStatic ? cls : cls.prototype;
  let descriptor = Object.getOwnPropertyDescriptor(target, key)!;
  for (const decorate of [...decorators].reverse()) descriptor = decorate(target, key, descriptor) ?? descriptor;
  Object.defineProperty(target, key, descriptor);
}

/** A receiver written the way DBOS's receiver packages are: legacy decorators and the registration-info API. */
class TopicReceiver implements DBOSLifecycleCallback {
  readonly started: string[] = [];

  listen(topic: string): LegacyDecorator {
    return (target, key, descriptor) => {
      const { regInfo } = DBOS.associateFunctionWithInfo(this, descriptor.value as AnyFn, { ctorOrProto: target, name: key });
      (regInfo as { topic?: string }).topic = topic;
      return descriptor;
    };
  }

  /** The decorator-free form: a function DBOS.registerWorkflow returned, under a class name. */
  register(fn: AnyFn, topic: string, className: string): void {
    const { regInfo } = DBOS.associateFunctionWithInfo(this, fn, { className, name: fn.name });
    (regInfo as { topic?: string }).topic = topic;
  }

  configure(cls: Function, group: string): void {
    (DBOS.associateClassWithInfo(this, cls as new () => object) as { group?: string }).group = group;
  }

  async initialize(): Promise<void> {
    for (const { methodReg, methodConfig, classConfig } of DBOS.getAssociatedInfo(this)) {
      if (!methodReg.workflowConfig) continue;
      const topic = (methodConfig as { topic: string }).topic;
      const group = (classConfig as { group?: string }).group ?? 'none';
      const start = DBOS.startWorkflow(methodReg.registeredFunction as AnyFn, { workflowID: `${topic}-${this.tag}` });
      const handle = await start(`${topic}:${group}`);
      this.started.push(`${methodReg.className}.${methodReg.name} ${await handle.getResult()}`);
    }
  }

  constructor(readonly tag: string) {}
}

const receiver = new TopicReceiver('run');
const bystander = new TopicReceiver('never');

// Legacy form, the receiver's decorator above @DBOS.workflow() (it sees the workflow wrapper)...
class Orders {
  static async placed(event: string): Promise<string> {
    return `placed ${event}`;
  }
  static async plain(): Promise<string> {
    return 'not a workflow';
  }
}
legacyDecorate(Orders, 'placed', true, receiver.listen('orders'), DBOS.workflow());
legacyDecorate(Orders, 'plain', true, receiver.listen('plain'));
receiver.configure(Orders, 'order-group');

// ...and below it (it sees the original method first).
class Payments {
  static async settled(event: string): Promise<string> {
    return `settled ${event}`;
  }
}
legacyDecorate(Payments, 'settled', true, DBOS.workflow({ maxRecoveryAttempts: 7 }), receiver.listen('payments'));

// Standard decorators, in both orders: the receiver learns the class only once @DBOS.workflow() binds it.
function standardListen(topic: string) {
  return function <F extends AnyFn>(method: F, context: ClassMethodDecoratorContext): F {
    const { regInfo } = DBOS.associateFunctionWithInfo(receiver, method, { name: String(context.name) });
    (regInfo as { topic?: string }).topic = topic;
    return method;
  };
}
class Shipping {
  @standardListen('shipped')
  @DBOS.workflow()
  static async shipped(event: string): Promise<string> {
    return `shipped ${event}`;
  }

  @DBOS.workflow()
  @standardListen('returned')
  static async returned(event: string): Promise<string> {
    return `returned ${event}`;
  }
}
void Shipping;

// The decorator-free form.
const refunded = DBOS.registerWorkflow(async function refunded(event: string) {
  return `refunded ${event}`;
});
receiver.register(refunded, 'refunds', 'Refunds');

describe('registration info', () => {
  it('gives one registration per function whatever the decorator order, with the receiver’s and the class’s config', () => {
    const all = DBOS.getAssociatedInfo(receiver);
    const byName = new Map(all.map((r) => [`${r.methodReg.className}.${r.methodReg.name}`, r]));
    assert.deepEqual([...byName.keys()].sort(), [
      'Orders.placed',
      'Orders.plain',
      'Payments.settled',
      'Refunds.refunded',
      'Shipping.returned',
      'Shipping.shipped',
    ]);
    const placed = byName.get('Orders.placed')!;
    assert.deepEqual(placed.methodConfig, { topic: 'orders' });
    assert.deepEqual(placed.classConfig, { group: 'order-group' });
    assert.ok(placed.methodReg.workflowConfig, 'a workflow');
    assert.equal(placed.methodReg.isInstance, false);
    assert.equal(placed.methodReg.wrappedFunction, Orders.placed, 'the durable wrapper is the class’s method now');
    assert.equal(byName.get('Orders.plain')!.methodReg.workflowConfig, undefined, 'not a workflow');
    assert.deepEqual(byName.get('Payments.settled')!.methodReg.workflowConfig, { maxRecoveryAttempts: 7 });
    assert.deepEqual(byName.get('Payments.settled')!.classConfig, {}, 'no class config: an empty one');
    assert.ok(byName.get('Shipping.shipped')!.methodReg.workflowConfig);
    assert.ok(byName.get('Shipping.returned')!.methodReg.workflowConfig);

    // The same object every time it is asked for.
    assert.equal(DBOS.associateFunctionWithInfo(receiver, Orders.placed, { ctorOrProto: Orders, name: 'placed' }).registration, placed.methodReg);
    assert.equal(DBOS.associateClassWithInfo(receiver, Orders), placed.classConfig);

    // Narrowed by class (constructor or name) and by function name; another receiver's view is its own.
    assert.deepEqual(DBOS.getAssociatedInfo(receiver, Orders).map((r) => r.methodReg.name).sort(), ['placed', 'plain']);
    assert.deepEqual(DBOS.getAssociatedInfo(receiver, 'Payments').map((r) => r.methodReg.name), ['settled']);
    assert.deepEqual(DBOS.getAssociatedInfo(receiver, Orders, 'placed').map((r) => r.methodReg.name), ['placed']);
    assert.deepEqual(DBOS.getAssociatedInfo(receiver, 'Refunds').map((r) => r.methodReg.name), ['refunded']);
    assert.deepEqual(DBOS.getAssociatedInfo(bystander), []);
  });
});

after(dropFreshDatabases);

describeEachBackend('a receiver written against the registration-info API', (kind) => {
  afterEach(() => DBOS.shutdown());

  it('starts the workflows it configured, at launch, through their registrations', async () => {
    receiver.started.length = 0;
    DBOS.registerLifecycleCallback(receiver);
    await launchOn(freshDatabase(kind, 'reginfo'));
    assert.deepEqual(receiver.started.sort(), [
      'Orders.placed placed orders:order-group',
      'Payments.settled settled payments:none',
      'Refunds.refunded refunded refunds:none',
      'Shipping.returned returned returned:none',
      'Shipping.shipped shipped shipped:none',
    ]);
    const [placed] = DBOS.getAssociatedInfo(receiver, Orders, 'placed');
    assert.equal(await placed!.methodReg.invoke(undefined, ['direct']), 'placed direct', 'invoke runs the workflow');
    const status = await DBOS.getWorkflowStatus(`orders-run`);
    assert.equal(status?.workflowClassName, 'Orders');
    assert.equal(status?.workflowName, 'placed');
  });

  it('refuses workflows registered after launch, in every form, and accepts them again after shutdown', async () => {
    await launchOn(freshDatabase(kind, 'late'));
    assert.throws(() => DBOS.registerWorkflow(async function lateFn() {}), DBOSConflictingRegistrationError);
    class LateLegacy {
      static async late(): Promise<void> {}
    }
    assert.throws(() => legacyDecorate(LateLegacy, 'late', true, DBOS.workflow()), (err: unknown) => {
      assert.ok(err instanceof DBOSConflictingRegistrationError);
      assert.match(err.message, /LateLegacy\.late is registered after DBOS\.launch\(\)/);
      return true;
    });
    assert.throws(() => {
      class LateStandard {
        @DBOS.workflow()
        static async late(): Promise<void> {}
      }
      return LateStandard;
    }, DBOSConflictingRegistrationError);
    // Steps are not looked up by name when work is recovered: registering one late is harmless, and allowed.
    const lateStep = DBOS.registerStep(async () => 'step ok', { name: 'lateStep' });
    assert.equal(await lateStep(), 'step ok');

    await DBOS.shutdown();
    const afterShutdown = DBOS.registerWorkflow(async () => 'ok', { name: `registeredBetweenLaunches-${kind}` });
    await launchOn(freshDatabase(kind, 'late2'));
    assert.equal(await afterShutdown(), 'ok');
  });
});

describe('DBOS.clearRegistry', () => {
  it('is refused while launched, and then forgets every registration and association', async () => {
    await launchOn(freshDatabase('sqlite', 'clear'));
    assert.throws(() => DBOS.clearRegistry(), DBOSError);
    await DBOS.shutdown();

    DBOS.clearRegistry();
    assert.deepEqual(DBOS.getAssociatedInfo(receiver), []);
    await launchOn(freshDatabase('sqlite', 'cleared'));
    try {
      await assert.rejects(DBOS.startWorkflow(refunded)('x'), DBOSNotRegisteredError);
      assert.throws(() => DBOS.registerWorkflow(async function tooLate() {}), DBOSConflictingRegistrationError, 'sealed while launched');
    } finally {
      await DBOS.shutdown();
    }
    const fresh = DBOS.registerWorkflow(async function refundedAgain(event: string) {
      return `again ${event}`;
    });
    await launchOn(freshDatabase('sqlite', 'cleared2'));
    try {
      assert.equal(await fresh('y'), 'again y');
    } finally {
      await DBOS.shutdown();
    }
  });
});
