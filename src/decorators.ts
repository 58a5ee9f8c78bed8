// Method decorators that work under both of TypeScript's decorator implementations: the legacy
// `experimentalDecorators` form (target, key, descriptor) and standard decorators (method, context). Which one
// called us is told apart at run time by the arguments.

import type { AnyFunction } from './runtime/registry.js';

/** A decorator usable in either compilation mode, on static or instance methods. */
export interface DualMethodDecorator {
  // Standard (TC39) decorators.
  <F extends AnyFunction>(method: F, context: ClassMethodDecoratorContext<unknown, F>): F;
  // Legacy experimentalDecorators.
  <F extends AnyFunction>(target: object, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<F>): TypedPropertyDescriptor<F>;
}

export interface DecoratedMethod {
  fn: AnyFunction;
  name: string;
  /** Known at once under legacy decorators; under standard ones it arrives with the class (bind). */
  className: string | undefined;
  thisArg: unknown;
}

/**
 * Builds a decorator from `wrap`, which receives the method and returns its replacement. `bind` is called once the
 * class is known (immediately for legacy decorators, at class definition for standard static methods).
 */
export function dualMethodDecorator(
  wrap: (method: DecoratedMethod) => AnyFunction,
  bind: (method: DecoratedMethod, owner: unknown) => void,
): DualMethodDecorator {
  function decorator(a: unknown, b: unknown, c?: unknown): unknown {
    if (typeof b === 'object' && b !== null && 'kind' in b) {
      const context = b as ClassMethodDecoratorContext;
      const method: DecoratedMethod = { fn: a as AnyFunction, name: String(context.name), className: undefined, thisArg: undefined };
      const wrapper = wrap(method);
      let bound = false;
      context.addInitializer(function (this: unknown) {
        if (bound) return;
        bound = true;
        bind(method, this);
      });
      return wrapper;
    }
    const target = a as object;
    const descriptor = c as PropertyDescriptor;
    const owner = typeof target === 'function' ? target : target.constructor;
    const method: DecoratedMethod = {
      fn: descriptor.value as AnyFunction,
      name: String(b),
      className: (owner as { name?: string }).name ?? '',
      thisArg: typeof target === 'function' ? target : undefined,
    };
    descriptor.value = wrap(method);
    bind(method, target);
    return descriptor;
  }
  return decorator as DualMethodDecorator;
}

/**
 * Names given to classes with `@DBOS.className(name)`, which replace the constructor's own name in registrations.
 * The class decorator runs after the method decorators, so registrations pick the name up when they settle the
 * class name (see DBOS.workflow).
 */
const classNameOverrides = new WeakMap<object, string>();

export function setClassName(ctor: object, name: string): void {
  classNameOverrides.set(ctor, name);
}

/** The class a decorated method belongs to, from the `this` its initializer ran with (class or instance). */
export function classOf(owner: unknown): { name: string; isStatic: boolean } {
  if (typeof owner === 'function') return { name: classNameOverrides.get(owner) ?? owner.name ?? '', isStatic: true };
  const ctor = (owner as { constructor?: { name?: string } } | undefined)?.constructor;
  return { name: (ctor && classNameOverrides.get(ctor)) ?? ctor?.name ?? '', isStatic: false };
}
