-- outboxd schema, version 7: what relay.on_sent = "keep" needs, delivery that never writes a delivered row.
-- Why: marking each row sent is an UPDATE that rewrites its 1 KB and its index entries; it is the relay's
-- bottleneck (bench: claim + mark 40-45k rows/s in SQL alone, claim + progress about four times that) and what
-- fills the table with dead tuples for vacuum to chase. With "keep" the relay records its progress once per
-- batch, in the transaction that records it, in <table>_progress:
--   * every row carries the id of the transaction that inserted it (xid; a subtransaction's row carries its
--     top-level transaction's id, which is what snapshots list);
--   * done is a snapshot (pg_snapshot) whose visible rows have all been delivered, done_hi the highest id visible
--     in it; the window being delivered is the rows visible in target (hi: its highest visible id) and not in
--     done, in id order, delivered up to cur;
--   * target_xid is the relay's own transaction id, taken just after target (so done_xid just after done). A
--     window's rows are those of transactions that had their id when done was taken but were not visible in it
--     (listed in done as running, or from done's xmax up to done_xid: a snapshot's xmax is the last finished id
--     + 1, so one that took its id later and still runs is not listed), found through the (xid, id) index, in
--     id order from the cursor for each such transaction; and those of transactions that took their id after
--     done_xid: they drew their row ids after it (<table>_xid_first, version 6), so their ids are above done_hi,
--     which bounds the walk of the primary key. That needs the id sequence uncached (CACHE 1, the default); the
--     relay checks it.
-- When a window is delivered it becomes done, and the next one is everything visible then. Rows never delivered
-- (failed) are the only ones updated. Rows written before version 7 have no xid; they count as committed long
-- ago. The relay creates the progress row when it first runs with "keep"; from then on a relay with "mark" or
-- "delete" refuses the table, as mixing modes would deliver every row twice.
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
\set table_xid_idx :table '_xid_idx'
\set table_progress :table '_progress'
\set table_purge_kept :table '_purge_kept'
\set table_lag :table '_lag'

ALTER TABLE :"schema".:"table" ADD COLUMN IF NOT EXISTS xid xid8;
ALTER TABLE :"schema".:"table" ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX IF NOT EXISTS :"table_xid_idx" ON :"schema".:"table" (xid, id);

-- One row, updated once per batch: HOT updates of a small row, pruned as they go (hence the fillfactor).
-- done NULL: nothing is delivered yet, so the first window is every row not marked sent or failed.
CREATE TABLE IF NOT EXISTS :"schema".:"table_progress" (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    done       pg_snapshot,
    done_hi    bigint NOT NULL DEFAULT 0,
    done_xid   xid8,
    target     pg_snapshot,
    hi         bigint,
    target_xid xid8,
    cur        bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 50);

-- The lag view (version 2) with "keep": a row is pending above the window's cursor and above done (rows of
-- transactions still running below them are not counted). A table without progress is as before.
CREATE OR REPLACE VIEW :"schema".:"table_lag" AS
SELECT topic,
       count(*) FILTER (WHERE NOT failed) AS pending,
       COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE NOT failed)), 0)::numeric(14, 3)
           AS oldest_pending_s,
       count(*) FILTER (WHERE failed) AS failed
FROM (
    SELECT topic, created_at, false AS failed FROM :"schema".:"table" WHERE sent_at IS NULL AND failed_at IS NULL
      AND id > coalesce((SELECT greatest(cur, done_hi) FROM :"schema".:"table_progress" WHERE one), 0)
    UNION ALL
    SELECT topic, created_at, true FROM :"schema".:"table" WHERE failed_at IS NOT NULL AND sent_at IS NULL
) unsent
GROUP BY topic;

-- Retention with "keep": deletes at most max_rows delivered rows older than older_than, oldest first. Delivered
-- means visible in done (a row without xid predates version 7: delivered once done is a real snapshot). Failed
-- rows stay for `outboxd failed`. Owner's rights, as <table>_purge.
CREATE OR REPLACE FUNCTION :"schema".:"table_purge_kept"(older_than interval, max_rows integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH doomed AS (
        SELECT t.id FROM :"schema".:"table" t, :"schema".:"table_progress" p
        WHERE p.one AND t.id <= p.done_hi AND t.created_at < now() - older_than AND t.failed_at IS NULL
          AND pg_visible_in_snapshot(coalesce(t.xid, '3'), p.done)
        ORDER BY t.id LIMIT max_rows
        FOR UPDATE OF t SKIP LOCKED
    ), gone AS (
        DELETE FROM :"schema".:"table" t USING doomed WHERE t.id = doomed.id RETURNING 1
    )
    SELECT count(*)::integer FROM gone;
END;

REVOKE ALL ON FUNCTION :"schema".:"table_purge_kept"(interval, integer) FROM PUBLIC;

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 7)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
