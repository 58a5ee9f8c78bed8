// The configured instances this process knows, keyed the way a workflow row records them: (class name, config name).
// Instance workflows run with `this` bound to one of them, and a recovered or dequeued row names only the pair, so
// the engine must be able to find the object again. Kept apart from the registry of functions, whose key is
// (class name, function name) whatever instance runs the method.

import { DBOSConflictingRegistrationError } from '../errors.js';
import { registrationKey } from './registry.js';

/** What the engine needs of an instance: its name (recorded as config_name) and an optional async set-up. */
export interface InstanceLike {
  readonly name: string;
  initialize?(): Promise<void>;
}

const instances = new Map<string, InstanceLike>();

export function registerInstance(className: string, instance: InstanceLike): void {
  const key = registrationKey(className, instance.name);
  if (instances.has(key)) {
    throw new DBOSConflictingRegistrationError(
      `An instance of ${className || 'an anonymous class'} named ${JSON.stringify(instance.name)} already exists; give each instance of a class its own name`,
    );
  }
  instances.set(key, instance);
}

export function findInstance(className: string | null | undefined, configName: string): InstanceLike | undefined {
  return instances.get(registrationKey(className, configName));
}

export function allInstances(): InstanceLike[] {
  return [...instances.values()];
}

export function clearInstances(): void {
  instances.clear();
}
