-- outboxd schema, version 10: retention by whole partitions for a table delivered with relay.on_sent = "keep".
-- Why: a delivered row is never written with "keep", but retention still DELETEd it, which leaves a dead tuple
-- per row for vacuum, and vacuum cannot remove them while any snapshot older than the delete is held. Once the
-- table is partitioned by id ranges (`outboxd schema partition`, sql/partition.sql) <table>_purge_kept removes
-- whole partitions instead: TRUNCATE, then DROP. A partition goes when
--   * every id in its range has been drawn from the sequence, so no transaction that starts from now on can
--     insert into it (ids are drawn after the inserting transaction's xid: version 6's <table>_xid_first);
--   * with its ACCESS EXCLUSIVE lock held, no transaction has uncommitted rows in it, and every committed row
--     in it is delivered: visible in done (version 7), or in the window (target) up to its cursor. Rows of transactions newer than done's xmin are found
--     through the (xid, id) index. A transaction that drew an id in the range long ago and inserts after the
--     truncate leaves a row the window still delivers (in the partition, or in the default one once dropped);
--   * its newest row (highest id) is older than older_than, and no replay range reaches into it;
--   * its failed rows (and those set aside behind them) have moved first: inserted again with a new id, in id
--     order, with their failure, so `outboxd failed list` and `retry` still find them (under new ids).
-- The call also keeps two whole partitions ahead of the sequence, named <table>_p<first id>, and a DEFAULT
-- partition catches rows beyond it if no relay ran for that long; the default partition is purged by DELETE as
-- before. Locks are taken with a 50 ms timeout: a session holding the table (say a report reading it for an
-- hour) makes the call skip that step, never wait, and the next call tries again.
-- older_than NULL (relay.retention_s = 0): only the partition ahead. A table that is not partitioned is purged by
-- DELETE exactly as in version 7.
-- Apply with `outboxd schema install`, or psql as for 001_outbox.sql.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_purge_kept :table '_purge_kept'

-- The work, for any outbox table; called only by <table>_purge_kept, with its owner's rights.
CREATE OR REPLACE FUNCTION :"schema".outboxd_purge_kept(s text, t text, older_than interval, max_rows integer)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, :"schema", pg_temp
SET lock_timeout = '50ms'
AS $$
DECLARE
    parent   regclass := format('%I.%I', s, t)::regclass;
    progress regclass := format('%I.%I', s, t || '_progress')::regclass;
    deflt    regclass;
    done     pg_snapshot;
    target   pg_snapshot;
    cur      bigint;
    rto      bigint;
    rcur     bigint;
    last     bigint;
    size     bigint;
    ahead    bigint;
    p        record;
    n        integer := 0;
    total    integer := 0;
    ok       boolean;
    i        integer;
    doomed   constant text := 'WITH doomed AS (SELECT o.id FROM %s o, %s p WHERE p.one AND o.id <= p.done_hi'
        ' AND o.created_at < now() - $1 AND o.failed_at IS NULL'
        ' AND pg_visible_in_snapshot(coalesce(o.xid, ''3''), p.done) ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED),'
        ' gone AS (DELETE FROM %s o USING doomed WHERE o.id = doomed.id RETURNING 1) SELECT count(*)::integer FROM gone';
BEGIN
    SELECT nullif(pt.partdefid, 0) INTO deflt FROM pg_partitioned_table pt WHERE pt.partrelid = parent;
    IF NOT FOUND THEN
        IF older_than IS NULL THEN
            RETURN 0;
        END IF;
        EXECUTE format(doomed, parent, progress, parent) INTO n USING older_than, max_rows;
        RETURN n;
    END IF;
    -- Relays call this every second (the standby ones too): one at a time per table, the others go on.
    IF NOT pg_try_advisory_xact_lock(7374920000000 + parent::oid::bigint) THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT done, target, cur, replay_to, replay_cur FROM %s WHERE one', progress)
        INTO done, target, cur, rto, rcur;
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s',
                   pg_get_serial_sequence(parent::text, 'id')) INTO last;

    -- Two whole partitions ahead of the sequence. Adding one waits for no writer (outboxd_partition_add); a
    -- session reading the default partition makes it wait for the next call.
    FOR i IN 1..4 LOOP
        SELECT b.hi, b.hi - b.lo INTO ahead, size FROM outboxd_partitions(parent) b ORDER BY b.hi DESC LIMIT 1;
        EXIT WHEN ahead - 1 - last >= 2 * size;
        BEGIN
            PERFORM outboxd_partition_add(parent, ahead, size, deflt);
        EXCEPTION WHEN lock_not_available THEN
            EXIT;
        END;
    END LOOP;

    IF (done IS NULL AND target IS NULL) OR older_than IS NULL THEN
        RETURN 0;
    END IF;
    FOR p IN SELECT b.rel, b.lo, b.hi FROM outboxd_partitions(parent) b WHERE b.hi - 1 <= last
             AND (rto IS NULL OR b.hi - 1 <= rcur OR b.lo > rto) ORDER BY b.hi LOOP
        BEGIN
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p.rel);
            -- Until the first window is done (done NULL) every row is checked, not only the newer ones.
            EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %1$s WHERE ($1 IS NULL OR xid >= pg_snapshot_xmin($1))'
                           '  AND sent_at IS NULL AND failed_at IS NULL'
                           '  AND NOT coalesce(pg_visible_in_snapshot(coalesce(xid, ''3''), $1), false)'
                           '  AND NOT coalesce(pg_visible_in_snapshot(coalesce(xid, ''3''), $3) AND id <= $4, false))'
                           ' AND coalesce((SELECT created_at < now() - $2 FROM %1$s ORDER BY id DESC LIMIT 1), true)',
                           p.rel) INTO ok USING done, older_than, target, cur;
            IF NOT ok THEN
                EXIT; -- later partitions hold later rows
            END IF;
            EXECUTE format('INSERT INTO %s (event_id, topic, key, payload, headers, created_at, failed_at, attempts,'
                           ' last_error) SELECT event_id, topic, key, payload, headers, created_at, failed_at,'
                           ' attempts, last_error FROM %s WHERE failed_at IS NOT NULL AND sent_at IS NULL ORDER BY id',
                           parent, p.rel);
            EXECUTE format('SELECT count(*)::integer FROM %s WHERE failed_at IS NULL OR sent_at IS NOT NULL', p.rel)
                INTO n;
            EXECUTE format('TRUNCATE %s', p.rel);
            BEGIN
                -- DROP locks the parent, and writers queue behind a waiting lock: wait only briefly.
                PERFORM set_config('lock_timeout', '10ms', true);
                EXECUTE format('DROP TABLE %s', p.rel);
            EXCEPTION WHEN lock_not_available THEN
                NULL; -- empty now; dropped by a later call
            END;
            total := total + n;
        EXCEPTION WHEN lock_not_available THEN
            EXIT;
        END;
    END LOOP;

    IF deflt IS NOT NULL THEN
        EXECUTE format(doomed, deflt, progress, deflt) INTO n USING older_than, max_rows;
        total := total + n;
    END IF;
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION :"schema".outboxd_purge_kept(text, text, interval, integer) FROM PUBLIC;

-- The range partitions of an outbox table, with their bounds (lo NULL for MINVALUE); not the default one.
CREATE OR REPLACE FUNCTION :"schema".outboxd_partitions(parent regclass)
RETURNS TABLE (rel regclass, lo bigint, hi bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass, nullif(b[1], 'MINVALUE')::bigint, b[2]::bigint
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
         LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                              'FROM \(''?([-0-9]+|MINVALUE)''?\) TO \(''?([-0-9]+)''?\)') b
    WHERE i.inhparent = parent AND b IS NOT NULL
$$;

-- A new partition of `size` ids from `lo` (or above the default partition's rows, which must stay outside it),
-- with the storage settings of version 1 and event_id unique within it. Created on its own and then attached:
-- ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, which no insert or read conflicts with (CREATE TABLE ...
-- PARTITION OF would take ACCESS EXCLUSIVE and wait for every open writer), and its CHECK spares ATTACH a scan;
-- the default partition is locked and scanned (it is empty unless no relay ran for long).
CREATE OR REPLACE FUNCTION :"schema".outboxd_partition_add(parent regclass, lo bigint, size bigint, deflt regclass)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s    text := (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = parent);
    name text;
    top  bigint;
BEGIN
    IF deflt IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', deflt);
        EXECUTE format('SELECT max(id) + 1 FROM %s', deflt) INTO top;
        lo := greatest(lo, top);
    END IF;
    name := (SELECT relname FROM pg_class WHERE oid = parent) || '_p' || lo;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE,'
                   ' CHECK (id >= %s AND id < %s)) WITH (autovacuum_vacuum_scale_factor = 0.02,'
                   ' autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,'
                   ' autovacuum_vacuum_cost_delay = 1)', s, name, parent, lo, lo + size);
    EXECUTE format('CREATE UNIQUE INDEX ON %I.%I (event_id)', s, name);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%s) TO (%s)', parent, s, name, lo, lo + size);
    RETURN format('%I.%I', s, name)::regclass;
END
$$;
REVOKE ALL ON FUNCTION :"schema".outboxd_partitions(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION :"schema".outboxd_partition_add(regclass, bigint, bigint, regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION :"schema".:"table_purge_kept"(older_than interval, max_rows integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT :"schema".outboxd_purge_kept(:'schema', :'table', older_than, max_rows);
END;

REVOKE ALL ON FUNCTION :"schema".:"table_purge_kept"(interval, integer) FROM PUBLIC;

INSERT INTO :"schema".outboxd_schema (table_name, version) VALUES (:'table', 10)
ON CONFLICT (table_name) DO UPDATE
    SET version = greatest(outboxd_schema.version, excluded.version), installed_at = now();
