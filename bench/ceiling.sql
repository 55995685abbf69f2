-- The SQL ceiling for bench/run.sh: outboxd's own claim and mark statements, looped inside PostgreSQL with no
-- Kafka, committing per batch. Run as CALL outboxd_bench_ceiling(batch, 'mark' | 'delete') on the table "ceiling";
-- 'delete' is what relay.on_sent = "delete" runs in place of the mark.
CREATE OR REPLACE PROCEDURE outboxd_bench_ceiling(batch int, on_sent text)
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    cand_xid xid8;
    cand_floor bigint;
    cand_gen bigint;
    ended boolean;
BEGIN
    -- The relay's session settings (src/pg.c, pg_prepare_relay).
    PERFORM set_config('synchronous_commit', 'off', false);
    PERFORM set_config('outboxd.relay', 'on', false);
    PERFORM set_config('jit', 'off', false);
    PERFORM set_config('enable_seqscan', 'off', false);
    PERFORM set_config('enable_bitmapscan', 'off', false);
    LOOP
        -- The claim floor's step (src/pg.c, pg_floor_step): raise it once every transaction older than the last
        -- reading has ended, then read it again.
        IF cand_xid IS NOT NULL THEN
            SELECT pg_snapshot_xmin(pg_current_snapshot()) > cand_xid INTO ended;
            IF ended THEN
                UPDATE ceiling_floor f SET floor = least(cand_floor, (SELECT min(t.id) - 1 FROM ceiling t
                      WHERE t.sent_at IS NULL AND t.failed_at IS NULL AND t.id > (SELECT floor FROM ceiling_floor WHERE one)))
                  WHERE f.one AND f.gen = cand_gen AND f.floor < least(cand_floor, (SELECT min(t.id) - 1 FROM ceiling t
                      WHERE t.sent_at IS NULL AND t.failed_at IS NULL AND t.id > (SELECT floor FROM ceiling_floor WHERE one)));
                cand_xid := NULL;
            END IF;
        END IF;
        IF cand_xid IS NULL THEN
            SELECT f.gen, coalesce((SELECT min(t.id) - 1 FROM ceiling t WHERE t.sent_at IS NULL AND t.failed_at IS NULL
                  AND t.id > f.floor), (SELECT max(t.id) FROM ceiling t WHERE t.id > f.floor), f.floor),
                pg_current_xact_id()
              INTO cand_gen, cand_floor, cand_xid FROM ceiling_floor f WHERE f.one;
        END IF;
        -- The claim as src/pg.c prepares it for the defaults: ordering "key" with one relay owning all
        -- buckets (no bucket filter, no SKIP LOCKED), on_permanent_error "park", batch_max_bytes 16 MiB,
        -- message.max.bytes 1e6. The relay's claim also leaves out a chain's batch still in Kafka (an
        -- int8multirange, empty for the first claim of a chain); here nothing is in Kafka, so that filter is left out.
        WITH blocked AS MATERIALIZED (SELECT DISTINCT b.topic, b.key FROM ceiling b WHERE b.sent_at IS NULL
            AND (b.next_attempt_at IS NOT NULL OR b.failed_at IS NOT NULL) AND b.key IS NOT NULL
            AND b.next_attempt_at > now())
        SELECT array_agg(id) INTO ids FROM (
            SELECT id, event_id, topic, CASE WHEN size <= 1000000 OR octet_length(key) <= 4096 THEN key END,
                CASE WHEN size <= 1000000 THEN payload END, CASE WHEN size <= 1000000 THEN headers END,
                created_at, attempts, size, claimed, bucket
            FROM (SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS before, count(*) OVER () AS claimed FROM
                (SELECT *, CASE WHEN size <= 1000000 THEN size::int ELSE 0 END AS bytes FROM
                    (SELECT id, event_id, topic, key, payload, headers, created_at, attempts,
                        (coalesce(octet_length(key), 0) + coalesce(octet_length(payload), 0)
                         + coalesce(pg_column_size(headers), 0))::bigint AS size, ceiling_bucket(key, id) AS bucket
                     FROM ceiling t WHERE sent_at IS NULL AND failed_at IS NULL
                       AND t.id > (SELECT floor FROM ceiling_floor WHERE one)
                       AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())
                       AND (t.key IS NULL OR (t.topic, t.key) NOT IN (SELECT topic, key FROM blocked))
                     ORDER BY id LIMIT batch FOR UPDATE) c) s) w
            WHERE before < 16777216 ORDER BY id) c;
        EXIT WHEN ids IS NULL;
        IF on_sent = 'delete' THEN
            DELETE FROM ceiling WHERE id = ANY(ids);
        ELSE
            UPDATE ceiling SET sent_at = now() WHERE id = ANY(ids);
        END IF;
        COMMIT;
    END LOOP;
END
$$;
