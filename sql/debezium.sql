-- outboxd: relay a Debezium-style outbox table (id uuid, aggregatetype, aggregateid, type, payload) as
-- Debezium's Outbox Event Router would publish it: topic route_topic_replacement with ${routedByValue} replaced
-- by the route_by_field column, key from table_field_event_key, the table_field_event_id column as the event id
-- header, the table_field_event_payload column as the value. Not a migration: run as the table's owner, after
-- `outboxd schema install`, by
--   outboxd schema debezium -c /etc/outboxd/outboxd.conf
-- (or psql, giving every variable below with -v). Re-running is harmless.
--
-- An AFTER INSERT trigger on the source table copies each new row into the outbox table in the inserting
-- transaction, so the business change, the Debezium-style row and the outbox row commit or roll back together,
-- and a row the application deletes in the same transaction (the usual pattern with Debezium, which reads the
-- WAL) is still relayed. The outbox table's identity id gives the claim its order; the source table needs no
-- new column. Column names come in as trigger arguments and are quoted with format('%I'); values travel as
-- parameters.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set debezium_fn :table '_from_debezium'
\set debezium_trigger 'outboxd_' :table

-- SECURITY DEFINER: whoever may insert into the source table gets its rows relayed without any privilege on
-- the outbox table itself.
CREATE OR REPLACE FUNCTION :"schema".:"debezium_fn"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- TG_ARGV: 0 outbox schema, 1 outbox table, 2 id column, 3 route-by column, 4 key column,
    -- 5 payload column, 6 topic prefix, 7 topic suffix, 8 payload kind ('json': its JSON text; 'text': as is),
    -- 9 tracing span context column (Debezium's tracingspancontext: java.util.Properties text whose traceparent
    -- and tracestate become headers, unchanged), 10 event type column ('' for none; it becomes ce_type)
    r jsonb := to_jsonb(NEW);
    body text := CASE WHEN TG_ARGV[8] = 'json' THEN (r -> TG_ARGV[5])::text ELSE r ->> TG_ARGV[5] END;
    ctx text := r ->> TG_ARGV[9];
    headers jsonb := jsonb_strip_nulls(jsonb_build_object(
        'traceparent', regexp_replace(rtrim(substring(ctx from '(?n)^traceparent\s*[=:]\s*(.*)$'), E' \t\r'), '\\(.)', '\1', 'g'),
        'tracestate', regexp_replace(rtrim(substring(ctx from '(?n)^tracestate\s*[=:]\s*(.*)$'), E' \t\r'), '\\(.)', '\1', 'g'),
        'ce_type', CASE WHEN TG_ARGV[10] <> '' THEN r ->> TG_ARGV[10] END));
BEGIN
    EXECUTE format('INSERT INTO %I.%I (event_id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5)',
                   TG_ARGV[0], TG_ARGV[1])
    USING (r ->> TG_ARGV[2])::uuid, TG_ARGV[6] || (r ->> TG_ARGV[3]) || TG_ARGV[7], r ->> TG_ARGV[4],
          convert_to(body, 'UTF8'), NULLIF(headers, '{}'::jsonb);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER :"debezium_trigger"
    AFTER INSERT ON :"source_schema".:"source_table"
    FOR EACH ROW EXECUTE FUNCTION :"schema".:"debezium_fn"(:'schema', :'table', :'id_field', :'route_by_field',
        :'key_field', :'payload_field', :'topic_prefix', :'topic_suffix', :'payload_kind', :'trace_field',
        :'type_field');
