// Run by test/compat/mixed-fleet.test.ts: DBOS's official DBOSClient (@dbos-inc/dbos-sdk 5.3.0) enqueues the
// mixed fleet's workflow by name, as an operator's tool would, into the system database that DBOS and Transact
// processes share.
//
// Environment: TEST_DB_URL (the system database), FLEET_QUEUE, FLEET_WORKFLOW (the workflow's name), FLEET_ENQUEUE
// `<prefix>:<first seed>:<count>` (IDs `<prefix><seed, 5 digits>`, the seed as the only argument). Prints
// `enqueued <count>` when every enqueue has returned.

import { DBOSClient } from '@dbos-inc/dbos-sdk';

const client = await DBOSClient.create({ systemDatabaseUrl: process.env.TEST_DB_URL, systemDatabasePoolSize: 2 });
try {
  const [prefix, first, count] = process.env.FLEET_ENQUEUE.split(':');
  for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
    await client.enqueue(
      { workflowName: process.env.FLEET_WORKFLOW, queueName: process.env.FLEET_QUEUE, workflowID: `${prefix}${String(seed).padStart(5, '0')}` },
      seed,
    );
  }
  console.log(`enqueued ${count}`);
} finally {
  await client.destroy();
}
