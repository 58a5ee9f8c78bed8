// What an idle process costs its database, counted by the server itself: a private PostgreSQL server with
// pg_stat_statements counts every statement the process sends during 30 idle seconds (after its first minute, when
// the scheduler re-reads its table every second on purpose), and the budget is one statement per second. SQLite has
// no server to ask: there the driver's own count is held to a budget of its own. Default settings, one queue declared.
// Each backend runs from a file of its own (idle-cost-*.test.ts): together they would hold one of the two test slots for over three minutes.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { DBOS, WorkflowQueue } from '../../../src/index.js';
import { systemDatabaseStats } from '../../../src/process/state.js';
import { type BackendKind, describeEachBackend, dropFreshDatabases, freshDatabase } from '../../support/backends.js';
import { PrivatePostgres, privatePostgresUnavailable } from '../../support/private-postgres.js';

new WorkflowQueue('idle-cost');
DBOS.registerWorkflow(async () => 1, { name: 'idleCostNothing' });

/** Past the scheduler's first minute. */
const SETTLE_MS = 62_000;
const WINDOW_MS = 30_000;
/** PostgreSQL: at most one statement per second (the target). */
const POSTGRES_BUDGET = WINDOW_MS / 1000;
/** SQLite (no notifications between processes, so shorter safety-net polls; a claim is 4 statements there). */
const SQLITE_BUDGET = (WINDOW_MS / 1000) * 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function idleCostSuite(only: BackendKind): void {
after(dropFreshDatabases);
describeEachBackend('idle cost', (kind) => {
  let server: PrivatePostgres | undefined;
  after(async () => {
    await DBOS.shutdown();
    server?.destroy();
  });

  it(
    `an idle process sends at most ${kind === 'postgres' ? POSTGRES_BUDGET : SQLITE_BUDGET} statements in ${WINDOW_MS / 1000} s`,
    { timeout: 170_000, skip: kind === 'postgres' ? privatePostgresUnavailable : undefined },
    async () => {
      let url: string;
      if (kind === 'postgres') {
        server = await PrivatePostgres.create({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_utility': 'on' });
        url = server.url;
      } else {
        url = freshDatabase(kind, 'idle');
      }
      DBOS.setConfig({ name: 'idle-cost', systemDatabaseUrl: url, logLevel: 'error' });
      await DBOS.launch();
      await sleep(SETTLE_MS);
      if (kind === 'sqlite') {
        const stats = systemDatabaseStats()!;
        const before = stats.roundTrips;
        await sleep(WINDOW_MS);
        const sent = stats.roundTrips - before;
        console.log(`idle SQLite: ${sent} statements in ${WINDOW_MS / 1000} s (driver count)`);
        assert.ok(sent <= SQLITE_BUDGET, `${sent} statements in ${WINDOW_MS / 1000} s: ${JSON.stringify(Object.fromEntries(stats.byStatement))}`);
        assert.ok(sent > 0, 'the count works (the heartbeat alone sends statements)');
        return;
      }
      const probe = new pg.Client({ connectionString: url });
      await probe.connect();
      try {
        await probe.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        await probe.query('SELECT pg_stat_statements_reset()');
        await sleep(WINDOW_MS);
        // Everything sent to the application's database, except this probe's own statements.
        const { rows } = await probe.query<{ query: string; calls: string }>(
          `SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = current_database() AND s.query NOT ILIKE '%pg_stat_statements%'
            ORDER BY s.calls DESC`,
        );
        const sent = rows.reduce((n, r) => n + Number(r.calls), 0);
        const shown = rows.map((r) => `${r.calls}x ${r.query.replace(/\s+/g, ' ').slice(0, 80)}`).join('\n');
        console.log(`idle PostgreSQL: ${sent} statements in ${WINDOW_MS / 1000} s (pg_stat_statements)\n${shown}`);
        assert.ok(sent > 0, 'the server counted the heartbeat at least');
        assert.ok(sent <= POSTGRES_BUDGET, `${sent} statements in ${WINDOW_MS / 1000} s:\n${shown}`);
      } finally {
        await probe.end();
      }
    },
  );
}, [only]);
}
