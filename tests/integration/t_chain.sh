# relay.batches_per_commit: while a backlog drains, one transaction carries a chain of batches, the next claimed
# while the last is in Kafka. Read back from PostgreSQL: the rows of a chain were marked by one transaction (one
# xmin). A row that fails in the third batch of a chain ends it: the fourth batch, already claimed, holds later
# rows of the failed row's key and must not be published (block_key holds them back); it is claimed again in the
# next transaction, where the failed row holds its key back.
t_db
t_conf "$T_DIR/o.conf" "batch_size = 50; batches_per_commit = 4; on_permanent_error = \"block_key\";"
t_install "$T_DIR/o.conf"
# 1,000 rows over 20 keys; row 330 (batch 7: the third of the second chain) has a header the relay refuses, and
# key kx has more rows in its batch (340), in the next one (360, 380) and in later chains (420, 600).
t_sql "SELECT outbox_enqueue('$T_TOPIC', CASE WHEN g IN (330, 340, 360, 380, 420, 600) THEN 'kx' ELSE 'k' || (g % 20) END,
	convert_to('p' || g, 'UTF8'), CASE WHEN g = 330 THEN '{\"n\": 1}'::jsonb END) FROM generate_series(1, 1000) g" >/dev/null
t_expect_eq "$(t_sql "SELECT id FROM outbox WHERE payload = 'p330'")" 330 "the poisoned row's id"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE key <> 'kx' AND sent_at IS NULL" 0 30 || t_fail "the other keys did not flow"
t_wait_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL" 1 10 || t_fail "row 330 was not failed"
sleep 1
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE key = 'kx' AND sent_at IS NOT NULL")" 0 "rows of the blocked key sent"
# Batches 1-4 were one transaction, 5-7 another (the chain ended at the failure in 7).
t_expect_eq "$(t_sql "SELECT count(DISTINCT xmin::text) FROM outbox WHERE id <= 200")" 1 "transactions that marked rows 1-200"
t_expect_eq "$(t_sql "SELECT count(DISTINCT xmin::text) FROM outbox WHERE id BETWEEN 201 AND 350 AND key <> 'kx'")" 1 \
	"transactions that marked rows 201-350"
t_expect_eq "$(t_sql "SELECT count(DISTINCT xmin::text) FROM outbox WHERE id <= 350 AND key <> 'kx'")" 2 "transactions that marked rows 1-350"
# Fixed and retried, the key flows in order.
t_sql "UPDATE outbox SET headers = '{\"n\": \"1\"}' WHERE id = 330"
"$OUTBOXD" retry 330 -c "$T_DIR/o.conf" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "the key did not flow after the retry"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_check
