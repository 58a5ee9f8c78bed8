// DBOSClient: a process that runs no workflows (a script, a web server, an operator tool) reads and drives the
// workflows of an application through its system database.

import {
  getWorkflowStatus,
  listWorkflowStatuses,
  listWorkflowSteps,
  type GetWorkflowsInput,
  type StepInfo,
} from '../management/inspect.js';
import { systemDatabaseLocation } from '../runtime/config.js';
import type { WorkflowHandle } from '../runtime/handle.js';
import { awaitOutcome, settleOutcome } from '../runtime/outcome.js';
import { Wakeups } from '../runtime/wakeups.js';
import type { WorkflowStatus } from '../runtime/workflow-status.js';
import { deserializeArgs } from '../serialization/index.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { openSystemDatabase } from '../sysdb/open.js';
import { getWorkflow } from '../sysdb/workflows.js';

export interface DBOSClientConfig {
  systemDatabaseUrl: string;
  systemDatabaseSchemaName?: string;
  systemDatabasePoolSize?: number;
  /** Rows of other applications are left out of listings when set. */
  applicationName?: string;
  /** How often a waiting getResult re-reads the database (the client does not LISTEN). */
  pollingIntervalMs?: number;
}

export class DBOSClient {
  // The client has no notification connection (as in DBOS): its waits poll.
  private readonly wakeups = new Wakeups();

  private constructor(
    private readonly db: SqlDriver,
    private readonly config: DBOSClientConfig,
  ) {}

  static async create(config: DBOSClientConfig): Promise<DBOSClient> {
    const location = systemDatabaseLocation(
      { systemDatabaseUrl: config.systemDatabaseUrl, systemDatabaseSchemaName: config.systemDatabaseSchemaName },
      'client',
    );
    const db = await openSystemDatabase(location, { migrate: false, poolSize: config.systemDatabasePoolSize ?? 4, createDatabase: false });
    return new DBOSClient(db, config);
  }

  retrieveWorkflow<T = unknown>(workflowID: string): WorkflowHandle<T> {
    const client = this;
    return {
      workflowID,
      getStatus: () => getWorkflowStatus(client.db, workflowID),
      async getResult(options: { pollingIntervalMs?: number } = {}): Promise<T> {
        const outcome = await awaitOutcome(client.db, client.wakeups, workflowID, {
          pollIntervalMs: options.pollingIntervalMs ?? client.config.pollingIntervalMs ?? 1000,
        });
        return settleOutcome<T>(workflowID, outcome!);
      },
      async getWorkflowInputs<A extends unknown[]>(): Promise<A> {
        const row = await getWorkflow(client.db, workflowID);
        return (row ? deserializeArgs(row.inputs, row.serialization) : []) as A;
      },
    };
  }

  getWorkflow(workflowID: string): Promise<WorkflowStatus | undefined> {
    return getWorkflowStatus(this.db, workflowID).then((s) => s ?? undefined);
  }

  listWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    return listWorkflowStatuses(this.db, input, this.config.applicationName);
  }

  listQueuedWorkflows(input: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    const queued = { ...input, queuesOnly: true, status: input.status ?? ['ENQUEUED', 'PENDING', 'DELAYED'], loadOutput: false };
    return listWorkflowStatuses(this.db, queued, this.config.applicationName);
  }

  listWorkflowSteps(workflowID: string): Promise<StepInfo[] | undefined> {
    return listWorkflowSteps(this.db, workflowID);
  }

  async destroy(): Promise<void> {
    await this.db.close();
  }
}
