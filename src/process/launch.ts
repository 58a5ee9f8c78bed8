// The composition root: what `DBOS.launch()` builds and `DBOS.shutdown()` takes apart (src/process/lifecycle.ts
// orders the two with the add-ons). It wires the engine, the queues and messaging to one system database and its
// notifications, and runs the periodic sweeps.

import { runtimeMessagingEnv } from '../messaging/operation.js';
import { MESSAGING_CHANNELS, wakeKeyForNotification } from '../messaging/wakeups.js';
import { DEFAULT_EXECUTOR_LEASE_MS } from '../queues/heartbeat.js';
import { QUEUE_CHANNELS, QueueService } from '../queues/service.js';
import { internalQueue } from '../queues/workflow-queue.js';
import { applicationNameOf, applicationVersionOf, executorIDOf, systemDatabaseLocation, type DBOSConfig } from '../runtime/config.js';
import { Executor } from '../runtime/executor.js';
import { checkConfig, reportLaunch } from '../runtime/launch-report.js';
import { loadTracing } from '../tracing/tracing.js';
import { recovered as recoveredMetric } from '../metrics/instruments.js';
import type { Logger } from '../logger.js';
import { Operations } from '../ops/operations.js';
import { outcomeKey } from '../runtime/outcome.js';
import type { Registry } from '../runtime/registry.js';
import { resolveDeclaredSchedules } from '../scheduler/declared.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { SqlDriver } from '../sysdb/driver.js';
import { openSystemDatabase } from '../sysdb/open.js';
import { INTERNAL_QUEUE } from '../sysdb/rows.js';
import { SCHEDULE_CHANNEL } from '../sysdb/schedules.js';
import { getLatestApplicationVersion, registerApplicationVersion } from '../sysdb/versions.js';
import { CANCEL_CHANNEL, cancelExpiredWorkflows, cancelledAmong, OUTCOME_CHANNEL, requeuePendingWorkflows } from '../sysdb/workflows.js';
import type { Launched } from './state.js';

/** Opens the system database, recovers this executor's unfinished work and starts dispatching. */
export async function launchEngine(
  config: DBOSConfig,
  registry: Registry,
  logger: Logger,
  /** Called once the engine can serve workflows, before any starts running (recovered or dequeued). */
  onReady: (launched: Launched) => void,
): Promise<Launched> {
  const appName = applicationNameOf(config);
  const codeSchedules = resolveDeclaredSchedules((fn) => registry.forFunction(fn)); // before anything is written
  const location = systemDatabaseLocation(config, appName);
  const executorID = executorIDOf(config);
  const applicationVersion = applicationVersionOf(config, appName, registry.all());
  checkConfig(config, logger);
  reportLaunch(logger, location, { applicationName: appName, executorID, applicationVersion });
  const db = await openSystemDatabase(location, {
    migrate: config.runMigrations ?? true,
    poolSize: config.systemDatabasePoolSize,
    applicationName: `dbos_transact_${executorID}_${applicationVersion}`.slice(0, 63),
    retryTimeoutMs: config.databaseRetryTimeoutMs,
    sqliteSynchronous: config.sqliteSynchronous,
    idleInTransactionTimeoutMs: config.systemDatabaseIdleTransactionTimeoutMs ?? 60_000,
  });
  try {
    const pollIntervalMs = config.pollingIntervalMs ?? (location.kind === 'postgres' ? 1000 : 250);
    const executor = new Executor(
      db,
      registry,
      { executorID, applicationVersion, applicationName: appName, applicationID: process.env.DBOS__APPID ?? null },
      logger,
      pollIntervalMs,
      (name, partitionKey) => state.queues.queueExists(name, partitionKey),
    );
    executor.patchingEnabled = config.enablePatching === true;
    executor.tracing = await loadTracing(
      { enabled: config.tracingEnabled ?? config.enableOTLP ?? false, format: config.otelAttributeFormat },
      logger,
    );
    const listening = config.useListenNotify !== false;
    const messaging = runtimeMessagingEnv(executor, {
      crossProcessNotifications: listening && location.kind === 'postgres',
      configuredPollMs: config.pollingIntervalMs,
    });
    const state: Launched = {
      executor,
      db,
      queues: undefined as never,
      scheduler: undefined as never,
      sweep: undefined as never,
      latestVersion: true,
      messaging,
      noteLatestVersion(latest) {
        state.latestVersion = latest;
      },
    };
    // The safety-net polls of an idle process: PostgreSQL processes are told of changes by NOTIFY, so they poll only
    // for what nobody announces (work and queues of DBOS processes and clients); others poll more often.
    const crossProcessNotify = listening && location.kind === 'postgres';
    const idlePollMs = crossProcessNotify ? IDLE_POLL_NOTIFIED_MS : IDLE_POLL_UNNOTIFIED_MS;
    state.queues = new QueueService(executor, () => state.latestVersion, {
      listenQueues: config.listenQueues,
      executorLeaseMs: config.executorLeaseMs ?? DEFAULT_EXECUTOR_LEASE_MS,
      idlePollMs,
    });
    executor.enqueueListener = { workflowEnqueued: (queue, delayed) => state.queues.workflowEnqueued(queue, delayed) };

    if (listening) {
      await db.listen([OUTCOME_CHANNEL, CANCEL_CHANNEL, ...QUEUE_CHANNELS, ...MESSAGING_CHANNELS, SCHEDULE_CHANNEL], {
        onNotification(channel, payload) {
          if (channel === OUTCOME_CHANNEL) executor.wakeups.wake(outcomeKey(payload));
          else if (channel === CANCEL_CHANNEL) executor.stopLocal(payload);
          else if ((QUEUE_CHANNELS as readonly string[]).includes(channel)) state.queues.onNotification(channel, payload);
          else if (channel === SCHEDULE_CHANNEL) state.scheduler?.refreshSoon();
          else {
            const key = wakeKeyForNotification(channel, payload);
            if (key) executor.wakeups.wake(key);
          }
        },
        onReconnect() {
          executor.wakeups.wakeAll();
          state.queues.onReconnect();
          state.scheduler?.refreshSoon();
        },
      });
    }

    await registerApplicationVersion(db, applicationVersion, appName);
    state.latestVersion = (await getLatestApplicationVersion(db, appName)) === applicationVersion;
    if (!state.latestVersion) {
      logger.warn(`Application version ${applicationVersion} is not the latest; it will not take workflows enqueued without a version`);
    }

    await state.queues.claimExecutor();
    const recovered = await requeuePendingWorkflows(db, executorID, applicationVersion, appName);
    if (recovered.length > 0) logger.info(`Recovering ${recovered.length} workflow(s) left unfinished by executor ${executorID}`);
    recoveredMetric.add(recovered.length);

    // The scheduler reads where its schedules stand before dispatching begins, and fires once it has (below).
    state.scheduler = new Scheduler(executor, codeSchedules, {
      refreshIntervalMs: config.schedulerPollingIntervalMs ?? (listening && location.kind === 'postgres' ? 30_000 : 5_000),
    });
    await state.scheduler.prepare();

    void internalQueue; // declared at module load; the dispatcher always serves it
    onReady(state);
    await state.queues.start().catch(async (err) => {
      await state.queues.stop().catch(() => {});
      await state.scheduler.stop().catch(() => {});
      throw err;
    });
    state.scheduler.start();
    const noticeCancellations = location.kind === 'sqlite' || config.useListenNotify === false;
    let sweeps = 0;
    const deadlineEvery = Math.max(1, Math.round(idlePollMs / 1000));
    state.sweep = setInterval(() => {
      // Which version is latest can change under a running process (a newer one launched and was then rolled back,
      // an operator's setLatestApplicationVersion): it decides who takes the rows enqueued without a version.
      if (++sweeps % VERSION_CHECK_EVERY_SWEEPS === 0) {
        getLatestApplicationVersion(db, appName)
          .then((latest) => {
            const isLatest = latest === applicationVersion;
            if (isLatest === state.latestVersion) return;
            state.latestVersion = isLatest;
            logger.info(`Application version ${applicationVersion} is ${isLatest ? 'now' : 'no longer'} the latest`);
            if (isLatest) state.queues.onReconnect(); // claim the unversioned work that waited for a latest version
          })
          .catch((err) => logger.debug('Latest version check failed:', err));
      }
      // Each run's deadline is a timer of the process running it (Executor.armDeadline); the sweep is the safety net
      // for rows no live process times (queued rows past a deadline, runs of a process that died).
      if (sweeps % deadlineEvery === 0) {
        cancelExpiredWorkflows(db, appName)
          .then((ids) => ids.forEach((id) => executor.stopLocal(id)))
          .catch((err) => logger.debug('Deadline sweep failed:', err));
      }
      // Without NOTIFY, a cancel from another process reaches a waiting run (asleep, waiting for a message) here.
      if (noticeCancellations && executor.runningWorkflowIDs.length > 0) {
        cancelledAmong(db, executor.runningWorkflowIDs)
          .then((ids) => ids.forEach((id) => executor.stopLocal(id)))
          .catch((err) => logger.debug('Cancellation check failed:', err));
      }
    }, 1000);
    state.sweep.unref();
    if (recovered.length > 0) state.queues.workflowEnqueued(INTERNAL_QUEUE);
    state.ops = new Operations(executor, state.queues, config);
    await state.ops.start().catch(async (err) => {
      clearInterval(state.sweep);
      await state.ops?.stop().catch(() => {});
      await state.scheduler.stop().catch(() => {});
      await state.queues.stop().catch(() => {});
      throw err;
    });
    return state;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/** The sweep runs every second; the latest application version is re-read every this many sweeps. */
const VERSION_CHECK_EVERY_SWEEPS = 30;
/** The safety-net poll of an idle process whose peers announce changes by NOTIFY (PostgreSQL), and of others (ms). */
const IDLE_POLL_NOTIFIED_MS = 10_000;
const IDLE_POLL_UNNOTIFIED_MS = 5_000;

/**
 * Stops dispatching and sweeps, lets local runs finish for up to `waitMs`, gives the rest back to their queues, and
 * closes the database.
 */
export async function stopEngine(launched: Launched, waitMs: number): Promise<void> {
  clearInterval(launched.sweep);
  await launched.ops?.stop();
  await launched.scheduler.stop();
  await launched.queues.stopDispatching();
  await launched.executor.stopAll(waitMs);
  // What is left goes back to its queues for a live executor to continue at once (fenced: nothing runs twice).
  const allHandedBack = await launched.executor.handBackStopped();
  await launched.queues.stopHeartbeat(allHandedBack);
  await launched.db.close();
}
