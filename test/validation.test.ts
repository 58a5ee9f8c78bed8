// Input is validated once (src/validation.ts), the same on both backends: each bad input gets the same typed error on
// SQLite and on PostgreSQL, from the facade, the client and workflow code alike, before anything is written. Values
// at the documented limits are stored by both (PostgreSQL's btree indexes accept them). A step timeout longer than a
// Node timer can hold works. A database URL's password never appears in an error message or a log line.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSInitializationError,
  DBOSInvalidQueuePriorityError,
  DBOSInvalidWorkflowInputError,
} from '../src/index.js';
import { main } from '../src/cli/main.js';
import { ConsoleLogger } from '../src/logger.js';
import { redactSecrets } from '../src/redact.js';
import { MAX_KEY_BYTES, MAX_WORKFLOW_ID_BYTES } from '../src/validation.js';
import { describeEachBackend, dropFreshDatabases, postgresUnavailable, type BackendKind } from './support/backends.js';
import { engineOn, TEST_APP } from './support/launch.js';
import { queryRows } from './support/rows.js';

const echo = DBOS.registerWorkflow(async (x: string) => x, { name: 'validEcho' });

/** Runs `op` in workflow code and returns what it threw (a bad option is the workflow's own error to handle). */
const inWorkflow = DBOS.registerWorkflow(
  async (op: string) => {
    try {
      switch (op) {
        case 'setEvent':
          await DBOS.setEvent('k\u0000', 1);
          break;
        case 'writeStream':
          await DBOS.writeStream('s\u0000', 1);
          break;
        case 'recv':
          await DBOS.recv('t\u0000', 1);
          break;
        case 'send':
          await DBOS.send(DBOS.workflowID!, 1, 'x'.repeat(MAX_KEY_BYTES + 1));
          break;
        case 'startChild':
          await DBOS.startWorkflow(echo, { workflowID: 'child\u0000' })('x');
          break;
        case 'enqueueChild':
          await DBOS.enqueueWorkflowWithOptions({ queueName: 'valid-queue', workflowName: 'validEcho', priority: -1 }, 'x');
          break;
        case 'sleep':
          await DBOS.sleepms(Number.NaN);
          break;
        default:
          return 'unknown op';
      }
      return 'accepted';
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  },
  { name: 'validInWorkflow' },
);

let longStepRuns = 0;
const longStep = DBOS.registerStep(
  async () => {
    longStepRuns++;
    return 'in time';
  },
  { name: 'longTimeoutStep', timeoutMS: 2 ** 31 + 1000 },
);
const withLongStep = DBOS.registerWorkflow(async () => longStep(), { name: 'validLongStep' });

const big = DBOS.registerWorkflow(
  async (key: string, idempotencyKey: string) => {
    await DBOS.setEvent(key, 'event');
    await DBOS.writeStream(key, 'value');
    await DBOS.send(DBOS.workflowID!, 'message', key, idempotencyKey);
    const child = await DBOS.startWorkflow(echo)('child'); // `<parent>-<n>`: a few bytes over a caller's limit
    return [await DBOS.recv(key, 10), await child.getResult(), child.workflowID.length];
  },
  { name: 'validBig' },
);

/**
 * A string of exactly `bytes` UTF-8 bytes that does not compress (PostgreSQL compresses large index entries, which
 * would hide an entry too wide for the index); the same for the same seed, so both backends see the same values.
 */
function random(bytes: number, seed = 'v'): string {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += createHash('sha256').update(`${seed}:${i}`).digest('base64url');
  return text.slice(0, bytes);
}

after(dropFreshDatabases);

/** What each bad input gave on each backend: `ErrorClass: message`, compared across backends at the end. */
const outcomes: Record<BackendKind, Map<string, string>> = { sqlite: new Map(), postgres: new Map() };

describeEachBackend('input validation', (kind) => {
  const url = engineOn(kind, 'valid');
  const tag = (s: string) => `${s}-${kind}`;

  it('each bad input is the same typed error from the facade and the client, and writes nothing', async () => {
    await DBOS.registerQueue('valid-queue');
    const client = await DBOSClient.create({ systemDatabaseUrl: url(), applicationName: TEST_APP });
    const existing = await DBOS.startWorkflow(echo, { queueName: 'valid-queue', enqueueOptions: { delaySeconds: 3600 } })('later');
    const counts = async () => {
      const rows = await queryRows(
        url(),
        `SELECT (SELECT count(*) FROM dbos.workflow_status) AS w, (SELECT count(*) FROM dbos.notifications) AS n,
                (SELECT count(*) FROM dbos.operation_outputs) AS o`,
      );
      return JSON.stringify(rows[0], (_k, v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));
    };
    const before = await counts();
    const Invalid = DBOSInvalidWorkflowInputError;
    const Priority = DBOSInvalidQueuePriorityError;
    const q = { queueName: 'valid-queue' };
    const enq = { queueName: 'valid-queue', workflowName: 'validEcho' };
    const cases: [string, () => Promise<unknown>, new (...a: never[]) => Error][] = [
      ['workflowID with NUL', () => DBOS.startWorkflow(echo, { workflowID: 'a\u0000b' })('x'), Invalid],
      ['workflowID too long', () => DBOS.startWorkflow(echo, { workflowID: random(MAX_WORKFLOW_ID_BYTES + 1) })('x'), Invalid],
      ['workflowID too long in UTF-8', () => DBOS.startWorkflow(echo, { workflowID: 'é'.repeat(MAX_WORKFLOW_ID_BYTES / 2 + 1) })('x'), Invalid],
      ['workflowID not a string', () => DBOS.startWorkflow(echo, { workflowID: 42 as unknown as string })('x'), Invalid],
      ['withNextWorkflowID with NUL', () => DBOS.withNextWorkflowID('n\u0000', () => echo('x')), Invalid],
      ['queueName with NUL', () => DBOS.startWorkflow(echo, { queueName: 'valid\u0000' })('x'), Invalid],
      ['deduplicationID too long', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { deduplicationID: random(MAX_KEY_BYTES + 1) } })('x'), Invalid],
      ['partition key with NUL', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { queuePartitionKey: 'p\u0000' } })('x'), Invalid],
      ['timeoutMS infinite', () => DBOS.startWorkflow(echo, { timeoutMS: Infinity })('x'), Invalid],
      ['timeoutMS NaN', () => DBOS.startWorkflow(echo, { timeoutMS: Number.NaN })('x'), Invalid],
      ['timeoutMS zero', () => DBOS.startWorkflow(echo, { timeoutMS: 0 })('x'), Invalid],
      ['withWorkflowTimeout infinite', () => DBOS.withWorkflowTimeout(Infinity, () => echo('x')), Invalid],
      ['delaySeconds infinite', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { delaySeconds: Infinity } })('x'), Invalid],
      ['delaySeconds negative', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { delaySeconds: -1 } })('x'), Invalid],
      ['priority negative', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { priority: -1 } })('x'), Priority],
      ['priority fractional', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { priority: 1.5 } })('x'), Priority],
      ['priority too large', () => DBOS.startWorkflow(echo, { ...q, enqueueOptions: { priority: 2 ** 31 } })('x'), Priority],
      ['attributes with NUL', () => DBOS.startWorkflow(echo, { workflowAttributes: { k: 'v\u0000' } })('x'), Invalid],
      ['authenticatedUser with NUL', () => DBOS.startWorkflow(echo, { authenticatedUser: 'u\u0000' })('x'), Invalid],
      ['by name: workflowID with NUL', () => DBOS.enqueueWorkflowWithOptions({ ...enq, workflowID: 'w\u0000' }, 'x'), Invalid],
      ['by name: timeout infinite', () => DBOS.enqueueWorkflowWithOptions({ ...enq, workflowTimeoutMS: Infinity }, 'x'), Invalid],
      ['client: workflowID with NUL', () => client.enqueue({ ...enq, workflowID: 'c\u0000' }, 'x'), Invalid],
      ['client: workflowID too long', () => client.enqueue({ ...enq, workflowID: random(MAX_WORKFLOW_ID_BYTES + 1) }, 'x'), Invalid],
      ['client: queueName too long', () => client.enqueue({ ...enq, queueName: random(MAX_KEY_BYTES + 1) }, 'x'), Invalid],
      ['client: timeout NaN', () => client.enqueue({ ...enq, workflowTimeoutMS: Number.NaN }, 'x'), Invalid],
      ['client: delay infinite', () => client.enqueue({ ...enq, delaySeconds: Infinity }, 'x'), Invalid],
      ['client: priority too large', () => client.enqueue({ ...enq, priority: 2 ** 31 }, 'x'), Priority],
      ['client: workflow name with NUL', () => client.enqueue({ ...enq, workflowName: 'e\u0000' }, 'x'), Invalid],
      ['send: topic with NUL', () => DBOS.send(existing.workflowID, 1, 't\u0000'), Invalid],
      ['send: idempotency key too long', () => DBOS.send(existing.workflowID, 1, 't', random(MAX_KEY_BYTES + 1)), Invalid],
      ['send: destination with NUL', () => DBOS.send('d\u0000', 1), Invalid],
      ['client send: topic too long', () => client.send(existing.workflowID, 1, random(MAX_KEY_BYTES + 1)), Invalid],
      ['getEvent: workflowID with NUL', () => DBOS.getEvent('g\u0000', 'k', 0), Invalid],
      ['client getEvent: key with NUL', () => client.getEvent(existing.workflowID, 'k\u0000', 0), Invalid],
      ['getEvent: deadline NaN', () => DBOS.getEvent(existing.workflowID, 'k', { deadlineEpochMS: Number.NaN }), Invalid],
      ['readStream: key with NUL', () => DBOS.readStream(existing.workflowID, 's\u0000').next(), Invalid],
      ['status: workflowID with NUL', () => DBOS.getWorkflowStatus('s\u0000'), Invalid],
      ['client status: workflowID with NUL', () => client.retrieveWorkflow('s\u0000').getStatus(), Invalid],
      ['getResult: workflowID with NUL', () => client.retrieveWorkflow('r\u0000').getResult(), Invalid],
      ['list: filter with NUL', () => DBOS.listWorkflows({ workflowName: 'n\u0000' }), Invalid],
      ['client list: attributes with NUL', () => client.listWorkflows({ attributes: { a: '\u0000' } }), Invalid],
      ['steps: workflowID with NUL', () => DBOS.listWorkflowSteps('s\u0000'), Invalid],
      ['cancel: workflowID with NUL', () => DBOS.cancelWorkflow('c\u0000'), Invalid],
      ['client resume: workflowID with NUL', () => client.resumeWorkflow('r\u0000'), Invalid],
      ['delete: workflowID with NUL', () => DBOS.deleteWorkflow('d\u0000'), Invalid],
      ['fork: new ID with NUL', () => DBOS.forkWorkflow(existing.workflowID, 0, { newWorkflowID: 'f\u0000' }), Invalid],
      ['client fork: timeout infinite', () => client.forkWorkflow(existing.workflowID, 0, { timeoutMS: Infinity }), Invalid],
      ['set delay: infinite', () => DBOS.setWorkflowDelay(existing.workflowID, Infinity), Invalid],
      ['client set delay: NaN epoch', () => client.setWorkflowDelay(existing.workflowID, { delayUntilEpochMS: Number.NaN }), Invalid],
      ['set priority: too large', () => DBOS.setWorkflowPriority(existing.workflowID, 2 ** 31), Priority],
      ['registerQueue: name with NUL', () => DBOS.registerQueue('q\u0000'), Invalid],
      ['client registerQueue: name too long', () => client.registerQueue(random(MAX_KEY_BYTES + 1)), Invalid],
      ['runStep: timeout infinite', () => DBOS.runStep(async () => 1, { name: 'inf', timeoutMS: Infinity }), Invalid],
      ['sleep outside a workflow: NaN', () => DBOS.sleepms(Number.NaN), Invalid],
    ];
    try {
      for (const [name, call, expected] of cases) {
        const thrown = await call().then(
          () => assert.fail(`${name}: accepted`),
          (e: unknown) => e,
        );
        assert.ok(thrown instanceof expected, `${name}: ${inspect(thrown).slice(0, 300)}`);
        outcomes[kind].set(name, `${(thrown as Error).name}: ${(thrown as Error).message}`);
      }
      assert.throws(() => DBOS.registerStep(async () => 1, { name: 'badTimeout', timeoutMS: Number.NaN }), Invalid);
      assert.throws(() => DBOS.registerWorkflow(async () => 1, { name: 'bad\u0000name' }), Invalid);
      assert.equal(await counts(), before, 'nothing was written');
    } finally {
      await client.destroy();
      await DBOS.cancelWorkflow(existing.workflowID);
    }
  });

  it('bad options in workflow code are thrown there, before anything is recorded', async () => {
    const ops = ['setEvent', 'writeStream', 'recv', 'send', 'startChild', 'enqueueChild', 'sleep'];
    for (const op of ops) {
      const id = tag(`in-workflow-${op}`);
      const result = await (await DBOS.startWorkflow(inWorkflow, { workflowID: id })(op)).getResult();
      assert.match(result, op === 'enqueueChild' ? /^DBOSInvalidQueuePriorityError: / : /^DBOSInvalidWorkflowInputError: /, op);
      outcomes[kind].set(`in workflow: ${op}`, result.replaceAll(kind, '<kind>'));
      const steps = await DBOS.listWorkflowSteps(id);
      assert.deepEqual(steps, [], `${op}: no step recorded`);
    }
    const written = await queryRows(
      url(),
      `SELECT (SELECT count(*) FROM dbos.workflow_events WHERE workflow_uuid LIKE 'in-workflow-%') AS e,
              (SELECT count(*) FROM dbos.streams WHERE workflow_uuid LIKE 'in-workflow-%') AS s`,
    );
    assert.equal(Number(written[0]!.e) + Number(written[0]!.s), 0);
  });

  it('values at the documented limits are stored (PostgreSQL btree indexes accept them)', async () => {
    await DBOS.registerQueue(random(MAX_KEY_BYTES, 'queue'), { partitionConcurrency: 5 }).then(async (queue) => {
      const handle = await DBOS.startWorkflow(echo, {
        workflowID: random(MAX_WORKFLOW_ID_BYTES, 'queued'),
        queueName: queue.name,
        enqueueOptions: { queuePartitionKey: random(MAX_KEY_BYTES, 'p'), deduplicationID: random(MAX_KEY_BYTES, 'd'), priority: 2 ** 31 - 1 },
      })('big');
      assert.equal(await handle.getResult(), 'big');
    });
    const bigID = random(MAX_WORKFLOW_ID_BYTES, 'big');
    const handle = await DBOS.startWorkflow(big, { workflowID: bigID })(random(MAX_KEY_BYTES, 'key'), random(MAX_KEY_BYTES, 'idem'));
    assert.deepEqual(await handle.getResult(), ['message', 'child', MAX_WORKFLOW_ID_BYTES + 2]);
  });

  it('a step timeout beyond what a Node timer holds (2^31 ms) runs the step normally', async () => {
    longStepRuns = 0;
    const handle = await DBOS.startWorkflow(withLongStep, { workflowID: tag('long-step') })();
    assert.equal(await handle.getResult(), 'in time');
    assert.equal(longStepRuns, 1);
    const [step] = (await DBOS.listWorkflowSteps(handle.workflowID))!;
    assert.deepEqual([step?.output, step?.error], ['in time', null]);
  });

  it('a workflow timeout beyond 2^31 ms is a deadline, not an immediate cancellation', async () => {
    const handle = await DBOS.startWorkflow(echo, { timeoutMS: 2 ** 31 + 1000 })('late');
    assert.equal(await handle.getResult(), 'late');
    const status = await handle.getStatus();
    assert.equal(status?.status, 'SUCCESS');
    assert.ok(status!.deadlineEpochMS! > Date.now() + 2 ** 31, 'the deadline is stored as given');
  });
});

describe('input validation: both backends answer alike', () => {
  it('gives the same error class and message on SQLite and PostgreSQL', { skip: postgresUnavailable ? 'PostgreSQL unreachable' : false }, () => {
    assert.ok(outcomes.sqlite.size > 40, 'the SQLite run recorded its outcomes');
    assert.deepEqual([...outcomes.postgres.entries()], [...outcomes.sqlite.entries()]);
  });
});

describe('database URL passwords', () => {
  const secret = 'pw-S3cr3t-9f2c';
  const noSecret = (what: string, err: unknown) => {
    for (const text of [String(err), (err as Error)?.stack ?? '', inspect(err, { depth: 5 })]) {
      assert.ok(!text.includes(secret), `${what} shows the password: ${text.slice(0, 400)}`);
    }
  };

  it('never appear in an error from the configuration, the client, launch or the CLI', async () => {
    const urls = [
      `mysql://app:${secret}@db.example.com/app`,
      `postgres://app:${secret}@127.0.0.1:notaport/app`,
      `postgres://app:${secret}@127.0.0.1:1/app`, // nothing listens on port 1
    ];
    for (const url of urls) {
      const unreachable = url.includes(':1/'); // a client retries an unreachable database for minutes: launch only
      if (!unreachable) {
        const fromClient = await DBOSClient.create({ systemDatabaseUrl: url }).then(
        async (c) => c.destroy().then(() => assert.fail(`client opened ${url}`)),
        (e: unknown) => e,
      );
        noSecret(`DBOSClient.create(${url})`, fromClient);
        const fromCli = await main(['workflow', 'list', '--db', url], () => {}).then(
          () => assert.fail(`the CLI listed ${url}`),
          (e: unknown) => e,
        );
        noSecret(`the CLI on ${url}`, fromCli);
      }
      DBOS.setConfig({ name: 'redaction', systemDatabaseUrl: url, databaseRetryTimeoutMs: 200, logLevel: 'silent' });
      const fromLaunch = await DBOS.launch().then(
        () => assert.fail(`launched on ${url}`),
        (e: unknown) => e,
      );
      assert.ok(fromLaunch instanceof DBOSInitializationError, inspect(fromLaunch));
      noSecret(`launch on ${url}`, fromLaunch);
      assert.match((fromLaunch as Error).message, /app:\*\*\*\*@|mysql:\/\/app:\*\*\*\*@/, 'the URL is shown, without its password');
      const fromMigrate = await DBOS.migrate(url).then(
        () => assert.fail(`migrated ${url}`),
        (e: unknown) => e,
      );
      noSecret(`migrate ${url}`, fromMigrate);
    }
    await DBOS.shutdown();
  });

  it('never appear in a log line', () => {
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args.map((a) => (a instanceof Error ? inspect(a) : String(a))).join(' '));
    try {
      const logger = new ConsoleLogger('debug');
      logger.error(`Could not reach postgres://app:${secret}@db.example.com/app:`, new Error(`at postgresql://app:${secret}@h/db`));
    } finally {
      console.error = original;
    }
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes(secret), lines[0]);
    assert.match(lines[0]!, /postgres:\/\/app:\*\*\*\*@db\.example\.com\/app/);
    assert.equal(redactSecrets(`postgres://u:${secret}@h/db?password=${secret}`), 'postgres://u:****@h/db?password=****');
  });
});
