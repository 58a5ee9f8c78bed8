// Every public name of Transact (the package's exports: see src/index.ts). Exports only, no logic.

export {
  DBOS,
  type StartWorkflowParams,
  type WorkflowStarters,
  type RegisterWorkflowOptions,
  type ScheduledWorkflowFn,
  type ScheduleDefinition,
  type DBOSLifecycleCallback,
} from './dbos.js';
export { ConfiguredInstance } from './configured-instance.js';
export { SchedulerMode, type SchedulerConfig, type ScheduledArgs } from './scheduler/declared.js';
export type { ListSchedulesFilters, ScheduleOptions, ScheduleUpdate, WorkflowSchedule } from './scheduler/schedules.js';
export { DBOSClient, type ClientScheduleDefinition, type DBOSClientConfig } from './client/client.js';
export type { ClientEnqueueOptions } from './runtime/enqueue.js';
export { Debouncer, type DebouncerConfig } from './debouncer.js';
export { DebouncerClient, type DebouncerClientConfig } from './client/debouncer.js';
export type { ApplicationRowCounts, RenameApplicationOptions } from './management/applications.js';
export type { EnqueueWorkflowOptions } from './runtime/enqueue-by-name.js';
export type { Span, SpanAttributes, SpanAttributeValue, Tracer } from './tracing/public.js';
export { startAdminServer, type AdminServer } from './admin/server.js';
export {
  WorkflowQueue,
  type QueueConflictResolution,
  type QueueOptions,
  type QueueParameters,
  type QueueRateLimit,
  type RegisterQueueOptions,
} from './queues/workflow-queue.js';
export type { DBOSConfig } from './runtime/config.js';
export type { WorkflowConfig, StepConfig } from './runtime/registry.js';
export type { WorkflowHandle } from './runtime/handle.js';
export type { WorkflowStatus } from './runtime/workflow-status.js';
export type { GetWorkflowsInput, ListWorkflowStepsOptions, StepInfo } from './management/inspect.js';
export type { ForkOptions, RewindOptions, VersionInfo, WorkflowDelay } from './management/control.js';
export type { Logger } from './logger.js';
export type { SerializationRecipe } from './serialization/native.js';
export type {
  GetEventOptions,
  PollingOptions,
  ReadStreamOffsetOptions,
  ReadStreamOptions,
  RecvOptions,
  SendOptions,
  SetEventOptions,
  WorkflowSerializationFormat,
  WriteStreamOptions,
} from './messaging/options.js';
export * from './errors.js';
export * as Error from './error-namespace.js';
export { StatusString, type WorkflowStatusString } from './status-string.js';
export type { AlertHandler } from './alerts/alerts.js';
export type { ExternalRegistration, FunctionName, MethodRegistrationBase } from './registry-info.js';
export type * from './compat-types.js';

