# Kafka down for a few seconds (shorter than the delivery timeout): events enqueued meanwhile wait in the
# producer and arrive when the broker is back; nothing lost, duplicated or reordered; the relay never restarts.
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker"; exit 0; }
t_db
t_conf "$T_DIR/o.conf" "batch_size = 100;"
t_install "$T_DIR/o.conf"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 10), convert_to('a' || g, 'UTF8')) FROM generate_series(1, 500) g" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "first wave not sent"
harness_stop_kafka
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 10), convert_to('b' || g, 'UTF8')) FROM generate_series(1, 500) g" >/dev/null
sleep 2
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")" 500 "rows marked sent while Kafka was down"
harness_resume_kafka
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 60 || t_fail "not drained after Kafka came back"
kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
t_check --max-dup 0
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
