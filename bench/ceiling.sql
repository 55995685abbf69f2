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

-- relay.on_sent = "keep" (schema version 7, src/pg_progress.c): its claim over a window of the progress row, and
-- per batch one update of that row instead of a write of every delivered row. The table is an outbox at schema
-- version 7 (its xid column and (xid, id) index, ceiling_progress); sql/007_progress.sql says what each column
-- proves. Run as CALL outboxd_bench_progress(batch) after outboxd_bench_progress_reset().

-- Nothing is delivered yet (done NULL) and no window is open.
CREATE OR REPLACE PROCEDURE outboxd_bench_progress_reset()
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ceiling_progress;
    INSERT INTO ceiling_progress DEFAULT VALUES;
END
$$;

CREATE OR REPLACE PROCEDURE outboxd_bench_progress(batch int)
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    strag xid8[];
    ids bigint[];
    s pg_snapshot;
    h bigint;
    x xid8;
    opened boolean := false;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', false);
    PERFORM set_config('jit', 'off', false);
    PERFORM set_config('enable_seqscan', 'off', false);
    PERFORM set_config('enable_bitmapscan', 'off', false);
    -- As the relay's session with "keep": each window is planned for its own bounds.
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', false);
    LOOP
        SELECT * INTO p FROM ceiling_progress WHERE one FOR UPDATE;
        strag := ARRAY(SELECT pg_snapshot_xip(p.done) UNION ALL SELECT g::text::xid8 FROM
                       generate_series(pg_snapshot_xmax(p.done)::text::bigint, p.done_xid::text::bigint - 1) g);
        ids := NULL;
        IF p.target IS NOT NULL THEN
            SELECT array_agg(id ORDER BY id) INTO ids FROM (
                SELECT id, event_id, topic, CASE WHEN size <= 1000000 OR octet_length(key) <= 4096 THEN key END,
                    CASE WHEN size <= 1000000 THEN payload END, CASE WHEN size <= 1000000 THEN headers END,
                    created_at, attempts, size, claimed
                FROM (SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS before, count(*) OVER () AS claimed FROM
                    (SELECT *, CASE WHEN size <= 1000000 THEN size::int ELSE 0 END AS bytes FROM
                        (SELECT t.id, event_id, topic, key, payload, headers, created_at, attempts,
                            (coalesce(octet_length(key), 0) + coalesce(octet_length(payload), 0)
                             + coalesce(pg_column_size(headers), 0))::bigint AS size
                         FROM ((SELECT s.id FROM unnest(strag) AS sx(xid), LATERAL (SELECT a.id FROM ceiling a
                                  WHERE a.xid = sx.xid AND a.id > p.cur AND pg_visible_in_snapshot(a.xid, p.target)
                                  AND a.sent_at IS NULL AND a.failed_at IS NULL ORDER BY a.id LIMIT batch) s
                                ORDER BY s.id LIMIT batch)
                               UNION ALL
                               (SELECT b.id FROM ceiling b WHERE b.id > greatest(p.cur, p.done_hi) AND b.id <= p.hi
                                  AND pg_visible_in_snapshot(coalesce(b.xid, '3'), p.target)
                                  AND NOT coalesce(pg_visible_in_snapshot(coalesce(b.xid, '3'), p.done), false)
                                  AND coalesce(b.xid, '3') <> ALL(strag)
                                  AND b.sent_at IS NULL AND b.failed_at IS NULL ORDER BY b.id LIMIT batch)
                               ORDER BY id LIMIT batch) w JOIN ceiling t ON t.id = w.id) c) s) w
                WHERE before < 16777216) c;
        END IF;
        IF ids IS NULL THEN
            -- The window is delivered: it becomes done, and the next one is everything visible now, with a
            -- transaction id taken after that snapshot. A window opened just now and empty: nothing is left.
            EXIT WHEN opened;
            opened := true;
            SELECT pg_current_snapshot(), (SELECT coalesce(max(id), 0) FROM ceiling), pg_current_xact_id() INTO s, h, x;
            UPDATE ceiling_progress SET done = coalesce(target, done), done_hi = coalesce(hi, done_hi),
                done_xid = CASE WHEN target IS NULL THEN done_xid ELSE target_xid END,
                target = s, hi = h, target_xid = x, cur = 0 WHERE one;
        ELSE
            opened := false;
            UPDATE ceiling_progress SET cur = ids[array_length(ids, 1)] WHERE one;
        END IF;
        COMMIT;
    END LOOP;
END
$$;
