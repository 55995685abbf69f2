-- The SQL ceiling for bench/run.sh: outboxd's own claim and mark statements, looped inside PostgreSQL with no
-- Kafka, committing per batch. Run as CALL outboxd_bench_ceiling(batch).
CREATE OR REPLACE PROCEDURE outboxd_bench_ceiling(batch int)
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    LOOP
        SELECT array_agg(id) INTO ids FROM (
            SELECT id, event_id, topic, key, payload, headers, created_at, attempts FROM ceiling
            WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED) c;
        EXIT WHEN ids IS NULL;
        UPDATE ceiling SET sent_at = now() WHERE id = ANY(ids);
        COMMIT;
    END LOOP;
END
$$;
