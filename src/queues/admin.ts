// Queue rows seen from outside a serving process (DBOSClient, the CLI): store, read, list and delete the
// configuration in `queues`. The application's processes pick changes up on their next catalog refresh.
// QueueCatalog builds on the same store for DBOS.registerQueue inside the application.

import { DBOSInitializationError } from '../errors.js';
import type { SqlDriver } from '../sysdb/driver.js';
import {
  deleteQueueRecord,
  getQueueRecord,
  listQueueRecords,
  registerQueueRecord,
  updateQueueRecord,
  type QueueConflictResolution,
  type QueueRecord,
} from '../sysdb/queue-registry.js';
import { optionsFromRecord, recordFromOptions, validateQueueRegistration, WorkflowQueue, type QueueBacking, type RegisterQueueOptions } from './workflow-queue.js';

export class QueueAdmin {
  readonly backing: QueueBacking;

  constructor(
    private readonly db: SqlDriver,
    /** The application registrations belong to and listings default to; null: every application. */
    private readonly applicationName: string | null,
  ) {
    this.backing = {
      read: (name) => getQueueRecord(db, name),
      update: (name, change) => updateQueueRecord(db, name, change),
    };
  }

  /** Validates and stores a queue's row; `onConflict` decides over an existing one. Returns the row as stored. */
  async store(
    name: string,
    options: RegisterQueueOptions & { applicationName?: string },
    defaultOnConflict: QueueConflictResolution,
    isLatestVersion: boolean,
  ): Promise<QueueRecord> {
    const { onConflict, applicationName, ...parameters } = options;
    validateQueueRegistration(name, { ...parameters, onConflict });
    const owner = applicationName ?? this.applicationName;
    const outcome = await registerQueueRecord(this.db, recordFromOptions(name, parameters, owner), onConflict ?? defaultOnConflict, isLatestVersion);
    if (outcome.kind === 'owned-elsewhere') {
      throw new DBOSInitializationError(`Queue ${name} is registered by application ${outcome.owner}; choose another name`);
    }
    return outcome.record;
  }

  /** DBOSClient.registerQueue: an operator's change, so an existing row is overwritten unless told otherwise. */
  async register(name: string, options: RegisterQueueOptions & { applicationName?: string } = {}): Promise<WorkflowQueue> {
    return this.queueOf(await this.store(name, options, 'always_update', true));
  }

  async retrieve(name: string): Promise<WorkflowQueue | null> {
    const record = await getQueueRecord(this.db, name);
    return record ? this.queueOf(record) : null;
  }

  async list(applicationNames?: string | string[]): Promise<WorkflowQueue[]> {
    const names = applicationNames === undefined ? (this.applicationName === null ? null : [this.applicationName]) : ([] as string[]).concat(applicationNames);
    return (await listQueueRecords(this.db, names)).map((r) => this.queueOf(r));
  }

  async delete(name: string): Promise<void> {
    await deleteQueueRecord(this.db, name);
  }

  /** A queue object for a row, whose set/get methods act on the row. */
  queueOf(record: QueueRecord): WorkflowQueue {
    const queue = new WorkflowQueue(record.name, optionsFromRecord(record), this.backing);
    queue.applyRecord(record);
    return queue;
  }
}
