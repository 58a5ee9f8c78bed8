// The workflow statuses by name, as DBOS exports them (`StatusString.SUCCESS === 'SUCCESS'`).

import type { WorkflowStatusString } from './sysdb/rows.js';

export type { WorkflowStatusString };

export const StatusString = {
  PENDING: 'PENDING',
  SUCCESS: 'SUCCESS',
  ERROR: 'ERROR',
  MAX_RECOVERY_ATTEMPTS_EXCEEDED: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
  CANCELLED: 'CANCELLED',
  ENQUEUED: 'ENQUEUED',
  DELAYED: 'DELAYED',
} as const satisfies { [S in WorkflowStatusString]: S };
