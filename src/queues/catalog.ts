// Which queues exist for this process: those declared in its code (`new WorkflowQueue`) and the rows of `queues` of
// its application and unclaimed ones (`DBOS.registerQueue`, here or in another process). The rows are re-read every
// second and whenever a notification names a queue this process does not know, so a queue registered anywhere is
// served everywhere within moments. A name declared in code belongs to the code: a row of the same name is ignored.

import { DBOSInitializationError, DBOSInvalidWorkflowInputError } from '../errors.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { deleteQueueRecord, getQueueRecord, listQueueRecords, type QueueRecord } from '../sysdb/queue-registry.js';
import { QueueAdmin } from './admin.js';
import { findQueue, optionsFromRecord, WorkflowQueue, type QueueBacking, type RegisterQueueOptions } from './workflow-queue.js';

export interface CatalogChanges {
  added: WorkflowQueue[];
  removed: string[];
}

export class QueueCatalog {
  /** Stored queues of this application (and unclaimed ones), one object per name for the life of the process. */
  private readonly stored = new Map<string, WorkflowQueue>();
  private readonly backing: QueueBacking;
  private readonly admin: QueueAdmin;
  /**
   * When this process last registered or deleted each name (a counter, not a clock): a refresh whose read began
   * before such a change must not undo it with what it read (a deleted queue coming back, a new one disappearing).
   */
  private readonly changedAt = new Map<string, number>();
  private changes = 0;

  constructor(
    private readonly db: SqlDriver,
    private readonly applicationName: string,
  ) {
    this.admin = new QueueAdmin(db, applicationName);
    this.backing = this.admin.backing;
  }

  /** A queue this process knows, declared in code or stored. */
  find(name: string): WorkflowQueue | undefined {
    return findQueue(name) ?? this.stored.get(name);
  }

  storedQueues(): WorkflowQueue[] {
    return [...this.stored.values()];
  }

  /** The queue, reading its row if this process has not seen it yet (a queue another process just registered). */
  async lookup(name: string): Promise<WorkflowQueue | undefined> {
    const known = this.find(name);
    if (known) return known;
    const record = await getQueueRecord(this.db, name);
    if (!record || !this.ours(record)) return undefined;
    return this.adopt(record);
  }

  /** Re-reads the rows; returns the queues that appeared and the names that disappeared. */
  async refresh(): Promise<CatalogChanges> {
    const readFrom = this.changes;
    const records = await listQueueRecords(this.db, [this.applicationName]);
    const changedSinceRead = (name: string) => (this.changedAt.get(name) ?? -1) >= readFrom;
    const added: WorkflowQueue[] = [];
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.name);
      if (changedSinceRead(record.name)) continue;
      const isNew = !this.stored.has(record.name);
      const queue = this.adopt(record);
      if (isNew) added.push(queue);
    }
    const removed = [...this.stored.keys()].filter((name) => !seen.has(name) && !changedSinceRead(name));
    for (const name of removed) this.stored.delete(name);
    return { added, removed };
  }

  /** Takes a row's settings into the queue object of that name (creating it the first time). */
  adopt(record: QueueRecord): WorkflowQueue {
    let queue = this.stored.get(record.name);
    if (!queue) {
      queue = new WorkflowQueue(record.name, optionsFromRecord(record), this.backing);
      this.stored.set(record.name, queue);
    }
    queue.applyRecord(record);
    return queue;
  }

  private ours(record: QueueRecord): boolean {
    return record.applicationName === null || record.applicationName === this.applicationName;
  }

  /** DBOS.registerQueue: validates, stores the row (onConflict decides over an existing one), returns the queue. */
  async register(name: string, options: RegisterQueueOptions, isLatestVersion: boolean): Promise<WorkflowQueue> {
    if (findQueue(name)) {
      throw new DBOSInitializationError(
        `Queue ${name} is declared in this process's code (new WorkflowQueue); it cannot also be registered in the database`,
      );
    }
    const record = await this.admin.store(name, options, 'update_if_latest_version', isLatestVersion);
    this.changedAt.set(name, this.changes++);
    return this.adopt(record);
  }

  async retrieve(name: string): Promise<WorkflowQueue | null> {
    const record = await getQueueRecord(this.db, name);
    return record ? this.adopt(record) : null;
  }

  /** Stored queues of these applications (default: this one) and unclaimed ones. */
  async list(applicationNames?: string | string[]): Promise<WorkflowQueue[]> {
    const names = applicationNames === undefined ? [this.applicationName] : ([] as string[]).concat(applicationNames);
    const records = await listQueueRecords(this.db, names);
    return records.map((r) => (this.ours(r) ? this.adopt(r) : new WorkflowQueue(r.name, optionsFromRecord(r), this.backing)));
  }

  async delete(name: string): Promise<void> {
    await deleteQueueRecord(this.db, name);
    this.changedAt.set(name, this.changes++);
    this.stored.delete(name);
  }
}

/**
 * Rejects an enqueue the queue could never run, at the caller: a partitioned queue needs a partition key (a row
 * without one would wait forever, dbos-spec §1.7).
 */
export function checkEnqueue(queue: WorkflowQueue, partitionKey: string | undefined): void {
  if (queue.partitionQueue && partitionKey === undefined) {
    throw new DBOSInvalidWorkflowInputError(
      `Queue ${queue.name} is partitioned: enqueue with enqueueOptions.queuePartitionKey to say which partition the workflow belongs to`,
    );
  }
}
