// The child process of a crash test run with `childProcess` (src/testing/child-run.ts): imports the application's
// module, runs the workflow on the run's database, writes every event to standard output (synchronously, so nothing
// is lost), and at the crash point SIGKILLs itself: the real thing, mid-step if the point is inside a step.

import { writeSync } from 'node:fs';
import { registry } from '../process/state.js';
import type { RunProbe } from '../runtime/context.js';
import { deserializeArgs } from '../serialization/index.js';
import { CHILD_ENV, type ChildOrder } from './child-run.js';
import { launchTestEngine } from './engines.js';
import { FOREVER, matches, observe } from './probe.js';

function line(text: string): void {
  writeSync(1, `${text}\n`);
}

async function main(): Promise<void> {
  const order = JSON.parse(process.env[CHILD_ENV] ?? '') as ChildOrder;
  await import(order.module);
  const reg = registry.find(order.workflow.className, order.workflow.name);
  if (!reg) throw new Error(`${order.module} did not register workflow ${order.workflow.className ? `${order.workflow.className}.` : ''}${order.workflow.name}`);
  const probe: RunProbe = {
    at(ctx, e) {
      const o = observe(ctx, e);
      line(`transact-event ${JSON.stringify(o)}`);
      if (!matches(order.crash, o)) return;
      line('transact-crashing');
      process.kill(process.pid, 'SIGKILL');
      return FOREVER;
    },
  };
  const engine = await launchTestEngine({ location: order.location, executorID: order.executorID, probe, config: order.config });
  await engine.executor.start(reg, deserializeArgs(order.args, 'js_superjson'), { workflowID: order.workflowID });
  await engine.executor.getResult(order.workflowID).catch(() => undefined);
  line('transact-finished');
  process.exit(0);
}

main().catch((err: unknown) => {
  line(`transact-failed ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.replace(/\n/g, ' '));
  process.exit(2);
});
