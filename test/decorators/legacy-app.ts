// Compiled with experimentalDecorators (test/decorators/tsconfig.legacy.json): the decorator form that most DBOS
// applications use today. Prints what it ran so the test can check it.

import { ConfiguredInstance, DBOS } from '../../src/index.js';

// Tells which decorator implementation compiled this file: legacy decorators get (target, key, descriptor).
let compiledAs = 'unknown';
function probe(...args: unknown[]): void {
  compiledAs = args.length === 3 ? 'legacy' : 'standard';
}

export class Inventory {
  @probe
  static probed(): void {}

  static log: string[] = [];

  @DBOS.step({ retriesAllowed: true, maxAttempts: 2, intervalSeconds: 0.01 })
  static async take(item: string): Promise<string> {
    Inventory.log.push(`take ${item}`);
    return `${item} taken`;
  }

  @DBOS.workflow()
  static async restock(items: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const item of items) out.push(await Inventory.take(item));
    return out;
  }
}

@DBOS.className('Warehouse')
export class Minified {
  @DBOS.workflow()
  static async count(n: number): Promise<number> {
    return n + 1;
  }
}

// Instance workflows: `this` is the configured instance, whose name is recorded as config_name.
@DBOS.className('Shelving')
export class Shelf extends ConfiguredInstance {
  initialized = false;

  constructor(
    name: string,
    readonly capacity: number,
  ) {
    super(name);
  }

  override async initialize(): Promise<void> {
    this.initialized = true;
  }

  @DBOS.step()
  async measure(n: number): Promise<number> {
    return n * this.capacity;
  }

  @DBOS.workflow()
  async fill(n: number): Promise<string> {
    return `${this.name} ${await this.measure(n)} ${this.initialized}`;
  }
}

const small = new Shelf('small', 2);
const large = new Shelf('large', 10);

DBOS.setConfig({ name: 'legacy-decorators', systemDatabaseUrl: process.env.TEST_DB_URL!, logLevel: 'error' });
await DBOS.launch();
const handle = await DBOS.startWorkflow(Inventory, { workflowID: 'legacy-1' }).restock(['bolt', 'nut']);
const result = await handle.getResult();
const status = await handle.getStatus();
const steps = await DBOS.listWorkflowSteps('legacy-1');
const renamed = await DBOS.startWorkflow(Minified).count(41);
const smallFill = await DBOS.startWorkflow(small, { workflowID: 'legacy-small' }).fill(3);
const smallStatus = await smallFill.getStatus();
console.log(
  JSON.stringify({
    compiledAs,
    result,
    className: status?.workflowClassName,
    name: status?.workflowName,
    steps: steps?.map((s) => s.name),
    log: Inventory.log,
    renamed: { className: (await renamed.getStatus())?.workflowClassName, result: await renamed.getResult() },
    instances: {
      small: await smallFill.getResult(),
      large: await large.fill(3),
      className: smallStatus?.workflowClassName,
      configName: smallStatus?.workflowConfigName,
    },
  }),
);
await DBOS.shutdown();
