export { SCHEMA_VERSION, type MigrationResult } from './version.js';
export { migratePostgres } from './postgres.js';
export { migrateSqlite } from './sqlite.js';
export { grantApplicationRole } from './grants.js';
