-- outboxd schema, version 1: the outbox table, its enqueue function and its NOTIFY trigger.
--
-- Apply with either of:
--   outboxd schema install -c /etc/outboxd/outboxd.conf
--   psql -v ON_ERROR_STOP=1 -v schema=public -v table=outbox -1 -f sql/001_outbox.sql
-- Re-running is a no-op; later versions (002_*.sql, ...) upgrade in place. Needs PostgreSQL 14 or later.
-- Lines starting with a backslash are for psql only; `outboxd schema print` drops them and fills in the names.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_pending_idx :table '_pending_idx'
\set table_failed_idx :table '_failed_idx'
\set table_enqueue :table '_enqueue'
\set table_notify :table '_notify'

CREATE SCHEMA IF NOT EXISTS :"schema";

-- Which outboxd schema version each outbox table in this schema is at.
CREATE TABLE IF NOT EXISTS :"schema".outboxd_schema (
    table_name   text PRIMARY KEY,
    version      integer NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS :"schema".:"table" (
    -- Claim order. Per-key order of delivery is id order.
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The idempotency key, sent as a message header: consumers de-duplicate on it.
    event_id    uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    topic       text NOT NULL CHECK (topic <> ''),
    key         text,            -- NULL: the message has no key
    payload     bytea,           -- NULL: a tombstone
    headers     jsonb CHECK (headers IS NULL OR jsonb_typeof(headers) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,     -- set only after the broker acknowledged the message
    failed_at   timestamptz,     -- set when the message can never be delivered as it is; see last_error
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);

-- The relay claims from these; they stay small however large the table grows.
CREATE INDEX IF NOT EXISTS :"table_pending_idx" ON :"schema".:"table" (id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS :"table_failed_idx" ON :"schema".:"table" (id)
    WHERE failed_at IS NOT NULL AND sent_at IS NULL;

-- A queue table churns: vacuum it early and without throttling. A partitioned outbox (`outboxd schema
-- partition`) has no storage of its own: each partition gets these when it is created (sql/010_rotate.sql).
SET outboxd.ddl_table = :'table';
SET outboxd.ddl_schema = :'schema';
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = format('%I.%I',
                   current_setting('outboxd.ddl_schema'), current_setting('outboxd.ddl_table'))::regclass) THEN
        EXECUTE format('ALTER TABLE %I.%I SET (autovacuum_vacuum_scale_factor = 0.02,'
                       ' autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,'
                       ' autovacuum_vacuum_cost_delay = 1)',
                       current_setting('outboxd.ddl_schema'), current_setting('outboxd.ddl_table'));
    END IF;
END
$$;

-- What applications call inside their own transaction. Returns the event id.
CREATE OR REPLACE FUNCTION :"schema".:"table_enqueue"(
    topic text, key text, payload bytea, headers jsonb DEFAULT NULL, event_id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE sql
BEGIN ATOMIC
    INSERT INTO :"schema".:"table" (event_id, topic, key, payload, headers)
    VALUES (COALESCE($5, gen_random_uuid()), $1, $2, $3, $4)
    RETURNING event_id;
END;

-- One wake-up per inserting statement (identical notifications in a transaction fold into one). The channel
-- is named after the table's oid so that it always fits PostgreSQL's 63-byte limit.
CREATE OR REPLACE FUNCTION :"schema".outboxd_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outboxd_' || TG_RELID::text, '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER :"table_notify"
    AFTER INSERT ON :"schema".:"table"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".outboxd_notify();

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 1)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
