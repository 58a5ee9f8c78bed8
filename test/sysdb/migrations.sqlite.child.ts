// Run by migrations.sqlite.test.ts as a separate process: opens the file the way the engine's driver does, waits for
// the agreed start time so the processes really collide, migrates, and prints the result as JSON.
import Database from 'better-sqlite3';
import { migrateSqlite } from '../../src/sysdb/migrations/index.js';

const [file, startAt] = process.argv.slice(2);
const db = new Database(file!);
db.pragma('busy_timeout = 10000');
db.pragma('journal_mode = WAL');
while (Date.now() < Number(startAt)) {
  // Spin rather than sleep: a timer's granularity would blur the start by more than the migration takes.
}
process.stdout.write(JSON.stringify(migrateSqlite(db)));
db.close();
