// A workflow started on a queue this process has not declared (DBOS 5.3 accepts it): it is stored ENQUEUED and waits
// until a process of the application declares the queue, which then runs it; nothing is lost. The first such start
// of each queue name is warned about once. A queue registered in the database by another process is declared.

import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { DBOS, DBOSClient, WorkflowQueue, type Logger } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn, TEST_APP } from '../support/launch.js';


const runs: string[] = [];
const job = DBOS.registerWorkflow(
  async (label: string) => {
    runs.push(label);
    return `done ${label}`;
  },
  { name: 'undeclaredQueueJob' },
);

function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (message: unknown) => void warnings.push(String(message)),
    error() {},
  };
}

after(dropFreshDatabases);
afterEach(() => DBOS.shutdown());

describeEachBackend('enqueueing to a queue nobody declared', (kind) => {
  it('stores the workflow ENQUEUED, warns once per queue name, and runs it once the queue is declared', async () => {
    const logger = capturingLogger();
    await launchOn(freshDatabase(kind, 'undeclared'), { logger });
    const first = await DBOS.startWorkflow(job, { queueName: `later-${kind}` })('first');
    const second = await DBOS.enqueueWorkflowWithOptions({ queueName: `later-${kind}`, workflowName: 'undeclaredQueueJob' }, 'second');
    const other = await DBOS.startWorkflow(job, { queueName: `elsewhere-${kind}` })('other');
    for (const handle of [first, second, other]) assert.equal((await handle.getStatus())?.status, 'ENQUEUED');
    const about = (name: string) => logger.warnings.filter((w) => w.includes(`Queue ${name} `));
    assert.equal(about(`later-${kind}`).length, 1, logger.warnings.join('\n'));
    assert.equal(about(`elsewhere-${kind}`).length, 1, logger.warnings.join('\n'));
    assert.match(about(`later-${kind}`)[0]!, /wait ENQUEUED until a process of this application declares it/);

    // Declared now (in code, after launch): what waited runs, each once.
    new WorkflowQueue(`later-${kind}`);
    assert.equal(await first.getResult(), 'done first');
    assert.equal(await second.getResult(), 'done second');
    assert.deepEqual(runs.filter((r) => r === 'first' || r === 'second').sort(), ['first', 'second']);
    assert.equal((await other.getStatus())?.status, 'ENQUEUED', 'the other queue still waits');
    runs.length = 0;
  });

  it('counts a queue another process registered in the database as declared (no warning)', async () => {
    const url = freshDatabase(kind, 'registered_elsewhere');
    const logger = capturingLogger();
    await launchOn(url, { logger });
    const client = await DBOSClient.create({ systemDatabaseUrl: url, applicationName: TEST_APP });
    try {
      await client.registerQueue(`shared-${kind}`, {});
    } finally {
      await client.destroy();
    }
    const handle = await DBOS.startWorkflow(job, { queueName: `shared-${kind}` })('shared');
    assert.equal(await handle.getResult(), 'done shared');
    assert.deepEqual(logger.warnings.filter((w) => w.includes(`shared-${kind}`)), []);
  });
});


