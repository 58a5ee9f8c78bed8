// Listing workflows with filters (dbos-spec §1.6). The filter decides the WHERE clause, so these statements are
// built per call from fixed fragments; values always travel as parameters.

import type { Dialect, Queryable } from './driver.js';
import { toWorkflowRow, type WorkflowRow } from './rows.js';

export interface WorkflowFilter {
  workflowIDs?: string[];
  workflowName?: string[];
  status?: string[];
  workflowIDPrefix?: string[];
  authenticatedUser?: string[];
  applicationVersion?: string[];
  executorID?: string[];
  queueName?: string[];
  queuesOnly?: boolean;
  parentWorkflowID?: string[];
  forkedFrom?: string[];
  scheduleName?: string[];
  startTime?: number;
  endTime?: number;
  completedAfter?: number;
  completedBefore?: number;
  dequeuedAfter?: number;
  dequeuedBefore?: number;
  wasForkedFrom?: boolean;
  isFork?: boolean;
  hasParent?: boolean;
  /** Rows whose workflow ID or name contains this text (case-insensitive for ASCII letters), for an operator's search. */
  search?: string;
  /** Rows whose attributes contain these (JSON containment on PostgreSQL; key by key on SQLite, see below). */
  attributes?: Record<string, unknown>;
  /** Rows of this application and unclaimed (NULL) rows; not applied to lookups by ID. */
  applicationName?: string;
  /** Rows of exactly these applications (overrides applicationName). */
  applicationNames?: string[];
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
  loadInput?: boolean;
  loadOutput?: boolean;
}

class WhereBuilder {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  constructor(private readonly dialect: Dialect) {}

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  oneOf(column: string, values: string[] | undefined): void {
    if (!values || values.length === 0) return;
    if (values.length === 1) {
      this.clauses.push(`${column} = ${this.param(values[0])}`);
    } else if (this.dialect === 'postgres') {
      this.clauses.push(`${column} = ANY(${this.param(values)}::text[])`);
    } else {
      this.clauses.push(`${column} IN (SELECT value FROM json_each(${this.param(values)}))`);
    }
  }

  compare(column: string, op: '>=' | '<=', value: number | undefined): void {
    if (value !== undefined) this.clauses.push(`${column} ${op} ${this.param(value)}`);
  }

  /** `true`: the condition holds; `false`: it does not; undefined: no filter. */
  flag(condition: string, value: boolean | undefined): void {
    if (value !== undefined) this.clauses.push(value ? `(${condition})` : `NOT (${condition})`);
  }

  /**
   * PostgreSQL: JSONB containment (`@>`). SQLite has no containment operator: each top-level key must be present
   * with an equal value (objects and arrays compared as JSON text), which is containment for flat attributes.
   */
  contains(column: string, attributes: Record<string, unknown> | undefined): void {
    if (!attributes) return;
    if (this.dialect === 'postgres') {
      this.clauses.push(`${column} @> ${this.param(JSON.stringify(attributes))}::jsonb`);
      return;
    }
    for (const [key, value] of Object.entries(attributes)) {
      const path = this.param(`$."${key.replace(/["\\]/g, (c) => `\\${c}`)}"`);
      const wanted = this.param(JSON.stringify(value));
      this.clauses.push(
        value !== null && typeof value === 'object'
          ? `json(json_extract(${column}, ${path})) = json(${wanted})`
          : `json_type(${column}, ${path}) IS NOT NULL AND json_extract(${column}, ${path}) IS json_extract(${wanted}, '$')`,
      );
    }
  }
}

/** The WHERE clause (and its parameters) of a filter, shared by the listing and the count. */
function whereOf(dialect: Dialect, filter: WorkflowFilter): WhereBuilder {
  const w = new WhereBuilder(dialect);
  w.oneOf('ws.workflow_uuid', filter.workflowIDs);
  w.oneOf('ws.name', filter.workflowName);
  w.oneOf('ws.status', filter.status);
  w.oneOf('ws.authenticated_user', filter.authenticatedUser);
  w.oneOf('ws.application_version', filter.applicationVersion);
  w.oneOf('ws.executor_id', filter.executorID);
  w.oneOf('ws.queue_name', filter.queueName);
  w.oneOf('ws.parent_workflow_id', filter.parentWorkflowID);
  w.oneOf('ws.forked_from', filter.forkedFrom);
  w.oneOf('ws.schedule_name', filter.scheduleName);
  if (filter.workflowIDPrefix?.length) {
    w.clauses.push(`(${filter.workflowIDPrefix.map((p) => `ws.workflow_uuid LIKE ${w.param(escapeLike(p) + '%')} ESCAPE '\\'`).join(' OR ')})`);
  }
  if (filter.queuesOnly) w.clauses.push('ws.queue_name IS NOT NULL');
  w.compare('ws.created_at', '>=', filter.startTime);
  w.compare('ws.created_at', '<=', filter.endTime);
  w.compare('ws.completed_at', '>=', filter.completedAfter);
  w.compare('ws.completed_at', '<=', filter.completedBefore);
  w.compare('ws.started_at_epoch_ms', '>=', filter.dequeuedAfter);
  w.compare('ws.started_at_epoch_ms', '<=', filter.dequeuedBefore);
  w.flag('ws.was_forked_from IS TRUE', filter.wasForkedFrom);
  w.flag('ws.forked_from IS NOT NULL', filter.isFork);
  w.flag('ws.parent_workflow_id IS NOT NULL', filter.hasParent);
  w.contains('ws.attributes', filter.attributes);
  if (filter.applicationNames?.length) {
    w.oneOf('ws.application_name', filter.applicationNames);
  } else if (filter.applicationName !== undefined && !filter.workflowIDs?.length) {
    w.clauses.push(`(ws.application_name = ${w.param(filter.applicationName)} OR ws.application_name IS NULL)`);
  }
  if (filter.search) {
    const pattern = w.param(`%${escapeLike(filter.search.toLowerCase())}%`);
    w.clauses.push(`(lower(ws.workflow_uuid) LIKE ${pattern} ESCAPE '\\' OR lower(ws.name) LIKE ${pattern} ESCAPE '\\')`);
  }
  return w;
}

export async function listWorkflows(db: Queryable, filter: WorkflowFilter): Promise<WorkflowRow[]> {
  const w = whereOf(db.dialect, filter);
  const loadInput = filter.loadInput ?? true;
  const loadOutput = filter.loadOutput ?? true;
  const columns = [
    'ws.*',
    loadInput ? 'COALESCE(wi.inputs, ws.inputs) AS inputs' : 'NULL AS inputs',
    loadOutput ? 'COALESCE(wo.output, ws.output) AS output, COALESCE(wo.error, ws.error) AS error' : 'NULL AS output, NULL AS error',
  ].join(', ');
  const joins = [
    loadInput ? 'LEFT JOIN dbos.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid' : '',
    loadOutput ? 'LEFT JOIN dbos.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid' : '',
  ].join(' ');
  const where = w.clauses.length ? `WHERE ${w.clauses.join(' AND ')}` : '';
  const order = `ORDER BY ws.created_at ${filter.sortDesc ? 'DESC' : 'ASC'}, ws.workflow_uuid ${filter.sortDesc ? 'DESC' : 'ASC'}`;
  let page = '';
  if (filter.limit !== undefined) page += ` LIMIT ${w.param(filter.limit)}`;
  if (filter.offset !== undefined) page += `${filter.limit === undefined ? (db.dialect === 'sqlite' ? ' LIMIT -1' : '') : ''} OFFSET ${w.param(filter.offset)}`;
  const text = `SELECT ${columns} FROM dbos.workflow_status ws ${joins} ${where} ${order}${page}`;
  const rows = await db.query({ name: '', postgres: text }, w.params);
  return rows.map(toWorkflowRow);
}

/** How many rows the filter matches (its limit and offset aside): the total a paged listing shows. */
export async function countWorkflows(db: Queryable, filter: WorkflowFilter): Promise<number> {
  const w = whereOf(db.dialect, filter);
  const where = w.clauses.length ? `WHERE ${w.clauses.join(' AND ')}` : '';
  const rows = await db.query<{ n: number | string }>({ name: '', postgres: `SELECT count(*) AS n FROM dbos.workflow_status ws ${where}` }, w.params);
  return Number(rows[0]?.n ?? 0);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
