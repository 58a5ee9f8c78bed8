// A DBOS 5.3.0 application, written against @dbos-inc/dbos-sdk as its users write them (legacy decorators, a queue,
// messages and events, management calls, the client, errors read through the `Error` namespace). It prints what it
// saw, one `<key> <json>` line each. test/compat/dbos-app.test.ts runs it on DBOS, then a copy whose only change is
// the import line, on Transact, and compares the lines. CommonJS, as a DBOS project compiled by tsc usually is.

import { DBOS, DBOSClient, Error as DBOSErrors } from '@dbos-inc/dbos-sdk';

const systemDatabaseUrl = process.env.APP_SYSTEM_DB!;
let chargeAttempts = 0;

function say(key: string, value: unknown): void {
  process.stdout.write(`${key} ${JSON.stringify(value)}\n`);
}

class Shop {
  @DBOS.step()
  static async reserve(item: string): Promise<string> {
    return `reserved:${item}`;
  }

  @DBOS.step({ retriesAllowed: true, maxAttempts: 2, intervalSeconds: 0.01 })
  static async chargeDeclined(): Promise<void> {
    chargeAttempts++;
    throw new Error('card declined');
  }

  @DBOS.workflow()
  static async checkout(orderID: string, items: string[]): Promise<string[]> {
    const reserved: string[] = [];
    for (const item of items) reserved.push(await Shop.reserve(item));
    await DBOS.setEvent('status', 'reserved');
    const payment = await DBOS.recv<string>('payment', 30);
    await DBOS.setEvent('status', payment === null ? 'unpaid' : `paid:${payment}`);
    return [orderID, ...reserved, String(payment)];
  }

  @DBOS.workflow()
  static async declined(): Promise<string> {
    await Shop.chargeDeclined();
    return 'charged';
  }

  @DBOS.workflow()
  static async double(n: number): Promise<number> {
    return (await Shop.reserve(String(n))).length + n * 2;
  }
}

async function main(): Promise<void> {
DBOS.setConfig({ name: 'dbos-compat-app', systemDatabaseUrl, applicationVersion: 'compat-v1' });
await DBOS.launch();
await DBOS.registerQueue('app-orders', { concurrency: 2 });
const client = await DBOSClient.create({ systemDatabaseUrl });
try {
  // Started from the app, paid through DBOS.send, its events read back.
  const handle = await DBOS.startWorkflow(Shop, { workflowID: 'order-1' }).checkout('order-1', ['apple', 'pear']);
  say('event-before', await DBOS.getEvent('order-1', 'status', 30));
  await DBOS.send('order-1', 'visa', 'payment');
  say('result', await handle.getResult());
  say('event-after', await DBOS.getEvent('order-1', 'status', 0));

  // Enqueued by the client, paid by the client, read by the client.
  const queued = await client.enqueue<typeof Shop.checkout>(
    { queueName: 'app-orders', workflowName: 'checkout', workflowClassName: 'Shop', workflowID: 'order-2' },
    'order-2',
    ['fig'],
  );
  say('client-event', await client.getEvent('order-2', 'status', 30));
  await client.send('order-2', 'cash', 'payment');
  say('client-result', await queued.getResult());

  // Management: status, steps, listing, fork.
  const status = await DBOS.getWorkflowStatus('order-1');
  say('status', { status: status?.status, name: status?.workflowName, className: status?.workflowClassName, queue: status?.queueName ?? null });
  const steps = await DBOS.listWorkflowSteps('order-1');
  say('steps', steps?.map((s) => [s.functionID, s.name]));
  const listed = await DBOS.listWorkflows({ workflowName: 'checkout', sortDesc: false });
  say('listed', listed.map((w) => [w.workflowID, w.status]));
  const fromClient = await client.listWorkflows({ queueName: 'app-orders' });
  say('client-listed', fromClient.map((w) => w.workflowID));
  // Forking a workflow that does not exist: DBOS throws a plain Error, Transact DBOSNonExistentWorkflowError.
  const forked = await DBOS.forkWorkflow<typeof Shop.double>('double-1', 0, { newWorkflowID: 'double-1-fork' }).then(
    () => 'forked',
    () => 'threw',
  );
  say('fork-missing', forked);
  say('double', await DBOS.startWorkflow(Shop, { workflowID: 'double-1' }).double(4).then((h) => h.getResult()));
  const fork = await DBOS.forkWorkflow<typeof Shop.double>('double-1', 1, { newWorkflowID: 'double-1-fork' });
  say('fork', { id: fork.workflowID, result: await fork.getResult() });
  say('fork-steps', (await DBOS.listWorkflowSteps('double-1-fork'))?.map((s) => [s.functionID, s.name]));

  // Cancel and resume a workflow waiting for a message.
  const waiting = await DBOS.startWorkflow(Shop, { workflowID: 'order-3' }).checkout('order-3', []);
  await DBOS.getEvent('order-3', 'status', 30);
  await DBOS.cancelWorkflow('order-3');
  // DBOS rejects the handle of a run it cancelled in this process with DBOSWorkflowCancelledError, Transact (as any
  // later wait) with DBOSAwaitedWorkflowCancelledError: code that checks either reads it as cancelled.
  const cancelled = await waiting
    .getResult()
    .catch((e: Error) =>
      e instanceof DBOSErrors.DBOSAwaitedWorkflowCancelledError || e instanceof DBOSErrors.DBOSWorkflowCancelledError ? 'cancelled' : e.name,
    );
  const retrievedCancelled = await DBOS.retrieveWorkflow('order-3')
    .getResult()
    .catch((e: Error) => (e instanceof DBOSErrors.DBOSAwaitedWorkflowCancelledError ? e.message : e.name));
  say('cancelled', [cancelled, retrievedCancelled, (await DBOS.getWorkflowStatus('order-3'))?.status]);
  const resumed = await DBOS.resumeWorkflow<typeof Shop.checkout>('order-3');
  await DBOS.send('order-3', 'amex', 'payment');
  say('resumed', await resumed.getResult());

  // Errors, read through the Error namespace.
  const declined = await DBOS.startWorkflow(Shop, { workflowID: 'declined-1' })
    .declined()
    .then((h) => h.getResult())
    .catch((e: Error) => (e instanceof DBOSErrors.DBOSMaxStepRetriesError ? 'max-step-retries' : e.name));
  say('declined', [declined, chargeAttempts, (await DBOS.getWorkflowStatus('declined-1'))?.status]);
  const noSuch = await DBOS.send('no-such-workflow', 'x', 'payment').catch((e: Error) =>
    e instanceof DBOSErrors.DBOSNonExistentWorkflowError ? 'non-existent' : e.name,
  );
  say('send-missing', noSuch ?? 'sent');
  await client.enqueue({ queueName: 'app-orders', workflowName: 'double', workflowClassName: 'Shop', workflowID: 'dedup-1', deduplicationID: 'once' }, 1);
  const duplicate = await client
    .enqueue({ queueName: 'app-orders', workflowName: 'double', workflowClassName: 'Shop', workflowID: 'dedup-2', deduplicationID: 'once' }, 2)
    .then(() => 'enqueued twice')
    .catch((e: Error) => (e instanceof DBOSErrors.DBOSQueueDuplicatedError ? 'queue-duplicated' : e.name));
  say('dedup', duplicate);
  say('dedup-result', await DBOS.retrieveWorkflow('dedup-1').getResult());
  say('unknown-status', await DBOS.getWorkflowStatus('never-started'));
  say('error-code', DBOSErrors.getDBOSErrorCode?.(new DBOSErrors.DBOSNonExistentWorkflowError('x')) ?? null);
} finally {
  await client.destroy();
  await DBOS.shutdown();
}
say('done', true);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
