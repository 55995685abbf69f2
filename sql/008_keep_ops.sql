-- outboxd schema, version 8: `outboxd retry` and `outboxd replay` for a table delivered with
-- relay.on_sent = "keep".
-- Retry. With "keep" the relay's progress has moved past a failed row for good (its window is done), so clearing
-- failed_at, as retry does with "mark", would leave the row pending below the progress, never claimed. Instead the
-- row moves: it is deleted and inserted again in one statement, with the same event id, topic, key, payload,
-- headers, created_at, attempts and last error, and a new id and transaction id, so the next window delivers it
-- like any row just written. Consumers de-duplicate on the event id as before. Like a retry with "mark", the
-- retried event reaches Kafka after the later events of its key that were delivered meanwhile.
-- The relay's role may not insert or delete rows, so the move runs with the owner's rights (as <table>_purge),
-- and moves only failed rows: the role gains nothing else. ids NULL moves every failed row. Returns how many
-- moved; the caller checks that count against the ids it gave, in its transaction.
-- Replay. Rows are not written when delivered, so they cannot be made pending again; moving them would put them
-- after rows still pending and reorder their keys. Instead `outboxd replay` records a range in the progress row:
-- the relay that holds it publishes again the delivered rows with ids above replay_cur up to replay_to (of
-- replay_topic, NULL: every topic), in id order, saving replay_cur after each batch, before it goes on with its
-- window; it clears the range when no row is left in it. One replay at a time.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql; then `outboxd schema grant` again.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_retry_kept :table '_retry_kept'
\set table_progress :table '_progress'

ALTER TABLE :"schema".:"table_progress"
    ADD COLUMN IF NOT EXISTS replay_to bigint,
    ADD COLUMN IF NOT EXISTS replay_cur bigint,
    ADD COLUMN IF NOT EXISTS replay_topic text;

CREATE OR REPLACE FUNCTION :"schema".:"table_retry_kept"(ids bigint[])
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH gone AS (
        DELETE FROM :"schema".:"table" t
        WHERE t.failed_at IS NOT NULL AND t.sent_at IS NULL AND (ids IS NULL OR t.id = ANY (ids))
        RETURNING t.id, t.event_id, t.topic, t.key, t.payload, t.headers, t.created_at, t.attempts, t.last_error
    ), moved AS (
        INSERT INTO :"schema".:"table" (event_id, topic, key, payload, headers, created_at, attempts, last_error)
        SELECT event_id, topic, key, payload, headers, created_at, attempts, last_error FROM gone ORDER BY id
        RETURNING 1
    )
    SELECT count(*)::integer FROM moved;
END;

REVOKE ALL ON FUNCTION :"schema".:"table_retry_kept"(bigint[]) FROM PUBLIC;

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 8)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
