// Reading a test database's rows directly, the way another tool would, on either backend: one query text in
// PostgreSQL's dialect (`dbos.` tables, `$n` parameters) is adapted for the embedded database.

import Database from 'better-sqlite3';
import { withPg } from './backends.js';

export type Rows = Record<string, unknown>[];

export async function queryRows(url: string, text: string, params: unknown[] = []): Promise<Rows> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      const statement = db.prepare(text.replace(/\bdbos\./g, '').replace(/\$(\d+)/g, '?$1'));
      const bound = Object.fromEntries(params.map((p, i) => [i + 1, typeof p === 'boolean' ? Number(p) : p]));
      return (params.length > 0 ? statement.all(bound) : statement.all()) as Rows;
    } finally {
      db.close();
    }
  }
  return withPg(url, async (client) => (await client.query(text, params)).rows as Rows);
}
