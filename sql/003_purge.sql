-- outboxd schema, version 3: <table>_purge(older_than, max_rows), the retention of sent rows. It deletes at most
-- max_rows rows sent longer than older_than ago, oldest first, skipping rows another session holds, and returns
-- how many. It runs with its owner's rights (SECURITY DEFINER), so the relay role gets EXECUTE on it and still
-- no DELETE on the table: it can remove delivered rows and nothing else.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_purge :table '_purge'

CREATE OR REPLACE FUNCTION :"schema".:"table_purge"(older_than interval, max_rows integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH doomed AS (
        SELECT id FROM :"schema".:"table"
        WHERE sent_at < now() - older_than
        ORDER BY id LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM :"schema".:"table" t USING doomed WHERE t.id = doomed.id RETURNING 1
    )
    SELECT count(*)::integer FROM gone;
END;

REVOKE ALL ON FUNCTION :"schema".:"table_purge"(interval, integer) FROM PUBLIC;

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 3)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
