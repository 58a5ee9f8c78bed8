// The databases of the testing kit (src/testing/): reading back what a test run recorded, and dropping the schemas a
// test made in a PostgreSQL database once it is over.

import pg from 'pg';
import type { Queryable } from './driver.js';
import type { StepRow, WorkflowRow } from './rows.js';
import { listSteps } from './steps.js';
import { getWorkflow } from './workflows.js';

/** A workflow's row (with its input and outcome) and its recorded steps, in function-ID order. */
export interface RecordedWorkflow {
  row?: WorkflowRow;
  steps: StepRow[];
}

export async function readHistory(db: Queryable, workflowIDs: string[]): Promise<Map<string, RecordedWorkflow>> {
  const found = new Map<string, RecordedWorkflow>();
  for (const id of workflowIDs) found.set(id, { row: await getWorkflow(db, id), steps: await listSteps(db, id) });
  return found;
}

/** Drops these schemas (and everything in them) from the database at `url`. */
export async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}
