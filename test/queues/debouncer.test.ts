// Debouncing: calls with one key while its workflow waits move its start and replace its arguments; once it has
// started, the key is free and the next call starts another. From workflow code the call is a checkpointed step.
// The same through a client, and concurrent callers on separate connections settling on one workflow.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, it } from 'node:test';
import {
  DBOS,
  DBOSClient,
  DBOSInvalidWorkflowInputError,
  DBOSNotRegisteredError,
  DBOSQueueDuplicatedError,
  Debouncer,
  DebouncerClient,
  type WorkflowHandle,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, scratchDir } from '../support/backends.js';
import { startWorker } from '../support/child.js';
import { engineOn, TEST_APP } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { latch, waitUntil } from '../support/wait.js';

/** Every run of `collect`, as `label:n`. */
const runs: string[] = [];
let gate = latch();

const collect = DBOS.registerWorkflow(
  async (label: string, n: number | string) => {
    runs.push(`${label}:${n}`);
    await gate.promise;
    return `${label}:${n}`;
  },
  { name: 'collect' },
);

const debouncer = new Debouncer({ workflow: collect });

const debounceFromWorkflow = DBOS.registerWorkflow(
  async (key: string, label: string) => {
    const handle = await debouncer.debounce(key, 60_000, label, 1);
    return handle.workflowID;
  },
  { name: 'debounceFromWorkflow' },
);

const workerScript = new URL('./fixtures/debounce-worker.ts', import.meta.url);

const runsOf = (label: string) => runs.filter((r) => r.startsWith(`${label}:`));

interface DebounceRow {
  status: string;
  is_debounced: unknown;
  deduplication_id: string | null;
  delay_until_epoch_ms: unknown;
  debounce_deadline_epoch_ms: unknown;
  created_at: unknown;
  application_name: string | null;
  serialization: string | null;
  queue_name: string | null;
}

after(dropFreshDatabases);

describeEachBackend('Debouncer', (kind) => {
  const databaseUrl = engineOn(kind, 'debounce');
  let client: DBOSClient;
  before(async () => {
    client = await DBOSClient.create({ systemDatabaseUrl: databaseUrl(), pollingIntervalMs: 50 });
  });
  after(() => client.destroy());
  beforeEach(() => {
    gate = latch();
    gate.release();
  });

  const row = async (workflowID: string): Promise<DebounceRow> => {
    const [r] = await queryRows(databaseUrl(), 'SELECT * FROM dbos.workflow_status WHERE workflow_uuid = $1', [workflowID]);
    assert.ok(r, `workflow ${workflowID} has a row`);
    return r as unknown as DebounceRow;
  };

  it('calls with one key while its workflow waits run it once, with the last arguments', async () => {
    const key = `last-${kind}`;
    const first = await debouncer.debounce(key, 3000, `a-${kind}`, 1);
    const second = await debouncer.debounce(key, 3000, `a-${kind}`, 2);
    const third = await debouncer.debounce(key, 3000, `a-${kind}`, 3);
    assert.equal(second.workflowID, first.workflowID);
    assert.equal(third.workflowID, first.workflowID);

    const waiting = await row(first.workflowID);
    assert.equal(waiting.status, 'DELAYED');
    assert.equal(Boolean(waiting.is_debounced), true);
    assert.equal(waiting.deduplication_id, `.collect-${key}`, 'the key is a dedup ID on the internal queue');
    assert.equal(waiting.queue_name, '_dbos_internal_queue');
    assert.equal(waiting.debounce_deadline_epoch_ms, null, 'no debounce timeout, no deadline');

    assert.equal(await third.getResult(), `a-${kind}:3`);
    assert.deepEqual(runsOf(`a-${kind}`), [`a-${kind}:3`], 'one run, with the arguments of the last call');
    assert.equal((await row(first.workflowID)).deduplication_id, null, 'the key is free once it ran');
  });

  it('a later call moves the start to its own period from now and replaces the arguments', async () => {
    const key = `push-${kind}`;
    const handle = await debouncer.debounce(key, 1000, `b-${kind}`, 1);
    const before = Number((await row(handle.workflowID)).delay_until_epoch_ms);
    const again = await debouncer.debounce(key, 60_000, `b-${kind}`, 2);
    assert.equal(again.workflowID, handle.workflowID);
    const waiting = await row(handle.workflowID);
    assert.equal(waiting.status, 'DELAYED', 'pushed back before the first period ended');
    assert.ok(Number(waiting.delay_until_epoch_ms) >= before + 59_000 - 1000, 'the start moved to about 60 s from the second call');
    assert.deepEqual(await handle.getWorkflowInputs(), [`b-${kind}`, 2]);
    await DBOS.cancelWorkflow(handle.workflowID);
    assert.deepEqual(runsOf(`b-${kind}`), []);
  });

  it('the debounce timeout caps how far the start moves, counted from the first call', async () => {
    const capped = new Debouncer({ workflow: collect, debounceTimeoutMs: 1500 });
    const key = `cap-${kind}`;
    const handle = await capped.debounce(key, 120_000, `c-${kind}`, 1);
    const first = await row(handle.workflowID);
    assert.equal(Number(first.debounce_deadline_epoch_ms) - Number(first.created_at), 1500);
    assert.equal(Number(first.delay_until_epoch_ms), Number(first.debounce_deadline_epoch_ms), 'capped at the deadline');
    const again = await capped.debounce(key, 120_000, `c-${kind}`, 2);
    assert.equal(again.workflowID, handle.workflowID);
    assert.equal(Number((await row(handle.workflowID)).delay_until_epoch_ms), Number(first.debounce_deadline_epoch_ms));
    // Without the cap it would wait two minutes.
    await waitUntil(async () => (await row(handle.workflowID)).status === 'SUCCESS', { timeoutMs: 30_000, message: 'the capped run' });
    assert.equal(await handle.getResult(), `c-${kind}:2`);
  });

  it('once the workflow has left DELAYED the key is free, and the next call starts another', async () => {
    gate = latch();
    const key = `next-${kind}`;
    const first = await debouncer.debounce(key, 50, `d-${kind}`, 1);
    await waitUntil(() => runsOf(`d-${kind}`).length === 1, { message: 'the first debounced run to start' });
    assert.equal((await row(first.workflowID)).deduplication_id, null, 'promotion cleared the dedup ID');
    const second = await debouncer.debounce(key, 50, `d-${kind}`, 2);
    assert.notEqual(second.workflowID, first.workflowID);
    gate.release();
    assert.equal(await first.getResult(), `d-${kind}:1`);
    assert.equal(await second.getResult(), `d-${kind}:2`);
  });

  it('concurrent calls from several processes settle on one workflow, which runs once', async () => {
    const key = `race-${kind}`;
    const label = `e-${kind}`;
    const goFile = join(scratchDir('debounce'), 'go');
    const env = { TEST_DB_URL: databaseUrl(), GO_FILE: goFile, KEY: key, LABEL: label, CALLS: '15', PERIOD_MS: '10000' };
    const workers = ['w1', 'w2', 'w3'].map((name) => startWorker(workerScript, { ...env, WORKER: name }));
    try {
      await Promise.all(workers.map((w) => w.waitForLine('ready', 60_000)));
      writeFileSync(goFile, '');
      // This process debounces too, through the engine, while the workers do.
      const local: Promise<WorkflowHandle<string>>[] = [];
      for (let i = 0; i < 15; i++) local.push(debouncer.debounce(key, 10_000, label, `local-${i}`));
      const localIDs = (await Promise.all(local)).map((h) => h.workflowID);
      await Promise.all(workers.map((w) => w.waitForLine('done', 60_000)));
      const workerIDs = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('id ')).map((l) => l.slice(3)));
      assert.equal(workerIDs.length, 45);
      const ids = new Set([...localIDs, ...workerIDs]);
      assert.equal(ids.size, 1, `every call extended one workflow, got ${[...ids].join(', ')}`);
      const result = await DBOS.retrieveWorkflow<string>([...ids][0]!).getResult();
      assert.match(result, new RegExp(`^${label}:(local|w[123])-\\d+$`));
      assert.deepEqual(runsOf(label), [result], 'it ran once, with the arguments of one of the calls');
    } finally {
      await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    }
  });

  it('from workflow code the call is the step DBOS.debounceDelayedWorkflow, and a replay does not debounce again', async () => {
    const key = `step-${kind}`;
    const parent = await DBOS.startWorkflow(debounceFromWorkflow)(key, `wf-${kind}`);
    const debouncedID = await parent.getResult();
    const steps = await DBOS.listWorkflowSteps(parent.workflowID);
    assert.deepEqual(
      steps?.map((s) => [s.functionID, s.name, s.output]),
      [[0, 'DBOS.debounceDelayedWorkflow', debouncedID]],
    );
    const waiting = await row(debouncedID);
    assert.equal(waiting.status, 'DELAYED');

    // A fork past the step replays it: same workflow, and its start is not moved.
    const replay = await DBOS.forkWorkflow<string>(parent.workflowID, 1);
    assert.equal(await replay.getResult(), debouncedID);
    assert.equal(Number((await row(debouncedID)).delay_until_epoch_ms), Number(waiting.delay_until_epoch_ms));

    // A fork from the step runs it again: the same key extends the same waiting workflow.
    const rerun = await DBOS.forkWorkflow<string>(parent.workflowID, 0);
    assert.equal(await rerun.getResult(), debouncedID);
    assert.ok(Number((await row(debouncedID)).delay_until_epoch_ms) > Number(waiting.delay_until_epoch_ms), 'this one moved it');

    await DBOS.cancelWorkflow(debouncedID);
    assert.deepEqual(runsOf(`wf-${kind}`), []);
  });

  it('a key held by a workflow no debouncer started, or by another application, is not extended', async () => {
    const key = `held-${kind}`;
    const plain = await client.enqueue(
      { queueName: '_dbos_internal_queue', workflowName: 'collect', deduplicationID: `.collect-${key}`, delaySeconds: 60 },
      'f',
      1,
    );
    await assert.rejects(debouncer.debounce(key, 1000, `f-${kind}`, 2), DBOSQueueDuplicatedError);
    await DBOS.cancelWorkflow(plain.workflowID);

    const ours = await debouncer.debounce(key, 60_000, `f-${kind}`, 3);
    const elsewhere = new Debouncer({ workflow: collect, applicationName: 'another-app' });
    await assert.rejects(elsewhere.debounce(key, 60_000, `f-${kind}`, 4), DBOSQueueDuplicatedError);
    assert.deepEqual(await ours.getWorkflowInputs(), [`f-${kind}`, 3], 'the arguments are untouched');
    assert.equal((await row(ours.workflowID)).application_name, TEST_APP);
    await DBOS.cancelWorkflow(ours.workflowID);
  });

  it('a client debounces a workflow by name, in the format it asks for', async () => {
    const key = `client-${kind}`;
    const portable = new DebouncerClient(client, { workflowName: 'collect', serializationType: 'portable' });
    const first = await portable.debounce(key, 1000, `g-${kind}`, 1);
    const second = await portable.debounce(key, 1000, `g-${kind}`, 2);
    assert.equal(second.workflowID, first.workflowID);
    const waiting = await row(first.workflowID);
    assert.equal(waiting.serialization, 'portable_json');
    assert.equal(waiting.application_name, null, 'a client that names no application writes an unclaimed row');
    assert.equal(await second.getResult(), `g-${kind}:2`);
    assert.deepEqual(runsOf(`g-${kind}`), [`g-${kind}:2`]);
  });

  it('rejects a negative period and a function that is not a registered workflow', async () => {
    await assert.rejects(debouncer.debounce('bad', -1, `h-${kind}`, 1), DBOSInvalidWorkflowInputError);
    const unregistered = new Debouncer({ workflow: async (n: number) => n });
    await assert.rejects(unregistered.debounce('bad', 10, 1), DBOSNotRegisteredError);
  });
});
