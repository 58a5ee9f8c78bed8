// A run's own writes (its checkpoints, child starts and outcome) either succeed or stop the run. Transient failures
// never get here: inside a run the driver retries them until the database is back (src/sysdb/retry.ts). A write the
// database refuses for good is not the workflow's failure, so it must not reach user code as an ordinary error that
// the code could catch and act on, nor be recorded as the outcome: the run is interrupted (every later durable
// operation throws), and once it ends the workflow goes back to its queue to resume from its last checkpoint.

import { DBOSError, DBOSRunInterruptedError } from '../errors.js';
import type { WorkflowContext } from './context.js';

export function persist<T>(ctx: WorkflowContext, what: string | (() => string), write: () => Promise<T>): Promise<T> {
  // A plain rejection handler, not an async wrapper: this is on every checkpoint's path.
  return write().catch((err: unknown) => {
    if (err instanceof DBOSError) throw err; // the engine's answer (ownership lost, a duplicate), not a failed write
    const described = typeof what === 'string' ? what : what();
    ctx.interrupt(new DBOSRunInterruptedError(ctx.workflowID, described, { cause: err }));
    ctx.throwIfStopped(); // the interruption, or the stop that came first (a cancellation, a shutdown)
    throw err;
  });
}
