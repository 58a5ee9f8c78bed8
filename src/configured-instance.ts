// ConfiguredInstance: the base class for objects whose methods are workflows. It lives beside the decorators (not in
// the runtime) because its registration key is the class name as the decorators settle it (DBOS.className
// overrides included); the runtime only keeps the table (runtime/instances.ts) it finds instances in again.

import { checkClassName } from './validation.js';
import { classOf } from './decorators.js';
import { DBOSInitializationError } from './errors.js';
import { registerInstance } from './runtime/instances.js';

export abstract class ConfiguredInstance {
  readonly name: string;

  /** Registers this instance under (its class name, `name`): one instance of a class per name. */
  constructor(name: string) {
    if (typeof name !== 'string' || name === '') {
      throw new DBOSInitializationError('A ConfiguredInstance needs a non-empty name: it is recorded with each of its workflows');
    }
    checkClassName('instance name', name); // recorded in config_name, varchar(255) on PostgreSQL
    this.name = name;
    registerInstance(classOf(this).name, this);
  }

  /** Override this method to perform async initialization between construction and `DBOS.launch()`. */
  initialize(): Promise<void> {
    return Promise.resolve();
  }
}
