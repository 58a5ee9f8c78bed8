// Enqueueing to a queue this process has not declared (dbos-spec: DBOS 5.3 accepts it): the workflow is written
// ENQUEUED and waits until a process of the application declares the queue (in code, or with DBOS.registerQueue),
// which then runs it. Nothing is lost, but a typo in a queue name would leave work waiting silently, so the first
// such enqueue of each queue name in an engine says so in the log.

import type { Logger } from '../logger.js';

/** Whether the application has the queue; may throw for an enqueue the queue can never take (a partition key). */
export type QueueCheck = (queueName: string, partitionKey: string | undefined) => boolean | Promise<boolean>;

const warnedByEngine = new WeakMap<object, Set<string>>();

export async function warnIfUndeclared(
  engine: object,
  queueExists: QueueCheck,
  logger: Logger,
  queueName: string,
  partitionKey: string | undefined,
): Promise<void> {
  if (await queueExists(queueName, partitionKey)) return;
  let warned = warnedByEngine.get(engine);
  if (!warned) warnedByEngine.set(engine, (warned = new Set()));
  if (warned.has(queueName)) return;
  warned.add(queueName);
  logger.warn(
    `Queue ${queueName} is not declared in this process nor registered in the system database: workflows enqueued ` +
      `to it wait ENQUEUED until a process of this application declares it (new WorkflowQueue(${JSON.stringify(queueName)}) ` +
      'or DBOS.registerQueue)',
  );
}
