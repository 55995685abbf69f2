-- outboxd schema, version 6: the claim floor, so that a long-open transaction does not slow the relay down more
-- with every row it sends.
-- Why: a marked (or deleted) row leaves an entry in the pending index until vacuum removes it, and vacuum cannot
-- while any transaction in the database is older than the mark. The claim walks the index in id order from the
-- start, so with pg_dump or a long report running it steps over every row sent since that transaction began:
-- each batch costs more than the last (measured: 19,000 events/s falling to 2,000 within a 1M backlog).
-- <table>_floor holds an id below which no row is pending, so the claim starts there. The relay raises it only
-- to a point proved safe:
--   * <table>_xid_first gives every inserting transaction its transaction id before any row id is drawn, so a row
--     not yet visible below a visible one belongs to a transaction that already had an id at that moment;
--   * the relay reads (in one snapshot) the first pending id above the floor and takes a transaction id of its
--     own; once no transaction older than that is left it raises the floor to just below that id, or below the
--     first row pending then if that is lower (their rows have become visible meanwhile);
--   * any other UPDATE of the table (outboxd retry or replay, or by hand) can make a row pending again: the
--     statement trigger <table>_floor_reset puts the floor back to 0 and bumps gen, which voids a raise that was
--     computed before; TRUNCATE does the same (ids may restart).
-- Setting the table's identity sequence back (setval, ALTER SEQUENCE RESTART) is not seen: reset the floor then
-- (UPDATE <table>_floor SET floor = 0, gen = gen + 1).
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_floor :table '_floor'
\set table_floor_reset :table '_floor_reset'
\set table_floor_truncate :table '_floor_truncate'
\set table_xid_first :table '_xid_first'

CREATE TABLE IF NOT EXISTS :"schema".:"table_floor" (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    floor bigint NOT NULL DEFAULT 0,  -- no row with an id at or below this is pending
    gen   bigint NOT NULL DEFAULT 0   -- +1 at every reset
);
INSERT INTO :"schema".:"table_floor" DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION :"schema".outboxd_xid_first() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER :"table_xid_first"
    BEFORE INSERT ON :"schema".:"table"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".outboxd_xid_first();

-- Runs as the owner, so any role allowed to UPDATE the outbox resets the floor without a grant on it. The relay's
-- own statements (marking sent, failed or for retry) never make a row pending again; its session says so.
CREATE OR REPLACE FUNCTION :"schema".outboxd_floor_reset() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('outboxd.relay', true) = 'on' THEN
        RETURN NULL;
    END IF;
    EXECUTE format('UPDATE %I.%I SET floor = 0, gen = gen + 1', TG_TABLE_SCHEMA, TG_TABLE_NAME || '_floor');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION :"schema".outboxd_floor_reset() FROM PUBLIC;

CREATE OR REPLACE TRIGGER :"table_floor_reset"
    AFTER UPDATE ON :"schema".:"table"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".outboxd_floor_reset();
CREATE OR REPLACE TRIGGER :"table_floor_truncate"
    AFTER TRUNCATE ON :"schema".:"table"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".outboxd_floor_reset();

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 6)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
