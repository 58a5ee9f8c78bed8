// Workflows that are instance methods of a ConfiguredInstance: each run has the instance as `this`, the row records
// the instance's name in config_name, and recovery and queue dispatch find the same instance again by
// (class_name, config_name).

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  ConfiguredInstance,
  DBOS,
  DBOSClient,
  DBOSConflictingRegistrationError,
  DBOSNotRegisteredError,
  WorkflowQueue,
} from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { launchOn } from '../support/launch.js';
import { queryRows } from '../support/rows.js';
import { waitUntil } from '../support/wait.js';

const queue = new WorkflowQueue('instance-queue');

/** What ran, in order, across instances: initialize() must come before any workflow of a launch. */
const events: string[] = [];

class Greeter extends ConfiguredInstance {
  initialized = 0;
  shouted: string[] = [];

  constructor(
    name: string,
    readonly greeting: string,
  ) {
    super(name);
  }

  override async initialize(): Promise<void> {
    this.initialized += 1;
    events.push(`init ${this.name}`);
  }

  @DBOS.step()
  async shout(text: string): Promise<string> {
    this.shouted.push(text);
    return `${text}!`;
  }

  @DBOS.workflow()
  async greet(who: string): Promise<string> {
    events.push(`greet ${this.name}`);
    return this.shout(`${this.greeting}, ${who}`);
  }

  @DBOS.workflow()
  async greetTwice(who: string): Promise<string[]> {
    return [await this.greet(who), await this.greet(`${who} again`)];
  }

  @DBOS.workflow()
  async awaitWord(): Promise<string> {
    await this.shout(`${this.name} waiting in ${DBOS.workflowID}`);
    const word = await DBOS.recv<string>('word', 60);
    return `${this.greeting} ${word}`;
  }
}

@DBOS.className('RenamedGreeter')
class Minified extends ConfiguredInstance {
  @DBOS.workflow()
  async whoAmI(): Promise<string> {
    return `${this.name}`;
  }
}

class NotConfigured {
  @DBOS.workflow()
  async run(): Promise<number> {
    return 1;
  }
}

const english = new Greeter('english', 'Hello');
const french = new Greeter('french', 'Bonjour');
const renamed = new Minified('m1');

after(dropFreshDatabases);

describeEachBackend('workflows on configured instances', (kind) => {
  let url = '';
  const executorID = `instances-${kind}`;
  before(async () => {
    url = freshDatabase(kind, 'instances');
    events.length = 0;
    await launchOn(url, { executorID });
  });
  after(() => DBOS.shutdown());

  async function row(workflowID: string): Promise<Record<string, unknown>> {
    const rows = await queryRows(url, 'SELECT class_name, config_name, queue_name, status FROM dbos.workflow_status WHERE workflow_uuid = $1', [
      workflowID,
    ]);
    assert.equal(rows.length, 1);
    return rows[0]!;
  }

  it('calls initialize() on every instance at launch', () => {
    assert.deepEqual(events.slice(0, 2), ['init english', 'init french']);
    assert.ok(english.initialized >= 1 && french.initialized >= 1);
  });

  it('runs one workflow method with each instance as `this`', async () => {
    const [en, fr] = await Promise.all([english.greet('Ada'), french.greet('Ada')]);
    assert.equal(en, 'Hello, Ada!');
    assert.equal(fr, 'Bonjour, Ada!');
    assert.ok(english.shouted.includes('Hello, Ada'));
    assert.ok(!english.shouted.includes('Bonjour, Ada'));
    assert.ok(french.shouted.includes('Bonjour, Ada'));
  });

  it('records the class name and the instance name in the row', async () => {
    const handle = await DBOS.startWorkflow(french, { workflowID: `fr-${kind}` }).greet('Grace');
    assert.equal(handle.workflowID, `fr-${kind}`);
    assert.equal(await handle.getResult(), 'Bonjour, Grace!');
    assert.deepEqual(await row(`fr-${kind}`), { class_name: 'Greeter', config_name: 'french', queue_name: null, status: 'SUCCESS' });
    const status = await handle.getStatus();
    assert.equal(status?.workflowConfigName, 'french');
    assert.equal(status?.workflowClassName, 'Greeter');
  });

  it('records the name given with DBOS.className', async () => {
    const handle = await DBOS.startWorkflow(renamed, { workflowID: `renamed-${kind}` }).whoAmI();
    assert.equal(await handle.getResult(), 'm1');
    assert.deepEqual(await row(`renamed-${kind}`), { class_name: 'RenamedGreeter', config_name: 'm1', queue_name: null, status: 'SUCCESS' });
  });

  it('starts child workflows on the same instance', async () => {
    const handle = await DBOS.startWorkflow(english, { workflowID: `parent-${kind}` }).greetTwice('Alan');
    assert.deepEqual(await handle.getResult(), ['Hello, Alan!', 'Hello, Alan again!']);
    const children = await queryRows(
      url,
      'SELECT class_name, config_name FROM dbos.workflow_status WHERE parent_workflow_id = $1 ORDER BY workflow_uuid',
      [`parent-${kind}`],
    );
    assert.deepEqual(children, [
      { class_name: 'Greeter', config_name: 'english' },
      { class_name: 'Greeter', config_name: 'english' },
    ]);
  });

  it('refuses to reuse a workflow ID for another instance', async () => {
    await assert.rejects(DBOS.startWorkflow(english, { workflowID: `fr-${kind}` }).greet('Grace'), /instance/);
  });

  it('runs a queued instance workflow on its instance', async () => {
    const handle = await DBOS.startWorkflow(french, { workflowID: `queued-${kind}`, queueName: queue.name }).greet('Edsger');
    assert.equal(await handle.getResult(), 'Bonjour, Edsger!');
    assert.deepEqual(await row(`queued-${kind}`), {
      class_name: 'Greeter',
      config_name: 'french',
      queue_name: 'instance-queue',
      status: 'SUCCESS',
    });
  });

  it('records DBOSNotRegisteredError for a queued workflow of an unknown instance', async () => {
    const client = await DBOSClient.create({ systemDatabaseUrl: url });
    try {
      const handle = await client.enqueue({
        queueName: queue.name,
        workflowName: 'greet',
        workflowClassName: 'Greeter',
        workflowConfigName: 'klingon',
        workflowID: `klingon-${kind}`,
      }, 'Worf');
      await assert.rejects(handle.getResult(), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.name, 'DBOSNotRegisteredError');
        assert.match(err.message, /klingon/);
        return true;
      });
      assert.equal((await row(`klingon-${kind}`)).status, 'ERROR');
    } finally {
      await client.destroy();
    }
  });

  it('refuses a second instance of a class with the same name', () => {
    assert.throws(() => new Greeter('english', 'Hi'), DBOSConflictingRegistrationError);
    // The first one is untouched.
    assert.equal(english.greeting, 'Hello');
  });

  it('refuses an instance workflow on a class that is not a ConfiguredInstance', async () => {
    await assert.rejects(new NotConfigured().run(), (err: unknown) => {
      assert.ok(err instanceof DBOSNotRegisteredError);
      assert.match(err.message, /ConfiguredInstance/);
      return true;
    });
  });

  it('recovers an interrupted instance workflow on the right instance after a restart', async () => {
    const workflowID = `recover-${kind}`;
    await DBOS.startWorkflow(french, { workflowID }).awaitWord();
    await waitUntil(() => french.shouted.includes(`french waiting in ${workflowID}`), { message: 'the workflow to reach recv' });
    const initializedBefore = french.initialized;

    await DBOS.shutdown();
    events.length = 0;
    await launchOn(url, { executorID });
    assert.equal(french.initialized, initializedBefore + 1, 'initialize() runs again at each launch');
    assert.deepEqual(events.slice(0, 2), ['init english', 'init french']);

    await DBOS.send(workflowID, 'monde', 'word');
    assert.equal(await DBOS.retrieveWorkflow<string>(workflowID).getResult(), 'Bonjour monde');
    const recovered = await row(workflowID);
    assert.deepEqual([recovered.class_name, recovered.config_name, recovered.status], ['Greeter', 'french', 'SUCCESS']);
    assert.equal(french.shouted.filter((s) => s === `french waiting in ${workflowID}`).length, 1, 'the recorded step did not run again');
  });
});
