-- outboxd schema, version 9: when a table delivered with relay.on_sent = "keep" delivered what, for
-- `outboxd replay --since`.
-- A delivered row is not written, so no row records when it was sent. Instead the relay holding the progress
-- row copies it here at most every 10 seconds, in the transaction that moved it, just before COMMIT, stamped
-- with the clock at that moment: every row the copy counts as delivered was acknowledged by Kafka before `at`.
-- `replay --since T` takes the last copy at or before T: the rows delivered now that it did not count were
-- delivered after it, so after T or in the few seconds before (a replay publishes a few rows more, never fewer).
-- The relay deletes copies older than relay.retention_s with the next one (rows older than that are purged
-- anyway): a handful of small rows, one dead tuple per copy.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql; then `outboxd schema grant` again.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_progress_at :table '_progress_at'

CREATE TABLE IF NOT EXISTS :"schema".:"table_progress_at" (
    at     timestamptz PRIMARY KEY,
    done   pg_snapshot,
    target pg_snapshot,
    cur    bigint NOT NULL
);

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 9)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
