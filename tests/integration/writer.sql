-- One writer transaction for t_writers: two events of one key, in order; NULL keys and tombstones now and then;
-- binary payloads; one transaction in ten rolled back (its events must never reach Kafka).
\set k random(1, 300)
\set r random(1, 100)
BEGIN;
SELECT pg_advisory_xact_lock(:k);
SELECT outbox_enqueue('@TOPIC@', CASE WHEN :r <= 5 THEN NULL ELSE 'key-' || :k END,
    CASE WHEN :r = 6 THEN NULL ELSE sha256(random()::text::bytea) || '\x000aff'::bytea END,
    jsonb_build_object('writer', :client_id::text, 'note', 'é ✓ ' || :r));
SELECT outbox_enqueue('@TOPIC@', 'key-' || :k, convert_to('second ' || :r, 'UTF8'));
\if :r <= 10
ROLLBACK;
\else
COMMIT;
\endif
