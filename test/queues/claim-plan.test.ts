// The claim must not scan the backlog: on a queue with 20,000 waiting workflows (and 40,000 finished ones beside
// them: enough that either planner would scan the table if an index were missing), every access to workflow_status in
// the claim statements goes through an index, in PostgreSQL's custom and generic plans alike, and on SQLite. Then a
// real claim takes the right rows. What is asserted is the plan, not a timing: a timing on a shared machine proves
// nothing either way.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { renderStatement, type SqlDriver } from '../../src/sysdb/driver.js';
import { openSystemDatabase } from '../../src/sysdb/open.js';
import { CLAIM_STATEMENTS, claimQueuedWorkflows } from '../../src/sysdb/queues.js';
import { SqliteDriver } from '../../src/sysdb/sqlite-driver.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';

const BACKLOG = 20_000;
const FINISHED = 40_000;
const NOW = `(EXTRACT(EPOCH FROM now()) * 1000)::bigint`;

after(dropFreshDatabases);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describeEachBackend('the claim on a large backlog', (kind) => {
  let db: SqlDriver;
  let url: string;
  before(async () => {
    url = freshDatabase(kind, 'plan');
    const location = kind === 'postgres' ? { kind, url, schema: 'dbos' } : { kind, file: url.slice('sqlite:'.length) };
    db = await openSystemDatabase(location as Parameters<typeof openSystemDatabase>[0], { migrate: true, poolSize: 2 });
    if (kind === 'postgres') {
      const client = new pg.Client(url);
      await client.connect();
      try {
        await client.query(`INSERT INTO dbos.workflow_status (workflow_uuid, status, name, queue_name, application_version,
            application_name, priority, created_at, queue_partition_key)
          SELECT 'e' || g, 'ENQUEUED', 'wf', 'big', 'v1', 'app', g % 3, 1700000000000 + g, 'p' || (g % 10)
            FROM generate_series(1, ${BACKLOG}) g`);
        await client.query(`INSERT INTO dbos.workflow_status (workflow_uuid, status, name, queue_name, application_version,
            application_name, started_at_epoch_ms, rate_limited, queue_partition_key)
          SELECT 'p' || g, 'PENDING', 'wf', 'big', 'v1', 'app', ${NOW} - g, true, 'p' || (g % 10) FROM generate_series(1, 50) g`);
        await client.query(`INSERT INTO dbos.workflow_status (workflow_uuid, status, name, queue_name, application_version,
            application_name, started_at_epoch_ms, rate_limited, completed_at)
          SELECT 's' || g, 'SUCCESS', 'wf', 'big', 'v1', 'app', ${NOW} - g * 10, true, 1 FROM generate_series(1, ${FINISHED}) g`);
        await client.query('ANALYZE dbos.workflow_status');
      } finally {
        await client.end();
      }
    } else {
      const sqlite = (db as SqliteDriver).db;
      const series = (n: number) => `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ${n})`;
      const now = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;
      sqlite.exec(`${series(BACKLOG)} INSERT INTO workflow_status (workflow_uuid, status, name, queue_name, application_version,
          application_name, priority, created_at, queue_partition_key)
        SELECT 'e' || x, 'ENQUEUED', 'wf', 'big', 'v1', 'app', x % 3, 1700000000000 + x, 'p' || (x % 10) FROM g`);
      sqlite.exec(`${series(50)} INSERT INTO workflow_status (workflow_uuid, status, name, queue_name, application_version,
          application_name, started_at_epoch_ms, rate_limited, queue_partition_key)
        SELECT 'p' || x, 'PENDING', 'wf', 'big', 'v1', 'app', ${now} - x, 1, 'p' || (x % 10) FROM g`);
      sqlite.exec(`${series(FINISHED)} INSERT INTO workflow_status (workflow_uuid, status, name, queue_name, application_version,
          application_name, started_at_epoch_ms, rate_limited, completed_at)
        SELECT 's' || x, 'SUCCESS', 'wf', 'big', 'v1', 'app', ${now} - x * 10, 1, 1 FROM g`);
      sqlite.exec('ANALYZE');
    }
  });
  after(() => db.close());

  it('reads workflow_status only through indexes', async () => {
    if (kind === 'postgres') {
      const plain = ['big', 'v1', false, 'app', 100, 'owner', 'exec', true, 60, 1000, 1000];
      const partitioned = [...plain, 3, 5, 1000, 2, ['p1'], [1]];
      const client = new pg.Client(url);
      await client.connect();
      try {
        for (const mode of ['force_custom_plan', 'force_generic_plan']) {
          await client.query(`SET plan_cache_mode = ${mode}`);
          for (const [name, statement, params] of [
            ['plain', CLAIM_STATEMENTS.postgres.plain, plain],
            ['partitioned', CLAIM_STATEMENTS.postgres.partitioned, partitioned],
          ] as const) {
            const prepared = `claim_${name}_${mode}`;
            await client.query(`PREPARE ${prepared} AS ${renderStatement(statement, 'postgres', 'dbos')}`);
            const literal = (v: unknown): string =>
              Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]` : typeof v === 'string' ? `'${v}'` : String(v);
            const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${prepared}(${params.map(literal).join(', ')})`);
            const all = nodes(rows[0]['QUERY PLAN'][0].Plan as PlanNode);
            const scans = all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);
            assert.deepEqual(scans, [], `${name} (${mode}) scans ${scans.join(', ')}`);
            const indexes = new Set(all.map((n) => n['Index Name']).filter(Boolean));
            const dispatch = name === 'plain' ? 'idx_workflow_status_in_flight_v2' : 'idx_workflow_status_partition_dequeue_v3';
            assert.ok(indexes.has(dispatch), `${name} (${mode}) uses ${dispatch}: ${[...indexes].join(', ')}`);
          }
        }
      } finally {
        await client.end();
      }
    } else {
      const sqlite = (db as SqliteDriver).db;
      const statements = CLAIM_STATEMENTS.sqlite;
      const bound = {
        figures: [['big', 60, 1000], statements.figures],
        pick: [['big', 'v1', 0, 'app', 100], statements.pick],
        partitions: [['big', 3, 1000, Date.now()], statements.partitions],
        pickPartition: [['big', 'v1', 0, 'app', 100, 'p1'], statements.pickPartition],
      } as const;
      for (const [name, [params, statement]] of Object.entries(bound)) {
        const text = renderStatement(statement, 'sqlite', '');
        const args = Object.fromEntries(params.map((v, i) => [i + 1, v]));
        const plan = (sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(args) as { detail: string }[]).map((r) => r.detail);
        const fullScans = plan.filter((d) => /^SCAN workflow_status\b/.test(d));
        assert.deepEqual(fullScans, [], `${name} scans workflow_status: ${plan.join(' | ')}`);
        assert.ok(plan.some((d) => /^SEARCH workflow_status USING (COVERING )?INDEX/.test(d)), `${name}: ${plan.join(' | ')}`);
      }
    }
  });

  it('claims the first 100 by priority, then age, within the global limit', async () => {
    const result = await claimQueuedWorkflows(db, {
      queueName: 'big',
      executorID: 'exec',
      applicationVersion: 'v1',
      takeUnversioned: false,
      applicationName: 'app',
      limit: 100,
      ownerXid: 'owner',
      limits: {
        globalConcurrency: 120,
        rateLimit: null,
        partitioned: false,
        partitionConcurrency: null,
        partitionWorkerConcurrency: null,
        partitionRateLimit: null,
      },
    });
    assert.equal(result.allowed, 70, '120 globally, 50 already running');
    assert.equal(result.claimed.length, 70);
    assert.ok(result.claimed.every((c) => c.row.priority === 0));
    const ids = result.claimed.map((c) => Number(c.row.workflowID.slice(1)));
    assert.deepEqual(ids, Array.from({ length: 70 }, (_, i) => (i + 1) * 3), 'priority 0 (every third), oldest first');
  });
});
