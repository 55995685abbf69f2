-- make demo's writers: an order changes and its event is enqueued in the same transaction; 1 in 10 rolls back.
\set k random(1, 50)
\set r random(1, 100)
BEGIN;
SELECT pg_advisory_xact_lock(:k);
SELECT outbox_enqueue('demo.orders', 'order-' || :k,
    convert_to(json_build_object('order', :k, 'status', (ARRAY['created','paid','shipped'])[1 + :r % 3], 'writer', :client_id)::text, 'UTF8'),
    jsonb_build_object('type', 'OrderUpdated'));
\if :r <= 10
ROLLBACK;
\else
COMMIT;
\endif
