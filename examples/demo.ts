// Transact's demo: an order pipeline of five steps, each taking about a second, checkpointed in an embedded database
// (a file under .transact/, no server needed).
//
//   npm start        run it; press Ctrl-C (or kill the process) in the middle
//   npm start        again: it resumes at the step after the last completed one
//
// Set DBOS_SYSTEM_DATABASE_URL=postgres://… to run the same demo on PostgreSQL.

import { existsSync } from 'node:fs';
import { DBOS, DBOSClient } from '../src/index.js';
import { OrderPipeline, say } from './order-pipeline.js';

// Before launching, look for an order an earlier run left unfinished (launching resumes it at once, so look first).
const systemDatabaseUrl = process.env.DBOS_SYSTEM_DATABASE_URL ?? 'sqlite:.transact/transact-demo.sqlite';
const unfinished = await findUnfinishedOrder(systemDatabaseUrl);

DBOS.setConfig({ name: 'transact-demo', systemDatabaseUrl, logLevel: 'warn' });
await DBOS.launch();

let orderID: string;
if (unfinished) {
  orderID = unfinished;
} else {
  orderID = `order-${Date.now()}`;
  say(`Processing ${orderID}. Press Ctrl-C during a step, then run "npm start" again to see it resume.`);
  await DBOS.startWorkflow(OrderPipeline, { workflowID: orderID }).processOrder(orderID);
}

const results = await DBOS.retrieveWorkflow<string[]>(orderID).getResult();
say(`Order ${orderID} complete: ${results.join(', ')}.`);
say('Each step ran exactly once, however many times the program was interrupted. Run "npm start" for a new order.');
await DBOS.shutdown();

/** Reads the system database the way any other process can, through a DBOSClient. */
async function findUnfinishedOrder(url: string): Promise<string | undefined> {
  if (url.startsWith('sqlite:') && !existsSync(url.slice('sqlite:'.length))) return undefined; // first run
  let client: DBOSClient;
  try {
    client = await DBOSClient.create({ systemDatabaseUrl: url });
  } catch {
    return undefined; // no system database yet
  }
  try {
    const [order] = await client.listWorkflows({ workflowName: 'processOrder', status: ['PENDING', 'ENQUEUED'] });
    if (!order) return undefined;
    const done = (await client.listWorkflowSteps(order.workflowID)) ?? [];
    say(`Resuming ${order.workflowID}: an earlier run was interrupted after ${done.length} of 5 steps.`);
    for (const step of done) say(`  [${step.functionID + 1}/5] ${step.name}: already done (${String(step.output)}), not run again`);
    say(`  continuing at step ${done.length + 1}:`);
    return order.workflowID;
  } finally {
    await client.destroy();
  }
}
