// Knowing when a workflow has started waiting: its recv (or read) has looked in the database at least once, so
// whatever is sent from now on can only reach it through a wake-up (or the poll this test made long).

import { systemDatabaseStats } from '../../src/process/state.js';
import { waitUntil } from '../support/wait.js';

function statementCount(names: string[]): number {
  const stats = systemDatabaseStats();
  if (!stats) return 0;
  return names.reduce((sum, name) => sum + (stats.byStatement.get(name) ?? 0), 0);
}

/** Runs `start`, then waits until the engine has issued one more of the statements named. */
export async function afterLooking<T>(names: string[], start: () => Promise<T>): Promise<T> {
  const before = statementCount(names);
  const result = await start();
  await waitUntil(() => statementCount(names) > before, { message: `one more of ${names.join(', ')}` });
  return result;
}

/** recv looks for a message with one of these (PostgreSQL: the taking statement itself; SQLite: a read first). */
export const RECV_LOOKS = ['transact_recv', 'transact_has_message'];
export const EVENT_LOOKS = ['transact_get_event'];
export const STREAM_LOOKS = ['transact_read_stream'];

/** Statements sent while `fn` runs, by name. */
export async function statementsDuring(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const stats = systemDatabaseStats()!;
  const before = new Map(stats.byStatement);
  await fn();
  const counted: Record<string, number> = {};
  for (const [name, count] of stats.byStatement) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0) counted[name] = delta;
  }
  return counted;
}
