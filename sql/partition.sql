-- outboxd: make an outbox table partitioned by id ranges, so that retention with relay.on_sent = "keep" removes
-- whole partitions instead of deleting rows (version 10, sql/010_rotate.sql). Not a migration: run it with
--   outboxd schema partition -c /etc/outboxd/outboxd.conf
-- which first installs or upgrades the table, then runs this, then every sql/0*.sql again in the same
-- transaction (their functions, view and triggers are bound to the table, which is now the old partition).
-- What it does, under an ACCESS EXCLUSIVE lock on the table for one scan of it (ATTACH checks the bound):
--   * the table becomes <table>_p0, the partition of every id drawn so far; its indexes and constraints keep
--     their definitions under <table>_p0 names, and its statement triggers go to the new parent;
--   * a new parent <table> PARTITION BY RANGE (id) with the same columns, defaults and checks, its primary key,
--     the table's privileges (whole-table and per-column), and p0 attached; the indexes come from the scripts run
--     again, which attach p0's own instead of building them;
--   * the id is drawn from a new sequence <table>_id_seq (CACHE 1, as version 7 needs) starting where the old
--     identity stopped. PostgreSQL 15 has no identity column on a partitioned table, so id is a plain DEFAULT:
--     never insert ids yourself;
--   * one partition of part_rows ids ahead, and <table>_pdefault, the DEFAULT partition;
--   * event_id is unique within each partition (a unique index across partitions would have to include id).
-- A table that is already partitioned is left as it is.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\if :{?part_rows}
\else
\set part_rows '1000000'
\endif

CREATE OR REPLACE FUNCTION :"schema".outboxd_partition(s text, t text, part_rows bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, :"schema", pg_temp
AS $$
DECLARE
    old   regclass := format('%I.%I', s, t)::regclass;
    p0    text := t || '_p0';
    bound bigint;
    r     record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = old) THEN
        RETURN false;
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', old);
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END + 1 FROM %s',
                   pg_get_serial_sequence(old::text, 'id')) INTO bound;

    EXECUTE format('ALTER TABLE %s ALTER COLUMN id DROP IDENTITY', old);
    EXECUTE format('ALTER TABLE %s RENAME TO %I', old, p0);
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = old AND left(c.relname, length(t) + 1) = t || '_' LOOP
        EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', s, r.relname, p0 || substr(r.relname, length(t) + 1));
    END LOOP;
    FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = old AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, old);
    END LOOP;

    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE'
                   ' INCLUDING COMMENTS) PARTITION BY RANGE (id)', s, t, old);
    EXECUTE format('CREATE SEQUENCE %I.%I AS bigint START %s CACHE 1 OWNED BY %I.%I.id', s, t || '_id_seq', bound,
                   s, t);
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN id SET DEFAULT nextval(%L)', s, t, format('%I.%I', s, t || '_id_seq'));
    EXECUTE format('ALTER TABLE %I.%I ADD PRIMARY KEY (id)', s, t);
    EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %s FOR VALUES FROM (MINVALUE) TO (%s)', s, t, old, bound);
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I DEFAULT', s, t || '_pdefault', s, t);
    PERFORM outboxd_partition_add(format('%I.%I', s, t)::regclass, bound, part_rows, NULL);

    -- The privileges the old table had (schema grant's, or yours), on the new parent.
    FOR r IN SELECT a.privilege_type, a.grantee FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = old AND a.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', r.privilege_type, s, t,
                       CASE r.grantee WHEN 0 THEN 'PUBLIC' ELSE r.grantee::regrole::text END);
    END LOOP;
    FOR r IN SELECT at.attname, a.privilege_type, a.grantee FROM pg_attribute at, aclexplode(at.attacl) a
             WHERE at.attrelid = old AND at.attnum > 0 AND NOT at.attisdropped LOOP
        EXECUTE format('GRANT %s (%I) ON %I.%I TO %s', r.privilege_type, r.attname, s, t,
                       CASE r.grantee WHEN 0 THEN 'PUBLIC' ELSE r.grantee::regrole::text END);
    END LOOP;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION :"schema".outboxd_partition(text, text, bigint) FROM PUBLIC;

SELECT :"schema".outboxd_partition(:'schema', :'table', :'part_rows');
