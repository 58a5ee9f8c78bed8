// A worker process of the mixed-fleet test (test/compat/mixed-fleet.test.ts) that runs the official DBOS 5.3.0
// package, beside Transact's own worker (test/faults/fixtures/fault-worker.ts) on one system database. It registers
// the same workflow and step under the same names as the Transact worker, and records every step execution in the
// fault suite's ledger (test/faults/support/ledger.ts, written through plain `pg`), so the shared verdict counts
// what both kinds of process ran. Plain JavaScript; the test runs it under the tsx loader only so that it can import
// the ledger and the workload, which are TypeScript modules.
//
// Environment (the fault worker's names, where they mean the same):
//   FAULT_SYSTEM_DB        the system database URL (PostgreSQL)
//   FAULT_LEDGER_URL       the ledger database URL
//   FAULT_INCARNATION      this process run's name, chosen by the test; FAULT_LABEL its slot
//   DBOS__VMID             the executor ID, read by DBOS itself (default `local`)
//   FAULT_APP_VERSION      applicationVersion, the same as the Transact workers'
//   FAULT_QUEUE            the queue, registered in the system database by the test (DBOS reads it from there)
//   FAULT_STEPS            steps per workflow (3); FAULT_STEP_MS a step's sleep, `min-max` ms (0-50)
//   FAULT_POOL_SIZE        systemDatabasePoolSize (4)
//   FAULT_ENQUEUE          `<prefix>:<first seed>:<count>`: once launched, this process starts that many workflows
//                          on FAULT_QUEUE itself (DBOS.startWorkflow with queueName), IDs `<prefix><seed, 5 digits>`
//   FLEET_QUEUE_OPTIONS    JSON: once launched (before `ready`), this process registers FAULT_QUEUE with these options
//                          (DBOS.registerQueue, its default onConflict), as an application's code would
//   FLEET_HOLD_CLAIM       set: the first claim of FAULT_QUEUE that finds work waits, inside its transaction (row
//                          locks held, rows not yet marked), until SIGUSR1. It uses the hook DBOS's package exports
//                          for its own tests (`@dbos-inc/dbos-sdk/internal/debugpoint`), at the point DBOS names
//                          DEBUG_TRIGGER_FIND_AND_MARK_AFTER_SELECT, so that a test can claim beside a real DBOS
//                          claim in progress. Every later claim of this process that reaches that point fails
//                          (rolled back; DBOS logs it and polls again), so what is left is the other claimers' to run
//
// Lines on stdout: `ready <incarnation> <pid>` once launched, `enqueued <n>` after FAULT_ENQUEUE's starts,
// `status <inflight> <returned>` on SIGUSR2, `holding-claim` and `released-claim` around FLEET_HOLD_CLAIM's wait.

import { DBOS } from '@dbos-inc/dbos-sdk';
import { LedgerWriter } from '../../test/faults/support/ledger.ts';
import { FAULT_APP, FAULT_STEP, FAULT_WORKFLOW, stepValue } from '../../test/faults/support/workload.ts';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const incarnation = required('FAULT_INCARNATION');
const queueName = required('FAULT_QUEUE');
const steps = Number(process.env.FAULT_STEPS ?? 3);
const [minMs, maxMs] = (process.env.FAULT_STEP_MS ?? '0-50').split('-').map(Number);
const say = (line) => process.stdout.write(`${line}\n`);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

const ledger = new LedgerWriter(required('FAULT_LEDGER_URL'), incarnation, 2);
await ledger.started(process.env.FAULT_LABEL ?? incarnation, process.env.DBOS__VMID ?? null);

let inFlight = 0;
let returned = 0;

const faultStep = DBOS.registerStep(
  async (workflowID, seed, step) => {
    await ledger.record(workflowID, step, 'step'); // committed before the step goes on
    await pause(minMs + Math.random() * (maxMs - minMs));
    return { v: stepValue(seed, step), by: incarnation };
  },
  { name: FAULT_STEP },
);

const faultWork = DBOS.registerWorkflow(
  async (seed) => {
    const id = DBOS.workflowID;
    inFlight++;
    try {
      const values = [];
      for (let k = 0; k < steps; k++) values.push((await faultStep(id, seed, k)).v);
      await ledger.record(id, steps, 'return');
      returned++;
      return values;
    } finally {
      inFlight--;
    }
  },
  { name: FAULT_WORKFLOW },
);

DBOS.setConfig({
  name: FAULT_APP,
  systemDatabaseUrl: required('FAULT_SYSTEM_DB'),
  applicationVersion: required('FAULT_APP_VERSION'),
  systemDatabasePoolSize: Number(process.env.FAULT_POOL_SIZE ?? 4),
  logLevel: 'warn',
});

if (process.env.FLEET_HOLD_CLAIM) {
  const { setDebugTrigger, DEBUG_TRIGGER_FIND_AND_MARK_AFTER_SELECT } = await import('@dbos-inc/dbos-sdk/internal/debugpoint');
  const { default: pg } = await import('pg');
  const probe = new pg.Pool({ connectionString: required('FAULT_SYSTEM_DB'), max: 1 });
  let held = false;
  setDebugTrigger(DEBUG_TRIGGER_FIND_AND_MARK_AFTER_SELECT, {
    asyncCallback: async () => {
      if (held) throw new Error('FLEET_HOLD_CLAIM: this process claims once');
      // Hold only a claim that found work: its rows are locked, not yet marked, so still ENQUEUED to others.
      const { rows } = await probe.query(`SELECT count(*)::int AS n FROM dbos.workflow_status WHERE queue_name = $1 AND status = 'ENQUEUED'`, [
        queueName,
      ]);
      if (rows[0].n === 0) return;
      held = true;
      const released = new Promise((resolve) => process.once('SIGUSR1', resolve));
      say('holding-claim');
      await released;
      say('released-claim');
    },
  });
}

process.on('SIGUSR2', () => say(`status ${inFlight} ${returned}`));
setInterval(() => {}, 60_000); // SIGKILL is the test's way to end this process

await DBOS.launch();
if (process.env.FLEET_QUEUE_OPTIONS) await DBOS.registerQueue(queueName, JSON.parse(process.env.FLEET_QUEUE_OPTIONS));
await ledger.ready(DBOS.executorID, DBOS.applicationVersion);
say(`ready ${incarnation} ${process.pid}`);

if (process.env.FAULT_ENQUEUE) {
  const [prefix, first, count] = process.env.FAULT_ENQUEUE.split(':');
  for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
    await DBOS.startWorkflow(faultWork, { workflowID: `${prefix}${String(seed).padStart(5, '0')}`, queueName })(seed);
  }
  say(`enqueued ${count}`);
}
