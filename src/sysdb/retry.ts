// When PostgreSQL restarts or the network drops, statements fail with connection errors that say nothing about the
// statement itself. Those are retried with exponential backoff (dbos-spec §3.13); every statement of the engine is
// written so that running it again after a lost reply is safe (upserts, owner-fenced updates, token-checked inserts).

export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up (and throw the last error) after this long. */
  timeoutMs: number;
}

const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '57'];
const TRANSIENT_SQLSTATES = new Set(['40003', '25P03', '40P01', '40001', '55P03']);
const NOT_TRANSIENT = new Set(['57014']); // query_canceled: a statement timeout is the caller's decision
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const NETWORK_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'connection is closed',
  'Client was closed',
  'timeout exceeded when trying to connect',
];

export function isTransientDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NOT_TRANSIENT.has(code)) return false;
    if (TRANSIENT_SQLSTATES.has(code) || NETWORK_CODES.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return NETWORK_MESSAGES.some((m) => err.message.includes(m));
}

export async function withRetries<T>(policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + policy.timeoutMs;
  let delay = policy.initialDelayMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDatabaseError(err) || Date.now() + delay > giveUpAt) throw err;
      // Jitter keeps a crowd of executors from reconnecting in lockstep after an outage.
      await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}
