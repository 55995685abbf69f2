-- outboxd schema, version 2: the <table>_lag view, lag per topic read from the table itself, so it works while
-- the daemon is down (monitoring can be granted SELECT on the view alone).
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_lag :table '_lag'

-- Two branches with the partial indexes' own predicates, so neither reads sent rows.
CREATE OR REPLACE VIEW :"schema".:"table_lag" AS
SELECT topic,
       count(*) FILTER (WHERE NOT failed) AS pending,
       COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE NOT failed)), 0)::numeric(14, 3)
           AS oldest_pending_s,
       count(*) FILTER (WHERE failed) AS failed
FROM (
    SELECT topic, created_at, false AS failed FROM :"schema".:"table" WHERE sent_at IS NULL AND failed_at IS NULL
    UNION ALL
    SELECT topic, created_at, true FROM :"schema".:"table" WHERE failed_at IS NOT NULL AND sent_at IS NULL
) unsent
GROUP BY topic;

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 2)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
