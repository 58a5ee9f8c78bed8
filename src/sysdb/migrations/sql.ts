/** Quotes a PostgreSQL identifier, so any configured schema name (mixed case, spaces, quotes) is taken literally. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('A PostgreSQL identifier cannot be empty');
  if (name.includes('\0')) throw new Error('A PostgreSQL identifier cannot contain a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a PostgreSQL string literal (standard_conforming_strings is on by default since 9.1). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Epoch milliseconds as DBOS writes them in column defaults. Spelled exactly like DBOS's so the stored default
 * expression (what pg_dump prints) is identical.
 */
export const NOW_MS = '((EXTRACT(EPOCH FROM now()) * 1000.0))::bigint';
