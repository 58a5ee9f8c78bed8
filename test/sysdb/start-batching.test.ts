// Starts and enqueues that arrive while one is in flight are written together (src/sysdb/workflows.ts, insertWorkflow
// through a group committer). Batching must not change any caller's answer: each learns that it created its row,
// that it met an existing row of the same ID, that its queue's deduplication ID is taken, or that its parent no longer
// owns its run, exactly as a lone start would. And a batch holding one start the database refuses outright must not
// fail the others: it is retried item by item. These tests call the system database directly, on both backends.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { DBOSQueueDuplicatedError } from '../../src/errors.js';
import type { SqlDriver } from '../../src/sysdb/driver.js';
import { openSystemDatabase } from '../../src/sysdb/open.js';
import { getStep } from '../../src/sysdb/steps.js';
import { getWorkflow, insertWorkflow, type InsertResult, type NewWorkflow, type ParentStep } from '../../src/sysdb/workflows.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';

after(dropFreshDatabases);

function newRow(workflowID: string, over: Partial<NewWorkflow> = {}): NewWorkflow {
  return {
    workflowID,
    status: 'PENDING',
    name: 'wf',
    className: null,
    configName: null,
    queueName: null,
    executorID: 'test',
    applicationVersion: 'v1',
    applicationID: null,
    applicationName: 'app',
    ownerXid: randomUUID(),
    creatorXid: randomUUID(),
    timeoutMS: null,
    deadlineEpochMS: null,
    deduplicationID: null,
    priority: 0,
    queuePartitionKey: null,
    parentWorkflowID: null,
    serialization: 'js_superjson',
    delayUntilEpochMS: null,
    authenticatedUser: null,
    authenticatedRoles: null,
    assumedRole: null,
    attributes: null,
    inputs: `{"json":["${workflowID}"]}`,
    ...over,
  };
}

function queued(workflowID: string, deduplicationID: string): NewWorkflow {
  return newRow(workflowID, { status: 'ENQUEUED', queueName: 'q', ownerXid: null, deduplicationID });
}

type Answer = { created: boolean; parentOwned: boolean; existingID?: string } | 'duplicate' | { error: unknown };

async function answer(p: Promise<InsertResult>): Promise<Answer> {
  try {
    const r = await p;
    return { created: r.created, parentOwned: r.parentOwned, existingID: r.existing?.workflowID };
  } catch (err) {
    return err instanceof DBOSQueueDuplicatedError ? 'duplicate' : { error: err };
  }
}

/** Statements of the batched kind sent while `fn` runs: proof that the starts did share statements. */
async function batchedStatements<T>(db: SqlDriver, fn: () => Promise<T>): Promise<{ result: T; batched: number; lone: number }> {
  const name = db.dialect === 'postgres' ? 'transact_insert_workflows_batch' : 'transact_insert_workflow_or_skip';
  const lone = 'transact_insert_workflow';
  const b0 = db.stats.byStatement.get(name) ?? 0;
  const l0 = db.stats.byStatement.get(lone) ?? 0;
  const result = await fn();
  return { result, batched: (db.stats.byStatement.get(name) ?? 0) - b0, lone: (db.stats.byStatement.get(lone) ?? 0) - l0 };
}

describeEachBackend('group-committed starts', (kind) => {
  let db: SqlDriver;
  before(async () => {
    const url = freshDatabase(kind, 'startbatch');
    const location = kind === 'postgres' ? { kind, url, schema: 'dbos' } : { kind, file: url.slice('sqlite:'.length) };
    db = await openSystemDatabase(location as Parameters<typeof openSystemDatabase>[0], { migrate: true, poolSize: 4 });
  });
  after(() => db.close());

  it('tells each concurrent caller what a lone start would: created, attached or duplicate', async () => {
    const tag = randomUUID().slice(0, 8);
    // What is there before: a workflow, and an active queued workflow holding a deduplication ID.
    assert.equal((await insertWorkflow(db, newRow(`${tag}-old`))).created, true);
    assert.equal((await insertWorkflow(db, queued(`${tag}-holder`, `${tag}-taken`))).created, true);

    const fresh = Array.from({ length: 40 }, (_, i) => newRow(`${tag}-fresh-${i}`));
    const sameID = Array.from({ length: 5 }, () => newRow(`${tag}-shared`)); // one new ID, five callers
    const old = Array.from({ length: 5 }, () => newRow(`${tag}-old`));
    const takenDedup = Array.from({ length: 5 }, (_, i) => queued(`${tag}-taken-${i}`, `${tag}-taken`));
    const newDedup = Array.from({ length: 4 }, (_, i) => queued(`${tag}-new-${i}`, `${tag}-new`)); // one new dedup ID, four callers
    const all = [...fresh, ...sameID, ...old, ...takenDedup, ...newDedup];
    // Shuffle deterministically so each kind lands among the others, in the same batch.
    const order = all.map((w, i) => ({ w, k: (i * 7919) % all.length })).sort((a, b) => a.k - b.k).map((x) => x.w);

    const { result: answers, batched } = await batchedStatements(db, () => Promise.all(order.map((w) => answer(insertWorkflow(db, w)))));
    assert.ok(batched >= 1, 'the concurrent starts shared a statement');
    const of = (w: NewWorkflow) => answers[order.indexOf(w)]!;

    for (const w of fresh) assert.deepEqual(of(w), { created: true, parentOwned: true, existingID: w.workflowID });
    assert.equal(sameID.filter((w) => (of(w) as { created: boolean }).created).length, 1, 'exactly one caller created the shared ID');
    for (const w of sameID) assert.deepEqual({ ...(of(w) as object), created: undefined }, { created: undefined, parentOwned: true, existingID: `${tag}-shared` });
    for (const w of old) assert.deepEqual(of(w), { created: false, parentOwned: true, existingID: `${tag}-old` });
    for (const w of takenDedup) assert.equal(of(w), 'duplicate');
    const newDedupAnswers = newDedup.map(of);
    assert.equal(newDedupAnswers.filter((a) => typeof a === 'object' && 'created' in a && a.created).length, 1);
    assert.equal(newDedupAnswers.filter((a) => a === 'duplicate').length, 3);

    // What the database holds agrees: the creator's token and input on each created row, nothing for the refused.
    const creator = sameID.find((w) => (of(w) as { created: boolean }).created)!;
    const shared = await getWorkflow(db, `${tag}-shared`);
    assert.equal(shared?.creatorXid, creator.creatorXid);
    assert.equal(shared?.inputs, creator.inputs);
    for (const w of fresh) assert.equal((await getWorkflow(db, w.workflowID))?.inputs, w.inputs);
    for (const w of takenDedup) assert.equal(await getWorkflow(db, w.workflowID), undefined);
  });

  it('writes concurrent child starts with their parent steps, and refuses those whose parent lost its run', async () => {
    const tag = randomUUID().slice(0, 8);
    const parent = newRow(`${tag}-parent`);
    await insertWorkflow(db, parent);
    await insertWorkflow(db, newRow(`${tag}-taken`)); // a child ID in use, for 'reject'
    const step = (functionID: number, over: Partial<ParentStep> = {}): ParentStep => ({
      workflowID: parent.workflowID,
      ownerXid: parent.ownerXid!,
      functionID,
      functionName: 'wf',
      startedAtEpochMs: Date.now(),
      ...over,
    });
    const child = (id: string) => newRow(id, { parentWorkflowID: parent.workflowID });
    const starts: [NewWorkflow, ParentStep][] = [
      ...Array.from({ length: 20 }, (_, i) => [child(`${tag}-c${i}`), step(i)] as [NewWorkflow, ParentStep]),
      [child(`${tag}-lost`), step(100, { ownerXid: 'not-the-owner' })],
      [child(`${tag}-taken`), step(101, { rejectExisting: true })],
      [child(`${tag}-taken`), step(102)],
    ];
    const { result: answers, batched } = await batchedStatements(db, () =>
      Promise.all(starts.map(([w, p]) => answer(insertWorkflow(db, w, p)))),
    );
    assert.ok(batched >= 1, 'the concurrent starts shared a statement');
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(answers[i], { created: true, parentOwned: true, existingID: `${tag}-c${i}` });
      assert.equal((await getStep(db, parent.workflowID, i))?.childWorkflowID, `${tag}-c${i}`);
    }
    assert.deepEqual(answers[20], { created: false, parentOwned: false, existingID: undefined });
    assert.equal(await getWorkflow(db, `${tag}-lost`), undefined);
    assert.equal(await getStep(db, parent.workflowID, 100), undefined);
    // An ID in use: 'reject' records nothing (the caller records the refusal); otherwise the parent adopts the child.
    assert.deepEqual(answers[21], { created: false, parentOwned: true, existingID: `${tag}-taken` });
    assert.equal(await getStep(db, parent.workflowID, 101), undefined);
    assert.deepEqual(answers[22], { created: false, parentOwned: true, existingID: `${tag}-taken` });
    assert.equal((await getStep(db, parent.workflowID, 102))?.childWorkflowID, `${tag}-taken`);
  });

  it('retries a failed batch item by item, so one start the database refuses fails alone', async () => {
    const tag = randomUUID().slice(0, 8);
    const good = Array.from({ length: 30 }, (_, i) => newRow(`${tag}-good-${i}`));
    // NOT NULL on priority: no ON CONFLICT clause skips it, so the whole batch statement fails.
    const bad = newRow(`${tag}-bad`, { priority: null as unknown as number });
    const all = [...good.slice(0, 15), bad, ...good.slice(15)];
    const { result: answers, batched, lone } = await batchedStatements(db, () => Promise.all(all.map((w) => answer(insertWorkflow(db, w)))));
    assert.ok(batched >= 1, 'the starts were sent as a batch first');
    assert.ok(lone >= 2, 'then item by item');
    const failed = answers[15] as { error: unknown };
    assert.ok(failed && typeof failed === 'object' && 'error' in failed, 'the bad start failed');
    assert.ok(!(failed.error instanceof DBOSQueueDuplicatedError));
    for (const [i, w] of all.entries()) {
      if (w === bad) continue;
      assert.deepEqual(answers[i], { created: true, parentOwned: true, existingID: w.workflowID });
      assert.equal((await getWorkflow(db, w.workflowID))?.inputs, w.inputs);
    }
    assert.equal(await getWorkflow(db, bad.workflowID), undefined);
  });

  it('sends a lone start alone, with the single-start statement', async () => {
    const { result, batched, lone } = await batchedStatements(db, () => insertWorkflow(db, newRow(`lone-${randomUUID()}`)));
    assert.equal(result.created, true);
    assert.equal(batched, 0);
    assert.equal(lone, 1);
  });
});
