// transact/testing: the crash-test kit (README, "Testing your workflows").

export { crashTest, assertCrashSafe, type CrashTestOptions, type CrashTestReport, type BoundaryReport, type Divergence, type Outcome, type RunInfo, type StepRef } from './crash-test.js';
export { BOUNDARIES, type Boundary, type CrashPoint } from './probe.js';
export { replayTest, assertReplays, ReplayStop, type ReplayTestOptions, type ReplayReport, type ReplayDivergence, type ReplaySide } from './replay-test.js';
export { checkHistory, HISTORY_FORMAT, type WorkflowHistory, type HistoryStep } from '../management/history.js';
export { VirtualClock, useVirtualClock, parseDuration } from './clock.js';
export { testRuntime, type TestRuntime, type TestRuntimeOptions } from './runtime.js';
