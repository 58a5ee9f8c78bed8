import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const BASE_URL = process.env.TRANSACT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const SNAPSHOT_FILE = new URL('./schema.pg.snapshot.txt', import.meta.url);

export function urlFor(database: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** True when PostgreSQL answers; the tests skip without it, except in CI where a missing database is a failure. */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: BASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates a scratch database for this run; the returned function drops it (even with connections still open). */
export async function createScratchDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `transact_mig_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  return { name, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client(BASE_URL);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A normalized, line-oriented description of one schema read from the catalog: tables with their columns (type,
 * nullability, default), constraints, indexes, functions (signature, settings and body) and triggers. Sorted by
 * name so it does not depend on creation order, except columns, whose order is part of the schema.
 */
export async function describeSchema(client: pg.Pool, schema: string): Promise<string> {
  const lines: string[] = [];
  const tables = await client.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  for (const { table } of tables.rows) {
    lines.push(`table ${table}`);
    const columns = await client.query<{ name: string; type: string; notnull: boolean; def: string | null }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
              pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [schema, table],
    );
    for (const c of columns.rows) {
      lines.push(`  column ${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''}${c.def === null ? '' : ` DEFAULT ${c.def}`}`);
    }
    const constraints = await client.query<{ name: string; def: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = format('%I.%I', $1::text, $2::text)::regclass ORDER BY 1`,
      [schema, table],
    );
    for (const c of constraints.rows) lines.push(`  constraint ${c.name} ${c.def}`);
  }
  const indexes = await client.query<{ name: string; def: string }>(
    'SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY 1',
    [schema],
  );
  for (const i of indexes.rows) lines.push(`index ${i.name} ${i.def}`);
  const triggers = await client.query<{ def: string }>(
    `SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY t.tgname`,
    [schema],
  );
  for (const t of triggers.rows) lines.push(`trigger ${t.def}`);
  const functions = await client.query<{ name: string; args: string; result: string; lang: string; config: string[] | null; body: string }>(
    `SELECT p.proname AS name, pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
            l.lanname AS lang, p.proconfig AS config, p.prosrc AS body
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
     WHERE n.nspname = $1 ORDER BY 1, 2`,
    [schema],
  );
  for (const f of functions.rows) {
    lines.push(`function ${f.name}(${f.args}) RETURNS ${f.result} LANGUAGE ${f.lang} SET ${(f.config ?? []).join('; ')}`);
    for (const line of f.body.trim().split('\n')) lines.push(`  | ${line.trimEnd()}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface SnapshotTable {
  columns: { name: string; notNull: boolean }[];
  primaryKey: string[];
  /** `column -> table(column) ON UPDATE x ON DELETE y`, one per foreign key. */
  foreignKeys: string[];
  /** Column lists of UNIQUE constraints. */
  unique: string[][];
}

export interface SnapshotIndex {
  name: string;
  table: string;
  unique: boolean;
  partial: boolean;
  method: string;
}

/** The committed PostgreSQL snapshot, parsed back into tables and (non-constraint) indexes. */
export function readSnapshot(): { tables: Map<string, SnapshotTable>; indexes: SnapshotIndex[] } {
  const tables = new Map<string, SnapshotTable>();
  const constraintNames = new Set<string>();
  const indexLines: string[] = [];
  const list = (text: string) => text.split(',').map((c) => c.trim().replaceAll('"', ''));
  let current: SnapshotTable | undefined;
  for (const line of readFileSync(SNAPSHOT_FILE, 'utf8').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^table (\S+)$/.exec(line))) {
      current = { columns: [], primaryKey: [], foreignKeys: [], unique: [] };
      tables.set(m[1]!, current);
    } else if ((m = /^ {2}column (\S+) .*?( NOT NULL)?(?: DEFAULT .*)?$/.exec(line))) {
      current!.columns.push({ name: m[1]!, notNull: m[2] !== undefined });
    } else if ((m = /^ {2}constraint (\S+) (.*)$/.exec(line))) {
      constraintNames.add(m[1]!);
      const def = m[2]!;
      let c: RegExpExecArray | null;
      if ((c = /^PRIMARY KEY \((.*)\)$/.exec(def))) current!.primaryKey = list(c[1]!);
      else if ((c = /^UNIQUE \((.*)\)$/.exec(def))) current!.unique.push(list(c[1]!));
      else if ((c = /^FOREIGN KEY \((.*)\) REFERENCES \w+\.(\w+)\((.*)\) ON UPDATE (\w+) ON DELETE (\w+)$/.exec(def))) {
        current!.foreignKeys.push(`${c[1]} -> ${c[2]}(${c[3]}) ON UPDATE ${c[4]} ON DELETE ${c[5]}`);
      } else throw new Error(`Unrecognized constraint in the snapshot: ${line}`);
    } else if (line.startsWith('index ')) indexLines.push(line);
  }
  const indexes = indexLines.flatMap((line) => {
    const m = /^index (\S+) CREATE (UNIQUE )?INDEX \S+ ON \w+\.(\w+) USING (\w+) .*?( WHERE .*)?$/.exec(line);
    if (!m) throw new Error(`Unrecognized index in the snapshot: ${line}`);
    // Indexes that back a primary key or UNIQUE constraint come with the constraint on SQLite too (autoindexes).
    if (constraintNames.has(m[1]!)) return [];
    return [{ name: m[1]!, table: m[3]!, unique: m[2] !== undefined, partial: m[5] !== undefined, method: m[4]! }];
  });
  return { tables, indexes };
}
