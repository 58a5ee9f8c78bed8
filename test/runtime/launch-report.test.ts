// What a launch says and refuses: at `info`, the system database (a PostgreSQL URL without its password, or the
// SQLite file), the executor ID and the application version; a warning for configuration keys DBOSConfig does not
// have (possible only from plain JavaScript: for the compiler DBOSConfig is exact); and a refusal of the DBOS
// settings Transact cannot honour.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSInitializationError, type DBOSConfig, type Logger } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { TEST_APP } from '../support/launch.js';
import { logLevelOf } from '../../src/runtime/config.js';

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: unknown) => void lines.push(`${level} ${String(message)}`);
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

after(dropFreshDatabases);
afterEach(() => DBOS.shutdown());

describeEachBackend('the launch report', (kind) => {
  it('names the system database (no password), the executor and the version, and warns about unknown keys', async () => {
    let url = freshDatabase(kind, 'report');
    if (kind === 'postgres') {
      const withPassword = new URL(url);
      withPassword.password = 's3cret-pw'; // the test server trusts local connections: the password is never checked
      url = withPassword.toString();
    }
    const logger = capturingLogger();
    // From plain JavaScript nothing stops a misspelt key; here the compiler would (hence the cast).
    const config = { name: TEST_APP, systemDatabaseUrl: url, executorID: `exec-${kind}`, applicationVersion: 'v-report', logger, sytemDatabaseUrl: 'typo', retries: 3 };
    DBOS.setConfig(config as unknown as DBOSConfig);
    await DBOS.launch();
    const launchLine = logger.lines.find((l) => l.startsWith('info Launching'));
    assert.ok(launchLine, logger.lines.join('\n'));
    assert.match(launchLine, new RegExp(`executor exec-${kind}, application version v-report`));
    if (kind === 'postgres') {
      assert.match(launchLine, /system database PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:5432\/transact_report_\w+ \(schema dbos\)/);
    } else {
      assert.ok(launchLine.includes(`system database SQLite ${url.slice('sqlite:'.length)}`), launchLine);
    }
    assert.ok(!logger.lines.some((l) => l.includes('s3cret-pw')), 'the password is not logged');
    const unknown = logger.lines.filter((l) => l.startsWith('warn Unknown configuration key'));
    assert.equal(unknown.length, 1, logger.lines.join('\n'));
    assert.match(unknown[0]!, /sytemDatabaseUrl, retries/);
  });
});

it('refuses DBOS settings it cannot honour, before opening anything', async () => {
  for (const [key, value, pattern] of [
    ['systemDatabasePool', {}, /systemDatabasePool is not supported/],
    ['serializer', { name: () => 'x', stringify: JSON.stringify, parse: JSON.parse }, /custom serializer is not supported/],
  ] as const) {
    DBOS.setConfig({ name: TEST_APP, systemDatabaseUrl: freshDatabase('sqlite', 'refused'), logger: capturingLogger(), [key]: value });
    await assert.rejects(DBOS.launch(), (err: unknown) => {
      assert.ok(err instanceof DBOSInitializationError);
      assert.match(err.message, pattern);
      return true;
    });
    assert.equal(DBOS.isInitialized(), false);
  }
  // A failed launch leaves registration open.
  DBOS.registerWorkflow(async () => 1, { name: 'afterFailedLaunch' });
});

it('accepts any log level string, as DBOS types it, and falls back to info for an unknown one', async () => {
  const levels: DBOSConfig['logLevel'][] = ['debug', 'warn', 'verbose'];
  for (const logLevel of levels) DBOS.setConfig({ name: TEST_APP, logLevel });
  assert.equal(DBOS.getConfig().logLevel, 'verbose');
  assert.equal(logLevelOf({ logLevel: 'verbose' }), 'info');
  assert.equal(logLevelOf({ logLevel: 'warn' }), 'warn');
  assert.equal(logLevelOf({}), 'info');
});
