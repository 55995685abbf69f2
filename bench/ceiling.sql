-- The SQL ceiling for bench/run.sh: outboxd's own claim and mark statements, looped inside PostgreSQL with no
-- Kafka, committing per batch. Run as CALL outboxd_bench_ceiling(batch).
CREATE OR REPLACE PROCEDURE outboxd_bench_ceiling(batch int)
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    -- The relay's session settings (src/pg.c, pg_prepare_relay).
    PERFORM set_config('enable_seqscan', 'off', false);
    PERFORM set_config('enable_bitmapscan', 'off', false);
    LOOP
        -- The claim exactly as src/pg.c prepares it (defaults: batch_max_bytes 16 MiB, message.max.bytes 1e6).
        SELECT array_agg(id) INTO ids FROM (
            SELECT id, event_id, topic, CASE WHEN size <= 1000000 THEN key END,
                CASE WHEN size <= 1000000 THEN payload END, CASE WHEN size <= 1000000 THEN headers END,
                created_at, attempts, size, claimed
            FROM (SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS before, count(*) OVER () AS claimed FROM
                (SELECT *, CASE WHEN size <= 1000000 THEN size::int ELSE 0 END AS bytes FROM
                    (SELECT id, event_id, topic, key, payload, headers, created_at, attempts,
                        (coalesce(octet_length(key), 0) + coalesce(octet_length(payload), 0)
                         + coalesce(pg_column_size(headers), 0))::bigint AS size
                     FROM ceiling WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT batch
                     FOR UPDATE SKIP LOCKED) c) s) w
            WHERE before < 16777216 ORDER BY id) c;
        EXIT WHEN ids IS NULL;
        UPDATE ceiling SET sent_at = now() WHERE id = ANY(ids);
        COMMIT;
    END LOOP;
END
$$;
