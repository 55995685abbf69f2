# relay.on_sent = "delete": a delivered row is deleted in the transaction that would have marked it; failed rows
# stay. A relay without DELETE refuses to start (exit 78) before it publishes anything, since PostgreSQL would
# only refuse the DELETE after the batch was out, and then the batch would be sent again and again.
t_db
t_conf "$T_DIR/o.conf" 'on_sent = "delete";'
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 10), convert_to('v' || i, 'UTF8')) FROM generate_series(1, 500) i" >/dev/null
t_sql "SELECT outbox_enqueue('bad topic!', 'k', 'parked'::bytea)" >/dev/null

rc=0
timeout 30 "$OUTBOXD" run -c "$T_DIR/o.conf" >"$T_DIR/refused.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "exit status without DELETE"
t_expect_grep "$T_DIR/refused.log" 'needs DELETE on .*public.*outbox.*GRANT DELETE'
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")" 501 "nothing claimed"

t_sql "GRANT DELETE ON outbox TO relay"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox" 1 30 || t_fail "delivered rows not deleted: $(t_sql "SELECT count(*) FROM outbox")"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_expect_eq "$(t_sql "SELECT topic FROM outbox WHERE failed_at IS NOT NULL")" "bad topic!" "the failed row stays"

# Every deleted row is in Kafka once, and each key's events arrive in enqueue order.
kcat -C -b "$H_KAFKA_BROKERS" -t "$T_TOPIC" -e -q -f '%k %s\n' >"$T_DIR/topic.txt"
t_expect_eq "$(wc -l <"$T_DIR/topic.txt")" 500 "messages in Kafka"
t_expect_eq "$(sort -u "$T_DIR/topic.txt" | wc -l)" 500 "distinct events"
awk '{ n = substr($2, 2) + 0; if ($1 in last && n < last[$1]) { print "out of order: " $0; bad = 1 } last[$1] = n }
     END { exit bad }' "$T_DIR/topic.txt" || t_fail "per-key order"
