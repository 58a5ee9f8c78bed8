// The functions this process knows how to run, keyed the way the database records them: (class name, name). A
// recovered or dequeued workflow row is resolved to its function here.

import { DBOSConflictingRegistrationError } from '../errors.js';
import type { SerializationFormat } from '../serialization/index.js';

export interface WorkflowConfig {
  /** Runs of a workflow beyond this many without completing dead-letter it (default 100). */
  maxRecoveryAttempts?: number;
  name?: string;
  serialization?: SerializationFormat;
  /** Validates (and may transform) the argument array before anything is written. */
  inputSchema?: { parse(args: unknown[]): unknown[] | unknown };
}

/** DBOS.registerWorkflow's options: the workflow's configuration, its name, and the class it belongs to. */
export type RegisterWorkflowOptions = WorkflowConfig & { name?: string; className?: string; ctorOrProto?: object };

export interface StepConfig {
  name?: string;
  retriesAllowed?: boolean;
  intervalSeconds?: number;
  maxAttempts?: number;
  backoffRate?: number;
  /** Decides whether an error is worth another attempt (default: every error is). */
  shouldRetry?: (error: unknown) => boolean;
  /** Each attempt may take this long; past it the attempt fails with DBOSStepTimeoutError (and may be retried). */
  timeoutMS?: number;
}

export type AnyFunction = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RegisteredWorkflow {
  readonly name: string;
  /** The class name recorded in the row; empty for a free function (stored as NULL). */
  className: string;
  readonly fn: AnyFunction;
  /** `this` for recovered runs: the class for static methods. */
  thisArg: unknown;
  /** An instance method: each run needs a configured instance as `this`, recorded in the row's config_name. */
  instanceMethod?: boolean;
  readonly config: WorkflowConfig;
  /** The durable wrapper users call in place of `fn`. */
  wrapper: AnyFunction;
}

export function registrationKey(className: string | null | undefined, name: string): string {
  return `${className ?? ''}\u0000${name}`;
}

export class Registry {
  private readonly workflows = new Map<string, RegisteredWorkflow>();
  private byFunction = new WeakMap<AnyFunction, RegisteredWorkflow>();

  add(reg: RegisteredWorkflow): void {
    const key = registrationKey(reg.className, reg.name);
    const existing = this.workflows.get(key);
    if (existing && existing.fn !== reg.fn) {
      throw new DBOSConflictingRegistrationError(
        `A workflow named ${describe(reg.className, reg.name)} is already registered; give one of them another name`,
      );
    }
    this.workflows.set(key, reg);
    this.byFunction.set(reg.fn, reg);
    this.byFunction.set(reg.wrapper, reg);
  }

  /** Forgets a registration made under a provisional key (standard decorators learn the class name later). */
  rekey(reg: RegisteredWorkflow, oldClassName: string): void {
    const old = registrationKey(oldClassName, reg.name);
    if (this.workflows.get(old) === reg) this.workflows.delete(old);
    this.add(reg);
  }

  find(className: string | null | undefined, name: string): RegisteredWorkflow | undefined {
    return this.workflows.get(registrationKey(className, name));
  }

  forFunction(fn: AnyFunction): RegisteredWorkflow | undefined {
    return this.byFunction.get(fn);
  }

  all(): RegisteredWorkflow[] {
    return [...this.workflows.values()];
  }

  clear(): void {
    this.workflows.clear();
    this.byFunction = new WeakMap(); // the old wrappers are not workflows any more
  }
}

export function describe(className: string, name: string): string {
  return className ? `${className}.${name}` : name;
}
