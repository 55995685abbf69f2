# relay.dead_letter_topic: each failed row is also published to the dead-letter topic, with its key, payload and
# headers when they are usable, its event id, and headers saying why it failed and where it was going; the row
# is marked failed with that noted. Rows that fail are: headers that are not strings, an invalid topic, and a
# row larger than the producer's message.max.bytes (never read: its copy has no payload).
t_db
DLQ="$T_TOPIC-dlq"
t_conf "$T_DIR/o.conf" "batch_size = 50; dead_letter_topic = \"$DLQ\";"
sed -i 's|kafka: { brokers = "\([^"]*\)"; };|kafka: { brokers = "\1"; properties = [ "message.max.bytes=100000" ]; };|' "$T_DIR/o.conf"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || g, convert_to('ok' || g, 'UTF8')) FROM generate_series(1, 20) g" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'bad-headers', convert_to('p1', 'UTF8'), '{\"n\": 1}')" >/dev/null
t_sql "SELECT outbox_enqueue('bad topic!', 'bad-topic', convert_to('p2', 'UTF8'), '{\"h\": \"v\"}')" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'too-big', convert_to(repeat('x', 200000), 'UTF8'))" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "not relayed"
t_stop_relay
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE '%(copied to the dead-letter topic)'")" 3 \
	"failed rows noted as copied"
kcat -C -b "$H_KAFKA_BROKERS" -t "$DLQ" -e -q -f 'key=%k size=%S headers=%h\n' >"$T_DIR/dlq.out"
cat "$T_DIR/dlq.out"
t_expect_eq "$(wc -l <"$T_DIR/dlq.out")" 3 "messages on the dead-letter topic"
for k in bad-headers bad-topic too-big; do
	id=$(t_sql "SELECT event_id FROM outbox WHERE key = '$k'")
	grep "^key=$k " "$T_DIR/dlq.out" | grep -q "id=$id" || t_fail "$k: no copy with its event id"
	grep "^key=$k " "$T_DIR/dlq.out" | grep -q 'outboxd-error=' || t_fail "$k: no outboxd-error header"
done
t_expect_grep "$T_DIR/dlq.out" "^key=bad-topic size=2 headers=id=[-0-9a-f]*,h=v,outboxd-error=invalid topic name.*,outboxd-topic=bad topic!$"
t_expect_grep "$T_DIR/dlq.out" "^key=bad-headers size=2 headers=id=[-0-9a-f]*,outboxd-error=headers: value of \"n\" is not a string,outboxd-topic=$T_TOPIC$"
t_expect_grep "$T_DIR/dlq.out" "^key=too-big size=-1 headers=id=[-0-9a-f]*,outboxd-error=row is 200007 bytes, more than the producer's message.max.bytes (100000),outboxd-topic=$T_TOPIC$"
t_check --expect-failed 3
