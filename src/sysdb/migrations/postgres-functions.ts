import { NOW_MS, quoteLiteral } from './sql.js';

/**
 * The trigger and the SQL functions of DBOS's schema at version 123, for schema `s` (already quoted).
 *
 * Every function pins `search_path` to pg_catalog, so a caller's search_path (or an object a less trusted role put
 * earlier on it) cannot change what the body resolves to; that is why the bodies name every table with its schema.
 * Bodies are passed as ordinary string literals rather than dollar-quoted, so no schema name can end them early.
 * Parameters are referred to as `function.parameter`: several share their names with columns.
 */
export function functionsV123(s: string): string[] {
  return [notificationsTrigger(s), enqueueWorkflow(s), sendMessage(s)].flat();
}

function plpgsql(signature: string, returns: string, body: string): string {
  return `CREATE FUNCTION ${signature} RETURNS ${returns}
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS ${quoteLiteral(body)}`;
}

/** Wakes whoever waits in recv() on the destination: the payload is `<workflow id>::<topic>`. */
function notificationsTrigger(s: string): string[] {
  return [
    plpgsql(
      `${s}.notifications_function()`,
      'trigger',
      `
BEGIN
  PERFORM pg_notify('dbos_notifications_channel', NEW.destination_uuid || '::' || NEW.topic);
  RETURN NEW;
END;
`,
    ),
    `CREATE TRIGGER dbos_notifications_trigger AFTER INSERT ON ${s}.notifications
      FOR EACH ROW EXECUTE FUNCTION ${s}.notifications_function()`,
  ];
}

/**
 * Enqueues a workflow from plain SQL (any language, any tool), with portable_json inputs. Enqueuing an ID that exists
 * is idempotent: only updated_at moves. The dedup index turns a second active workflow with the same dedup ID on the
 * same queue into 'DBOS queue duplicated' (23505), which clients map to their duplicated-queue error.
 */
function enqueueWorkflow(s: string): string {
  const signature = `${s}.enqueue_workflow(
      workflow_name text,
      queue_name text,
      positional_args json[] DEFAULT ARRAY[]::json[],
      named_args json DEFAULT '{}'::json,
      class_name text DEFAULT NULL,
      config_name text DEFAULT NULL,
      workflow_id text DEFAULT NULL,
      app_version text DEFAULT NULL,
      timeout_ms bigint DEFAULT NULL,
      deadline_epoch_ms bigint DEFAULT NULL,
      deduplication_id text DEFAULT NULL,
      priority integer DEFAULT NULL,
      queue_partition_key text DEFAULT NULL,
      authenticated_user text DEFAULT NULL,
      authenticated_roles text DEFAULT NULL,
      delay_until_epoch_ms bigint DEFAULT NULL,
      application_name text DEFAULT NULL)`;
  const body = `
DECLARE
  new_id text := COALESCE(enqueue_workflow.workflow_id, gen_random_uuid()::text);
  now_ms bigint := ${NOW_MS};
BEGIN
  IF COALESCE(enqueue_workflow.workflow_name, '') = '' THEN
    RAISE EXCEPTION 'enqueue_workflow: workflow_name must be a non-empty string';
  END IF;
  IF COALESCE(enqueue_workflow.queue_name, '') = '' THEN
    RAISE EXCEPTION 'enqueue_workflow: queue_name must be a non-empty string';
  END IF;
  IF enqueue_workflow.named_args IS NOT NULL AND json_typeof(enqueue_workflow.named_args) <> 'object' THEN
    RAISE EXCEPTION 'enqueue_workflow: named_args must be a JSON object';
  END IF;
  IF enqueue_workflow.workflow_id = '' THEN
    RAISE EXCEPTION 'enqueue_workflow: workflow_id may be NULL (a new UUID) but not an empty string';
  END IF;
  IF enqueue_workflow.delay_until_epoch_ms < 0 THEN
    RAISE EXCEPTION 'enqueue_workflow: delay_until_epoch_ms must not be negative';
  END IF;

  BEGIN
    -- A fresh owner token; the dispatcher that claims the row replaces it with its own.
    INSERT INTO ${s}.workflow_status (
      workflow_uuid, status, name, class_name, config_name,
      queue_name, deduplication_id, priority, queue_partition_key, application_version,
      created_at, updated_at, recovery_attempts, workflow_timeout_ms, workflow_deadline_epoch_ms,
      owner_xid, serialization, authenticated_user, authenticated_roles,
      delay_until_epoch_ms, application_name)
    VALUES (
      new_id,
      CASE WHEN enqueue_workflow.delay_until_epoch_ms IS NULL THEN 'ENQUEUED' ELSE 'DELAYED' END,
      enqueue_workflow.workflow_name, enqueue_workflow.class_name, enqueue_workflow.config_name,
      enqueue_workflow.queue_name, enqueue_workflow.deduplication_id, COALESCE(enqueue_workflow.priority, 0),
      enqueue_workflow.queue_partition_key, enqueue_workflow.app_version,
      now_ms, now_ms, 0, enqueue_workflow.timeout_ms, enqueue_workflow.deadline_epoch_ms,
      gen_random_uuid()::text, 'portable_json', enqueue_workflow.authenticated_user,
      enqueue_workflow.authenticated_roles, enqueue_workflow.delay_until_epoch_ms, enqueue_workflow.application_name)
    ON CONFLICT (workflow_uuid) DO UPDATE SET updated_at = excluded.updated_at;

    INSERT INTO ${s}.workflow_input (workflow_uuid, inputs, retention_timestamp)
    VALUES (
      new_id,
      json_build_object('positionalArgs', enqueue_workflow.positional_args, 'namedArgs', enqueue_workflow.named_args)::text,
      now_ms)
    ON CONFLICT (workflow_uuid) DO NOTHING;
  EXCEPTION WHEN unique_violation THEN
    -- The only unique index an insert above can still violate is the queue's dedup index.
    RAISE EXCEPTION 'DBOS queue duplicated' USING
      ERRCODE = 'unique_violation',
      DETAIL = format('Queue %s already has an active workflow with deduplication ID %s (enqueuing %s)',
                      enqueue_workflow.queue_name, enqueue_workflow.deduplication_id, new_id);
  END;
  RETURN new_id;
END;
`;
  return plpgsql(signature, 'text', body);
}

/**
 * Sends a message from plain SQL, with a portable_json payload. A message ID makes the send idempotent; the
 * `__null__topic__` stand-in is how every DBOS reader stores "no topic" (so the topic index and recv match it).
 */
function sendMessage(s: string): string {
  const signature = `${s}.send_message(
      destination_id text,
      message json,
      topic text DEFAULT NULL,
      message_id text DEFAULT NULL)`;
  const body = `
BEGIN
  INSERT INTO ${s}.notifications (message_uuid, destination_uuid, topic, message, serialization)
  VALUES (
    COALESCE(send_message.message_id, gen_random_uuid()::text),
    send_message.destination_id,
    COALESCE(send_message.topic, '__null__topic__'),
    send_message.message::text,
    'portable_json')
  ON CONFLICT (message_uuid) DO NOTHING;
EXCEPTION WHEN foreign_key_violation THEN
  RAISE EXCEPTION 'DBOS non-existent workflow' USING
    ERRCODE = 'foreign_key_violation',
    DETAIL = format('No workflow with ID %s exists to receive the message', send_message.destination_id);
END;
`;
  return plpgsql(signature, 'void', body);
}
