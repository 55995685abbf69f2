-- outboxd schema, version 5: per-row retry scheduling, and what lets a key wait behind one of its rows.
-- A row whose delivery failed transiently gets next_attempt_at (capped, jittered exponential backoff from its
-- attempts); the relay claims it again only from then on, and meanwhile holds back the later rows of its
-- (topic, key) so their order is kept, while other keys flow. With relay.on_permanent_error = "block_key", a
-- failed row holds back the later rows of its key the same way until it is retried or removed. The index
-- holds only such blocking rows, so checking a claimed row against it costs one probe of a tiny index.
-- Adding the column does not rewrite the table; building the index reads it once.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_blockers_idx :table '_blockers_idx'

ALTER TABLE :"schema".:"table" ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;

CREATE INDEX IF NOT EXISTS :"table_blockers_idx" ON :"schema".:"table" (topic, key, id)
    WHERE sent_at IS NULL AND (next_attempt_at IS NOT NULL OR failed_at IS NOT NULL);

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 5)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
