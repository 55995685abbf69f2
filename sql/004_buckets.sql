-- outboxd schema, version 4: buckets of keys, so several relays can share a table and keep per-key order.
-- Every row falls into one of 64 buckets by a stable hash of its key (rows without a key by id). A relay claims
-- only rows of the buckets it owns, and owns a bucket by holding a session-level advisory lock on
-- (table oid, bucket) on the connection that claims and marks: when that session ends, for any reason, the
-- bucket is free and the old owner can no longer mark anything. <table>_buckets counts, per bucket, how often it
-- changed hands (epoch, a fencing token sent with each message when relay.epoch_header is set); <table>_relays is
-- the heartbeat table through which relays see each other and fence a hung peer.
-- The number of buckets is fixed when this file runs: it is the function below and the rows of <table>_buckets.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_bucket :table '_bucket'
\set table_buckets :table '_buckets'
\set table_relays :table '_relays'

-- hashtext is the hash PostgreSQL's own hash partitioning relies on, so it does not change under pg_upgrade.
-- IMMUTABLE and a plain SQL body let the planner inline it into the relay's claim.
CREATE OR REPLACE FUNCTION :"schema".:"table_bucket"(key text, id bigint)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN key IS NULL THEN (id % 64)::integer ELSE (hashtext(key) & 2147483647) % 64 END;

CREATE TABLE IF NOT EXISTS :"schema".:"table_buckets" (
    bucket   integer PRIMARY KEY CHECK (bucket >= 0 AND bucket < 64),
    epoch    bigint NOT NULL DEFAULT 0,   -- +1 each time a relay takes the bucket
    owner    text,                        -- the relay that took it last (it may have let go since)
    taken_at timestamptz
);
INSERT INTO :"schema".:"table_buckets" (bucket) SELECT generate_series(0, 63) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS :"schema".:"table_relays" (
    instance      text PRIMARY KEY,
    pid           integer NOT NULL,        -- backend of the relay's claiming session
    backend_start timestamptz NOT NULL,    -- with pid, names that session even after pid reuse
    ordering      text NOT NULL,
    heartbeat_at  timestamptz NOT NULL
);

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 4)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
