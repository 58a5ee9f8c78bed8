import type pg from 'pg';
import { inPoolTransaction } from './postgres.js';
import { quoteIdent } from './sql.js';

/**
 * Lets `role` use a migrated system schema without owning it: a deployment migrates with a privileged role
 * (DBOS.migrate) and runs the application under one that cannot run DDL (`runMigrations: false`). Only what the
 * engine does at run time is granted: reading and writing rows, drawing from sequences, calling the schema's
 * functions. Granted on what exists now, so it is run again after every migration.
 */
export function grantStatements(schema: string, role: string): string[] {
  const s = quoteIdent(schema);
  const r = quoteIdent(role);
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${r}`,
  ];
}

/** Grants `role` the run-time access to the schema in one transaction (all or nothing). */
export async function grantApplicationRole(pool: pg.Pool, schema: string, role: string): Promise<void> {
  await inPoolTransaction(pool, 'BEGIN', async (client) => {
    for (const statement of grantStatements(schema, role)) await client.query(statement);
  });
}
