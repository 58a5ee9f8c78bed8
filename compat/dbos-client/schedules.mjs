// Run by test/scheduler/dbos-compat.test.ts: DBOS's official DBOSClient (@dbos-inc/dbos-sdk 5.3.0) reads a schedule a
// Transact application created, creates one of its own and triggers one, and prints what it saw as one JSON line.

import { DBOSClient } from '@dbos-inc/dbos-sdk';

const client = await DBOSClient.create({ systemDatabaseUrl: process.env.TEST_DB_URL, applicationName: process.env.APP_NAME });
const out = {};
try {
  const ours = await client.getSchedule('made-by-transact');
  out.read = ours && {
    workflowName: ours.workflowName,
    workflowClassName: ours.workflowClassName,
    schedule: ours.schedule,
    status: ours.status,
    context: ours.context,
    cronTimezone: ours.cronTimezone,
  };
  await client.createSchedule({
    scheduleName: 'made-by-dbos',
    workflowName: 'report',
    schedule: '* * * * * *',
    context: { from: 'dbos', at: new Date('2026-01-01T00:00:00Z') },
  });
  const handle = await client.triggerSchedule('made-by-transact');
  out.triggered = handle.workflowID.startsWith('sched-made-by-transact-trigger-');
} finally {
  await client.destroy();
}
console.log(JSON.stringify(out));
