// Run by test/compat/dbos-client.test.ts: DBOS's official DBOSClient (@dbos-inc/dbos-sdk 5.3.0) drives a system
// database that a Transact application runs on, and prints what it saw as one JSON line.

import { DBOSClient } from '@dbos-inc/dbos-sdk';

const client = await DBOSClient.create({ systemDatabaseUrl: process.env.TEST_DB_URL });
const out = {};
try {
  // Enqueue a workflow that only the Transact application knows how to run, and wait for its result.
  const handle = await client.enqueue(
    { workflowName: 'addNumbers', queueName: '_dbos_internal_queue', workflowID: 'official-enqueue' },
    20,
    22,
  );
  const result = await handle.getResult();
  out.enqueued = { sum: result.sum, whenIsDate: result.when instanceof Date, when: result.when.toISOString() };

  // Read a workflow Transact started and ran itself.
  const native = await client.retrieveWorkflow('transact-native').getResult();
  out.native = { sum: native.sum, whenIsDate: native.when instanceof Date };
  const status = await client.getWorkflow('transact-native');
  out.status = { status: status.status, workflowName: status.workflowName, input: status.input };
  const steps = await client.listWorkflowSteps('transact-native');
  out.steps = steps.map((s) => ({ functionID: s.functionID, name: s.name, output: s.output }));
  out.listed = (await client.listWorkflows({ workflowIDs: ['transact-native', 'official-enqueue'] })).map((w) => w.workflowID).sort();

  // A workflow that failed in Transact fails the same way here.
  try {
    await client.retrieveWorkflow('transact-failing').getResult();
    out.failing = 'did not throw';
  } catch (err) {
    out.failing = { name: err.name, message: err.message };
  }
} finally {
  await client.destroy();
}
console.log(JSON.stringify(out));
