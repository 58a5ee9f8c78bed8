// Who waits for what: the wake-up keys of recv, getEvent and readStream waiters, and how a notification (a
// PostgreSQL NOTIFY from any process, or a write made by this process) maps to them.

import type { SqlDriver } from '../sysdb/driver.js';
import { EVENTS_CHANNEL } from '../sysdb/events.js';
import { NOTIFICATIONS_CHANNEL } from '../sysdb/messages.js';
import { STREAMS_CHANNEL } from '../sysdb/streams.js';
import type { Wakeups } from '../runtime/wakeups.js';

/** The channels the runtime LISTENs on for this module; each payload is `<workflowID>::<topic or key>`. */
export const MESSAGING_CHANNELS = [NOTIFICATIONS_CHANNEL, EVENTS_CHANNEL, STREAMS_CHANNEL] as const;

const PREFIX: Record<string, string> = {
  [NOTIFICATIONS_CHANNEL]: 'recv:',
  [EVENTS_CHANNEL]: 'event:',
  [STREAMS_CHANNEL]: 'stream:',
};

export const messageWakeKey = (workflowID: string, topic: string) => `recv:${workflowID}::${topic}`;
export const eventWakeKey = (workflowID: string, key: string) => `event:${workflowID}::${key}`;
export const streamWakeKey = (workflowID: string, key: string) => `stream:${workflowID}::${key}`;

/** The wake-up key a notification is for, or undefined when the channel is not one of this module's. */
export function wakeKeyForNotification(channel: string, payload: string): string | undefined {
  const prefix = PREFIX[channel];
  return prefix === undefined ? undefined : prefix + payload;
}

/** What the messaging functions need from the process they run in (the runtime, or a client). */
export interface MessagingEnv {
  readonly db: SqlDriver;
  /** Waiters of this process; writes made here wake them directly, after commit. */
  readonly wakeups: Wakeups;
  /** recv and getEvent re-read the database this often when no notification comes (the safety net). */
  readonly messagePollMs: number;
  /** readStream re-reads this often when no notification comes. */
  readonly streamPollMs: number;
}
