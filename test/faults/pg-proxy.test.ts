// The fault suite's TCP proxy (support/pg-proxy.ts) on its own, against the shared PostgreSQL with plain `pg`: it
// forwards; a black hole holds both directions without closing anything until it heals; and a lost reply is one the
// server executed and committed while the client only saw its connection close -- in autocommit and at the end of an
// explicit transaction. The lost-reply scenarios rely on exactly this.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { dropFreshDatabases, freshDatabase, postgresBaseUrl, postgresUnavailable } from '../support/backends.js';
import { PgProxy } from './support/pg-proxy.js';

let url = '';
let proxy: PgProxy | undefined;
const clients: pg.Client[] = [];

async function connect(to: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: to });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

const insert = (n: number) => ({ name: 'probe_insert', text: 'INSERT INTO probe (n) VALUES ($1) RETURNING n', values: [n] });

describe('the fault proxy', { skip: postgresUnavailable ? `PostgreSQL unreachable: ${postgresUnavailable}` : undefined }, () => {
  before(async () => {
    url = freshDatabase('postgres', 'proxy');
    const admin = await connect(postgresBaseUrl);
    await admin.query(`CREATE DATABASE "${new URL(url).pathname.slice(1)}"`);
    const direct = await connect(url);
    await direct.query('CREATE TABLE probe (n int PRIMARY KEY)');
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const c of clients.splice(0)) await c.end().catch(() => {});
  });
  after(dropFreshDatabases);

  it('forwards, and holds both directions while black-holed until it heals', async () => {
    proxy = await PgProxy.start(url);
    const client = await connect(proxy.via(url));
    assert.equal((await client.query('SELECT 41 + 1 AS x')).rows[0].x, 42);
    proxy.blackHole();
    let answered = false;
    const query = client.query('SELECT 7 AS x').then((r) => {
      answered = true;
      return r.rows[0].x as number;
    });
    await new Promise((r) => setTimeout(r, 300)); // the partition's length
    assert.equal(answered, false, 'no answer through a black hole');
    proxy.heal();
    assert.equal(await query, 7);
  });

  it('loses the reply of the nth execution of a named statement, after the server committed it', async () => {
    proxy = await PgProxy.start(url);
    const client = await connect(proxy.via(url));
    const pending = proxy.loseReply(['probe_insert'], { nth: 2 });
    assert.equal((await client.query(insert(1))).rows[0].n, 1);
    await assert.rejects(client.query(insert(2)), /Connection terminated|connection/i);
    const lost = await pending;
    assert.equal(lost.statement, 'probe_insert');
    assert.equal(lost.status, 'I');
    assert.deepEqual(lost.params, ['2']);
    assert.deepEqual(lost.rows, [['2']]);
    const direct = await connect(url);
    assert.deepEqual((await direct.query('SELECT n FROM probe WHERE n IN (1, 2) ORDER BY n')).rows.map((r) => r.n), [1, 2]);
  });

  it('inside a transaction, lets the statement through and loses the reply to the commit', async () => {
    proxy = await PgProxy.start(url);
    const client = await connect(proxy.via(url));
    const pending = proxy.loseReply(['probe_insert'], { when: (rows) => rows.length === 1 });
    await client.query('BEGIN');
    assert.equal((await client.query(insert(3))).rows[0].n, 3);
    await assert.rejects(client.query('COMMIT'), /Connection terminated|connection/i);
    const lost = await pending;
    assert.equal(lost.status, 'I');
    const direct = await connect(url);
    assert.equal((await direct.query('SELECT count(*)::int AS c FROM probe WHERE n = 3')).rows[0].c, 1, 'committed');
  });

  it('lets through executions that do not qualify, and counts only those that do', async () => {
    proxy = await PgProxy.start(url);
    const client = await connect(proxy.via(url));
    const pending = proxy.loseReply(['probe_insert'], { when: (_rows, params) => params[0] === '5' });
    assert.equal((await client.query(insert(4))).rows[0].n, 4);
    await assert.rejects(client.query(insert(5)));
    assert.deepEqual((await pending).params, ['5']);
  });
});
