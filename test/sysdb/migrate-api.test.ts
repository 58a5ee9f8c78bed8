// DBOS.migrate: creating or migrating a system database without launching, and granting an application role what it
// needs to run on a schema it cannot change (launched with runMigrations: false).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSInitializationError } from '../../src/index.js';
import { SCHEMA_VERSION } from '../../src/sysdb/migrations/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase, postgresBaseUrl, withPg } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';

const greet = DBOS.registerWorkflow(async (who: string) => `hello ${who}`, { name: 'migrateApiGreet' });

/** Roles this file created; dropped once the databases holding their grants are gone. */
const roles: string[] = [];

async function createLoginRole(): Promise<string> {
  const role = `transact_app_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withPg(postgresBaseUrl, (c) => c.query(`CREATE ROLE "${role}" LOGIN`));
  roles.push(role);
  return role;
}

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}

after(async () => {
  await DBOS.shutdown();
  await dropFreshDatabases();
  for (const role of roles.splice(0)) await withPg(postgresBaseUrl, (c) => c.query(`DROP ROLE IF EXISTS "${role}"`));
});
afterEach(() => DBOS.shutdown());

describeEachBackend('DBOS.migrate', (kind) => {
  it('creates the system database at the current schema version without launching, and is safe to run again', async () => {
    const url = freshDatabase(kind, 'migrate_api');
    await DBOS.migrate(url);
    await DBOS.migrate(url);
    assert.equal(DBOS.isInitialized(), false);
    const [row] = await queryRows(url, 'SELECT max(version) AS version FROM dbos.dbos_migrations');
    assert.equal(Number(row?.version), SCHEMA_VERSION);
    assert.deepEqual(await queryRows(url, 'SELECT workflow_uuid FROM dbos.workflow_status'), []);

    // An application that must not run DDL launches on it.
    await launchOn(url, { runMigrations: false });
    assert.equal(await greet('migrated'), 'hello migrated');
  });

  it('leaves an unmigrated database refused to a launch without migrations (the control for the test above)', async () => {
    const url = freshDatabase(kind, 'migrate_api_none');
    if (kind === 'postgres') await withPg(postgresBaseUrl, (c) => c.query(`CREATE DATABASE "${new URL(url).pathname.slice(1)}"`));
    await assert.rejects(launchOn(url, { runMigrations: false }), DBOSInitializationError);
  });
});

describeEachBackend(
  'DBOS.migrate on PostgreSQL',
  () => {
    it('migrates a schema of the caller’s choosing', async () => {
      const url = freshDatabase('postgres', 'migrate_api_schema');
      await DBOS.migrate(url, { schemaName: 'Custom Sys' });
      const [row] = await withPg(url, (c) => c.query('SELECT max(version) AS version FROM "Custom Sys".dbos_migrations')).then((r) => r.rows);
      assert.equal(Number(row?.version), SCHEMA_VERSION);
      const [dbos] = await withPg(url, (c) => c.query(`SELECT to_regclass('dbos.workflow_status')::text AS t`)).then((r) => r.rows);
      assert.equal(dbos?.t, null, 'nothing made in the default schema');
    });

    it('grants an application role the use of the schema, so it can read and write the tables and run workflows', async () => {
      const role = await createLoginRole();
      const url = freshDatabase('postgres', 'migrate_api_role');
      await DBOS.migrate(url, { applicationRole: role });
      const roleUrl = asRole(url, role);
      const rows = await withPg(roleUrl, (c) => c.query('SELECT count(*)::int AS n FROM dbos.workflow_status'));
      assert.equal(rows.rows[0]?.n, 0);

      // The application runs as that role: it may not migrate, but it may do everything else.
      await launchOn(roleUrl, { runMigrations: false });
      assert.equal(await greet('role'), 'hello role');
      await DBOS.shutdown();
      const [status] = await withPg(roleUrl, (c) => c.query(`SELECT status FROM dbos.workflow_status WHERE name = 'migrateApiGreet'`)).then((r) => r.rows);
      assert.equal(status?.status, 'SUCCESS');
    });

    it('grants nothing without applicationRole (the control: the role may not read)', async () => {
      const role = await createLoginRole();
      const url = freshDatabase('postgres', 'migrate_api_norole');
      await DBOS.migrate(url);
      await assert.rejects(
        withPg(asRole(url, role), (c) => c.query('SELECT count(*) FROM dbos.workflow_status')),
        /permission denied/,
      );
    });

    it('reports a role that does not exist, after migrating', async () => {
      const url = freshDatabase('postgres', 'migrate_api_badrole');
      await assert.rejects(DBOS.migrate(url, { applicationRole: `no_such_role_${process.pid}` }), DBOSInitializationError);
      const [row] = await queryRows(url, 'SELECT max(version) AS version FROM dbos.dbos_migrations');
      assert.equal(Number(row?.version), SCHEMA_VERSION);
    });
  },
  ['postgres'],
);

describeEachBackend(
  'DBOS.migrate on SQLite',
  () => {
    it('ignores applicationRole (a file has no roles)', async () => {
      const url = freshDatabase('sqlite', 'migrate_api_sqlite_role');
      await DBOS.migrate(url, { applicationRole: 'whoever' });
      const [row] = await queryRows(url, 'SELECT max(version) AS version FROM dbos.dbos_migrations');
      assert.equal(Number(row?.version), SCHEMA_VERSION);
    });
  },
  ['sqlite'],
);
