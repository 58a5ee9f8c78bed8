// Writing to a test database directly, the way another process or tool would, on either backend: one statement in
// PostgreSQL's dialect (`dbos.` tables, `$n` parameters) is adapted for the embedded database.

import Database from 'better-sqlite3';
import { withPg } from './backends.js';

export async function execSql(url: string, text: string, params: unknown[] = []): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.pragma('busy_timeout = 10000');
      const statement = db.prepare(text.replace(/\bdbos\./g, '').replace(/\$(\d+)/g, '?$1'));
      const bound = Object.fromEntries(params.map((p, i) => [i + 1, typeof p === 'boolean' ? Number(p) : p]));
      if (params.length > 0) statement.run(bound);
      else statement.run();
    } finally {
      db.close();
    }
    return;
  }
  await withPg(url, async (client) => {
    await client.query(text, params);
  });
}
