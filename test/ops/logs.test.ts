// Structured logs: with TRANSACT_LOG_FORMAT=json every line a process writes through Transact's logger is one JSON
// object, lines made inside a workflow name it (and the step), and a failed workflow is logged once, with its error.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { DBOS, DBOSInitializationError } from '../../src/index.js';
import { startWorker } from '../support/child.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';

after(dropFreshDatabases);

const script = new URL('./fixtures/json-logs.ts', import.meta.url);

describeEachBackend('JSON logs', (kind) => {
  it('are one object per line, name the workflow and step, and log a failed workflow once with its error', async () => {
    const worker = startWorker(script, { TEST_DB_URL: freshDatabase(kind, 'jsonlog'), TRANSACT_LOG_FORMAT: 'json' });
    await worker.waitForLine(/^done$/, 60_000);
    assert.equal(await worker.exited, 0);
    const written = [...worker.lines.filter((l) => l !== 'done'), ...worker.stderr().split('\n').filter(Boolean)];
    const parsed = written.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
    });
    for (const entry of parsed) {
      assert.ok(typeof entry.time === 'string' && !Number.isNaN(Date.parse(entry.time)), `a time: ${JSON.stringify(entry)}`);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(entry.level as string), `a level: ${JSON.stringify(entry)}`);
    }

    const charging = parsed.find((e) => String(e.message).startsWith('charging the card'));
    assert.ok(charging, `the step's line: ${written.join('\n')}`);
    assert.equal(charging.level, 'info');
    assert.match(String(charging.message), /amount: 12/);
    assert.equal(charging.workflowID, 'json-works');
    assert.equal(charging.workflowName, 'jsonLogsWorks');
    assert.equal(charging.executorID, 'json-logger');
    assert.equal(charging.step, 'charge');
    assert.equal(charging.functionID, 0);

    const failed = parsed.filter((e) => e.workflowID === 'json-fails' && e.level === 'error');
    assert.equal(failed.length, 1, `one line for the failed workflow: ${JSON.stringify(failed)}`);
    const error = failed[0]!.error as { name: string; message: string; stack: string };
    assert.equal(error.name, 'RangeError');
    assert.equal(error.message, 'the order has no items');
    assert.match(error.stack, /json-logs\.ts/);
    assert.match(String(failed[0]!.message), /json-fails \(jsonLogsFails\) failed/);
  });
});

it('an unknown log format is refused by setConfig, naming the choices', () => {
  assert.throws(
    () => DBOS.setConfig({ name: 'x', logFormat: 'yaml' as never }),
    (err: Error) => err instanceof DBOSInitializationError && /logFormat "yaml" is not a log format: use 'text' or 'json'/.test(err.message),
  );
});
