// transact/testing: the crash-test kit (README, "Testing your workflows").

export { crashTest, assertCrashSafe, type CrashTestOptions, type CrashTestReport, type BoundaryReport, type Divergence, type Outcome, type RunInfo, type StepRef } from './crash-test.js';
export { BOUNDARIES, type Boundary, type CrashPoint } from './probe.js';
