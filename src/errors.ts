// Every error a user can meet, each with the stable `dbosErrorCode` that DBOS uses for it (dbos-spec §1.13),
// so code written against @dbos-inc/dbos-sdk that switches on codes or classes keeps working. Each class DBOS also has
// takes DBOS's constructor arguments (a trailing optional argument of Transact's own is allowed) and carries DBOS's
// public fields, no more (test/compat/surface.test.ts compares the own properties of an instance of each); the
// messages are Transact's. Two own properties differ on purpose: `name` is always the class's name (stored errors
// revive by it), and `cause` chains the underlying error wherever there is one.

export class DBOSError extends Error {
  readonly dbosErrorCode: number;
  constructor(message: string, code = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.dbosErrorCode = code;
    this.name = new.target.name;
  }
}

export class DBOSInitializationError extends DBOSError {
  /** The underlying error, if any (also the `cause`). */
  readonly error?: Error;
  constructor(message: string, error?: Error) {
    super(message, 3, error === undefined ? undefined : { cause: error });
    this.error = error;
  }
}

/** This run no longer owns the workflow (it was recovered, cancelled or taken over elsewhere). */
export class DBOSWorkflowConflictError extends DBOSError {
  readonly #workflowID: string;
  constructor(workflowID: string) {
    super(`Workflow ${workflowID} is owned by another execution; this execution may not record anything more`, 5);
    this.#workflowID = workflowID;
  }
  /** The workflow this execution lost (Transact's own; not an own property, as DBOS's class has no such field). */
  get workflowID(): string {
    return this.#workflowID;
  }
}

export class DBOSNotRegisteredError extends DBOSError {
  constructor(functionName: string, detail?: string) {
    super(detail ?? `${functionName} is not registered: register it with DBOS.registerWorkflow / @DBOS.workflow() before DBOS.launch()`, 6);
  }
}

export class DBOSNonExistentWorkflowError extends DBOSError {
  constructor(message: string) {
    super(message, 16);
  }
}

export class DBOSMaxRecoveryAttemptsExceededError extends DBOSError {
  constructor(workflowID: string, maxRecoveryAttempts?: number) {
    super(
      `Workflow ${workflowID} was started more than ${maxRecoveryAttempts ?? 'its maximum number of'} times without completing and was moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED; resume it once the cause is fixed`,
      18,
    );
  }
}

export class DBOSExecutorNotInitializedError extends DBOSError {
  constructor(what = 'This operation') {
    super(`${what} needs a launched runtime: call DBOS.launch() first`, 20);
  }
}

export class DBOSInvalidWorkflowTransitionError extends DBOSError {
  constructor(message = 'This operation is not allowed in the workflow’s current state') {
    super(message, 21);
  }
}

/** The same workflow ID was started with a different function (name, class or config). */
export class DBOSConflictingWorkflowError extends DBOSError {
  constructor(workflowID: string, message: string) {
    super(`Workflow ID ${workflowID} is already used by a different workflow: ${message}`, 22);
  }
}

export class DBOSMaxStepRetriesError extends DBOSError {
  constructor(
    stepName: string,
    maxAttempts: number,
    readonly errors: Error[],
  ) {
    const last = errors[errors.length - 1];
    super(
      `Step ${stepName} failed ${maxAttempts} times; giving up. Errors: ${errors.map((e, i) => `[${i + 1}] ${e?.message ?? String(e)}`).join('; ')}`,
      23,
      { cause: last },
    );
  }
}

export class DBOSWorkflowCancelledError extends DBOSError {
  constructor(readonly workflowID: string) {
    super(`Workflow ${workflowID} has been cancelled`, 24);
  }
}

export class DBOSConflictingRegistrationError extends DBOSError {
  constructor(message: string) {
    super(message, 25);
  }
}

/** Replay met a different step than the one recorded at this function ID: the workflow is not deterministic. */
export class DBOSUnexpectedStepError extends DBOSError {
  constructor(
    readonly workflowID: string,
    /** The function ID (step number) at which replay met the other step. */
    readonly stepID: number,
    readonly expectedName: string,
    recordedName: string,
  ) {
    super(
      `During execution of workflow ${workflowID} step ${stepID}, function ${recordedName} was recorded when ${expectedName} was expected. Check that your workflow is deterministic.`,
      26,
    );
  }
}

export class DBOSAwaitedWorkflowCancelledError extends DBOSError {
  constructor(readonly workflowID: string) {
    super(`Awaited ${workflowID} was cancelled`, 27);
  }
}

export class DBOSQueueDuplicatedError extends DBOSError {
  constructor(
    readonly workflowID: string,
    readonly queue: string,
    readonly deduplicationID: string,
  ) {
    super(
      `Workflow ${workflowID} was deduplicated: queue ${queue} already has an active workflow with deduplication ID ${deduplicationID}`,
      28,
    );
  }
}

export class DBOSInvalidQueuePriorityError extends DBOSError {
  constructor(
    readonly priority: number,
    readonly min = 0,
    readonly max = 2147483647,
  ) {
    super(`Invalid queue priority ${priority}: it must be an integer between ${min} and ${max}`, 29);
  }
}

export class DBOSAwaitedWorkflowExceededMaxRecoveryAttempts extends DBOSError {
  constructor(readonly workflowID: string) {
    super(`Awaited ${workflowID} exceeded its maximum recovery attempts`, 30);
  }
}

export class DBOSStepTimeoutError extends DBOSError {
  constructor(
    readonly stepName: string,
    readonly timeoutMS: number,
  ) {
    super(`Step ${stepName} timed out after ${timeoutMS} ms`, 31);
  }
}

/**
 * Arguments a workflow cannot take. DBOS's form is `(workflowName, cause)`: the arguments of that workflow could not
 * be serialized. Transact also raises it with a message alone (`(message)`) for any argument or option it refuses.
 */
export class DBOSInvalidWorkflowInputError extends DBOSError {
  constructor(workflowNameOrMessage: string, cause?: unknown) {
    super(
      cause === undefined
        ? workflowNameOrMessage
        : `Invalid input for workflow ${workflowNameOrMessage}: ${(cause as Error)?.message ?? String(cause)}`,
      32,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** A stream read that timed out (`timeoutMS` set), or a stream that ended before the offset read (no `timeoutMS`). */
export class DBOSStreamTimeoutError extends DBOSError {
  constructor(
    readonly workflowID: string,
    readonly key: string,
    readonly timeoutMS?: number,
    /** Transact's own: the offset that was read, for the message. */
    offset?: number,
  ) {
    const at = offset === undefined ? '' : ` at offset ${offset}`;
    super(
      timeoutMS === undefined
        ? `Stream ${key} of workflow ${workflowID} ended before offset ${offset ?? 'read'}`
        : `No value arrived${at} of stream ${key} of workflow ${workflowID} within ${timeoutMS} ms`,
      33,
    );
  }
}

/** Workflow `workflowID` read stream `key` while another of its stream reads was waiting. */
export class DBOSStreamNondeterminismError extends DBOSError {
  constructor(
    readonly workflowID: string,
    readonly key: string,
    /** Transact's own: the workflow whose stream was read, when not `workflowID` itself, for the message. */
    streamOf?: string,
  ) {
    super(
      `Workflow ${workflowID} read stream ${key}${streamOf === undefined || streamOf === workflowID ? '' : ` of workflow ${streamOf}`} ` +
        'while another of its stream reads was waiting; read streams one at a time in workflow code (or read them in a child workflow each)',
      34,
    );
  }
}

export class DBOSQueryTimeoutError extends DBOSError {
  constructor(readonly timeoutMS: number) {
    super(`The query was cancelled after its statement timeout of ${timeoutMS} ms`, 35);
  }
}

export class DBOSWorkflowIDInUseError extends DBOSError {
  constructor(
    readonly workflowID: string,
    /** The status of the workflow that holds the ID. */
    readonly status: string,
    /** The name of the workflow that holds the ID. */
    readonly workflowName: string,
  ) {
    super(`Workflow ID ${workflowID} is already in use (by workflow ${workflowName}, ${status})`, 36);
  }
}

export class DBOSStepNondeterminismError extends DBOSError {
  constructor(
    readonly workflowID: string,
    /** The function ID (step number) recorded twice. */
    readonly stepID: number,
  ) {
    super(`Step ${stepID} of workflow ${workflowID} was recorded by another execution while this one ran it`, 37);
  }
}

/**
 * A schedule that cannot be declared: a cron expression that does not parse or never fires, an unknown time zone, or
 * options that do not fit together. Thrown where the schedule is declared, before anything is written.
 */
export class DBOSInvalidScheduleError extends DBOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
  }
}

/**
 * This run of a workflow stopped because the system database could not record its progress (a write it refused, or
 * an outage that outlasted the run). Nothing is recorded as the workflow's outcome: the workflow goes back to its
 * queue and resumes from its last checkpoint. User code that catches it should let it propagate.
 */
export class DBOSRunInterruptedError extends DBOSError {
  constructor(readonly workflowID: string, what: string, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`Workflow ${workflowID} stopped: the system database could not record ${what}${cause}; it will resume from its last checkpoint`, 1001, options);
  }
}

/**
 * A row of the system database that this process cannot read: written by hand, by another tool or by an older
 * version. It fails the one workflow it belongs to (recorded as that workflow's ERROR outcome), never the dispatcher,
 * a listing or another workflow. Transact's own code (DBOS's codes stay below 100).
 */
export class DBOSCorruptRowError extends DBOSError {
  constructor(
    readonly workflowID: string,
    /** `table.column`, e.g. `workflow_status.authenticated_roles`. */
    readonly column: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Workflow ${workflowID}: its stored ${column} cannot be read (${problem}). ` +
        'The row was changed outside this library or written by an incompatible version; fix or delete it.',
      1002,
      options,
    );
  }
}

/** A value that the configured serializer cannot turn into text (functions, symbols, cycles, …). */
export class DBOSSerializationError extends DBOSInvalidWorkflowInputError {
  constructor(what: string, detail: string, options?: { cause?: unknown }) {
    super(`Cannot serialize ${what}: ${detail}`);
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
  }
}

/** A workflow error stored in the portable format, revived in a process that does not know its class. */
export class PortableWorkflowError extends Error {
  constructor(
    message: string,
    name: string,
    readonly code?: number | string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = name;
  }
}

const errorClasses: Record<string, new (...args: never[]) => Error> = {};
for (const cls of [
  DBOSError,
  DBOSInitializationError,
  DBOSWorkflowConflictError,
  DBOSNotRegisteredError,
  DBOSNonExistentWorkflowError,
  DBOSMaxRecoveryAttemptsExceededError,
  DBOSExecutorNotInitializedError,
  DBOSInvalidWorkflowTransitionError,
  DBOSConflictingWorkflowError,
  DBOSMaxStepRetriesError,
  DBOSWorkflowCancelledError,
  DBOSConflictingRegistrationError,
  DBOSUnexpectedStepError,
  DBOSAwaitedWorkflowCancelledError,
  DBOSQueueDuplicatedError,
  DBOSInvalidQueuePriorityError,
  DBOSAwaitedWorkflowExceededMaxRecoveryAttempts,
  DBOSStepTimeoutError,
  DBOSInvalidWorkflowInputError,
  DBOSStreamTimeoutError,
  DBOSStreamNondeterminismError,
  DBOSQueryTimeoutError,
  DBOSWorkflowIDInUseError,
  DBOSStepNondeterminismError,
  DBOSRunInterruptedError,
  DBOSSerializationError,
  DBOSInvalidScheduleError,
  DBOSCorruptRowError,
]) {
  errorClasses[cls.name] = cls as unknown as new (...args: never[]) => Error;
}

/** The prototype to give a revived error, so `instanceof` works for Transact's own classes and built-ins. */
export function errorPrototypeFor(name: string): object {
  const own = errorClasses[name];
  if (own) return own.prototype;
  const builtin = (globalThis as Record<string, unknown>)[name];
  if (typeof builtin === 'function' && (builtin === Error || builtin.prototype instanceof Error)) {
    return builtin.prototype as object;
  }
  return Error.prototype;
}
