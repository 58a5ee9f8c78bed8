// Registration info: what add-ons (event receivers written against DBOS's API, such as its Kafka or SQS packages)
// attach to classes and functions, and read back at launch to learn what to serve.
//
//   DBOS.associateClassWithInfo(receiver, cls)            -> a config object of `receiver` for that class
//   DBOS.associateFunctionWithInfo(receiver, fn, target)  -> { registration, regInfo }: a config object for the function
//   DBOS.getAssociatedInfo(receiver, cls?, funcName?)     -> every function `receiver` configured (and its class's config)
//
// A function has one registration whatever the order of its decorators: a receiver's decorator may see the method
// before @DBOS.workflow() wraps it or after, and `registration.workflowConfig` / `registeredFunction` are the same in
// both cases. `DBOS.startWorkflow(registration.registeredFunction)` starts the workflow. Kept apart from the engine's
// registry (src/runtime/registry.ts), which only knows workflows by their recorded names.
//
// This module also keeps the launch seal: workflows registered after DBOS.launch() would be unknown to the recovery
// and dispatch that launch started, so registration is refused until shutdown.

import { classOf } from './decorators.js';
import { DBOSConflictingRegistrationError } from './errors.js';
import type { AnyFunction, RegisteredWorkflow, StepConfig, WorkflowConfig } from './runtime/registry.js';

/** Who a registration is for: a receiver's class, an instance of it, or a name (DBOS's key type). */
export type RegistrationOwner = (new (...args: any[]) => object) | object | string; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where a function lives, as DBOS's FunctionName: its name, its class's name, or its constructor / prototype. */
export interface FunctionName {
  name?: string;
  className?: string;
  ctorOrProto?: object;
}

/** A registered function as add-ons see it (DBOS's MethodRegistrationBase). */
export interface MethodRegistrationBase {
  readonly name: string;
  readonly className: string;
  readonly workflowConfig?: WorkflowConfig;
  readonly stepConfig?: StepConfig;
  readonly isInstance: boolean;
  /** Each add-on's config object for this function, by the key it registered with. */
  readonly externalRegInfo: Map<RegistrationOwner, unknown>;
  /** The durable wrapper (workflow or step), once the function is registered as one. */
  readonly wrappedFunction: Function | undefined; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  /** The function to start or call: `DBOS.startWorkflow(registeredFunction)` works for a workflow. */
  readonly registeredFunction: Function | undefined; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  readonly origFunction: Function; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  /** Calls the function (durably when it is a workflow or a step) with `pthis` as `this`. */
  invoke(pthis: unknown, args: unknown[]): unknown;
}

/** One function an add-on configured: its own config, its class's config for the same add-on (or {}), and the function. */
export interface ExternalRegistration {
  classConfig?: unknown;
  methodConfig?: unknown;
  methodReg: MethodRegistrationBase;
}

class ClassInfo {
  readonly methods = new Set<MethodInfo>();
  readonly externalRegInfo = new Map<RegistrationOwner, unknown>();
  constructor(
    readonly ctor: Function | undefined, // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    readonly givenName: string,
  ) {}

  get name(): string {
    // A class renamed with @DBOS.className(name) is known by that name, as its workflows are.
    return this.givenName || (this.ctor ? classOf(this.ctor).name : '');
  }

  infoFor(owner: RegistrationOwner): object {
    let info = this.externalRegInfo.get(owner) as object | undefined;
    if (!info) this.externalRegInfo.set(owner, (info = {}));
    return info;
  }
}

class MethodInfo implements MethodRegistrationBase {
  readonly externalRegInfo = new Map<RegistrationOwner, unknown>();
  workflowConfig?: WorkflowConfig;
  stepConfig?: StepConfig;
  wrappedFunction: AnyFunction | undefined;
  /** The engine's registration once it is a workflow: its recorded class name is the truth. */
  workflow: RegisteredWorkflow | undefined;

  constructor(
    readonly origFunction: AnyFunction,
    public name: string,
    public classInfo: ClassInfo,
    public isInstance: boolean,
  ) {}

  get className(): string {
    return this.workflow?.className || this.classInfo.name;
  }

  get registeredFunction(): AnyFunction {
    return this.origFunction;
  }

  invoke(pthis: unknown, args: unknown[]): unknown {
    return (this.wrappedFunction ?? this.origFunction).apply(pthis, args);
  }
}

let byFunction = new WeakMap<Function, MethodInfo>(); // eslint-disable-line @typescript-eslint/no-unsafe-function-type
const classesByCtor = new Map<Function, ClassInfo>(); // eslint-disable-line @typescript-eslint/no-unsafe-function-type
const classesByName = new Map<string, ClassInfo>();
/** Functions known without a class (free functions, and standard-decorator methods until their class is known). */
const unowned = new ClassInfo(undefined, '');

function ctorOf(ctorOrProto: object): Function { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  return typeof ctorOrProto === 'function' ? ctorOrProto : (ctorOrProto as { constructor: Function }).constructor; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
}

function classByCtor(ctor: Function): ClassInfo { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  let info = classesByCtor.get(ctor);
  if (!info) classesByCtor.set(ctor, (info = new ClassInfo(ctor, '')));
  return info;
}

function classByName(name: string): ClassInfo {
  if (!name) return unowned;
  let info = classesByName.get(name);
  if (!info) classesByName.set(name, (info = new ClassInfo(undefined, name)));
  return info;
}

function classFor(target: FunctionName): ClassInfo {
  if (target.ctorOrProto) return classByCtor(ctorOf(target.ctorOrProto));
  return classByName(target.className ?? '');
}

function allClasses(): ClassInfo[] {
  return [unowned, ...classesByCtor.values(), ...classesByName.values()];
}

/** The registration of `fn` (the original function or a wrapper of it), made on first sight. */
function methodFor(fn: AnyFunction, target: FunctionName): MethodInfo {
  const known = byFunction.get(fn);
  if (known) {
    // A later, more precise view of where it lives (a class found once a standard decorator's class is defined).
    if (known.classInfo === unowned && (target.ctorOrProto || target.className)) moveTo(known, classFor(target));
    return known;
  }
  const isInstance = target.ctorOrProto !== undefined && typeof target.ctorOrProto !== 'function';
  const info = new MethodInfo(fn, target.name ?? fn.name, classFor(target), isInstance);
  info.classInfo.methods.add(info);
  byFunction.set(fn, info);
  return info;
}

function moveTo(info: MethodInfo, cls: ClassInfo): void {
  if (info.classInfo === cls) return;
  info.classInfo.methods.delete(info);
  info.classInfo = cls;
  cls.methods.add(info);
}

// ------------------------------------------------------------------------------------------- the add-ons' API

export function associateClassWithInfo(owner: RegistrationOwner, cls: Function | string): object { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  const info = typeof cls === 'string' ? classByName(cls) : classByCtor(ctorOf(cls));
  return info.infoFor(owner);
}

export function associateFunctionWithInfo(
  owner: RegistrationOwner,
  fn: AnyFunction,
  target: FunctionName,
): { registration: MethodRegistrationBase; regInfo: object } {
  const registration = methodFor(fn, { ...target, name: target.name ?? fn.name });
  let regInfo = registration.externalRegInfo.get(owner) as object | undefined;
  if (!regInfo) registration.externalRegInfo.set(owner, (regInfo = {}));
  return { registration, regInfo };
}

export function getAssociatedInfo(owner: RegistrationOwner, cls?: object | string, funcName?: string): ExternalRegistration[] {
  let classes: ClassInfo[];
  if (cls === undefined || cls === '') classes = allClasses();
  else if (typeof cls === 'string') classes = allClasses().filter((c) => c.name === cls);
  else classes = [classesByCtor.get(ctorOf(cls))].filter((c): c is ClassInfo => c !== undefined);
  const found: ExternalRegistration[] = [];
  for (const c of classes) {
    for (const m of c.methods) {
      if (funcName !== undefined && m.name !== funcName) continue;
      const methodConfig = m.externalRegInfo.get(owner);
      const classConfig = c.externalRegInfo.get(owner);
      if (methodConfig === undefined && classConfig === undefined) continue;
      found.push({ methodReg: m, methodConfig, classConfig: classConfig ?? {} });
    }
  }
  return found;
}

// ------------------------------------------------------------------------------------------- the facade's hooks

/** A workflow wrapper was made for `fn` (its class may not be known yet: see placeRegistered). */
export function noteWorkflow(reg: RegisteredWorkflow, target: FunctionName = {}): void {
  const info = methodFor(reg.fn, { name: reg.name, ...target });
  info.workflowConfig = reg.config;
  info.workflow = reg;
  info.name = reg.name;
  info.wrappedFunction = reg.wrapper;
  byFunction.set(reg.wrapper, info);
}

/** A step wrapper was made for `fn`. */
export function noteStep(fn: AnyFunction, wrapper: AnyFunction, name: string, config: StepConfig, target: FunctionName = {}): void {
  const info = methodFor(fn, { name, ...target });
  info.stepConfig = config;
  info.name = name;
  info.wrappedFunction = wrapper;
  byFunction.set(wrapper, info);
}

/** The class (constructor or instance) a decorated method turned out to belong to. */
export function placeRegistered(fn: AnyFunction, owner: unknown): void {
  const info = byFunction.get(fn);
  if (!info || owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) return;
  info.isInstance = typeof owner !== 'function';
  moveTo(info, classByCtor(ctorOf(owner)));
}

/** Forgets every association (DBOS.clearRegistry). */
export function clearRegistrationInfo(): void {
  byFunction = new WeakMap();
  classesByCtor.clear();
  classesByName.clear();
  unowned.methods.clear();
  unowned.externalRegInfo.clear();
}

// ------------------------------------------------------------------------------------------- the launch seal

let sealedBy: string | undefined;

/** From DBOS.launch() until shutdown, registering workflows is refused (see ensureRegistrationOpen). */
export function sealRegistrations(sealed: boolean): void {
  sealedBy = sealed ? 'DBOS.launch()' : undefined;
}

export function registrationsSealed(): boolean {
  return sealedBy !== undefined;
}

/**
 * Refuses to register `what` once the runtime is launched: recovery and queue dispatch began at launch with the
 * workflows known then, and a row of a workflow registered later would be run (and failed) before it existed.
 */
export function ensureRegistrationOpen(what: string): void {
  if (sealedBy === undefined) return;
  throw new DBOSConflictingRegistrationError(
    `${what} is registered after DBOS.launch(): register every workflow before launching (at module load, before ` +
      'DBOS.launch()), so that recovery and queues know it; or shut down, register, and launch again',
  );
}

/**
 * ensureRegistrationOpen for a decorated method as its decorator binds it to `owner`. Standard decorators bind an
 * instance method when its class is first instantiated (an instance is the owner), not when the class is defined: that
 * may be after launch, and is accepted (a ConfiguredInstance made after launch is not there for recovery, as in DBOS).
 * Legacy decorators pass the prototype, at class definition, and static methods the class: those are checked.
 */
export function ensureBindingOpen(what: string, owner: unknown): void {
  const isInstance =
    typeof owner === 'object' && owner !== null && (owner as { constructor?: { prototype?: unknown } }).constructor?.prototype !== owner;
  if (!isInstance) ensureRegistrationOpen(what);
}
