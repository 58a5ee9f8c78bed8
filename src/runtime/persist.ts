// A run's own writes (its checkpoints, child starts and outcome) either succeed or stop the run. Transient failures
// never get here: inside a run the driver retries them until the database is back (src/sysdb/retry.ts). A write the
// database refuses for good is not the workflow's failure, so it must not reach user code as an ordinary error that
// the code could catch and act on, nor be recorded as the outcome: the run is interrupted (every later durable
// operation throws), and once it ends the workflow goes back to its queue to resume from its last checkpoint.

import { DBOSError, DBOSRunInterruptedError } from '../errors.js';
import type { WorkflowContext } from './context.js';

export async function persist<T>(ctx: WorkflowContext, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof DBOSError) throw err; // the engine's answer (ownership lost, a duplicate), not a failed write
    ctx.interrupt(new DBOSRunInterruptedError(ctx.workflowID, what, { cause: err }));
    ctx.throwIfStopped(); // the interruption, or the stop that came first (a cancellation, a shutdown)
    throw err;
  }
}
