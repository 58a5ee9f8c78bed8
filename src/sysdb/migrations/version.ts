/**
 * The DBOS system-database schema version Transact creates and expects. DBOS numbers its migrations by list index and
 * every SDK defines the same migration at the same index from 100 on, so this number is what lets a database be shared
 * with DBOS's own libraries (TypeScript 5.3.0 is at 123).
 */
export const SCHEMA_VERSION = 123;

/** The outcome of a migration: the version found and the version left behind (equal when nothing was done). */
export interface MigrationResult {
  from: number;
  to: number;
}
