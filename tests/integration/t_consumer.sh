# The reference consumer (examples/consumer) and `outboxd replay`: a topic that holds every event once, then
# duplicates from two replays (by id, and by time and topic). The consumer applies each event exactly once:
# balances equal the sums of the events' amounts, each event is recorded once, and every duplicate is skipped.
# replay refuses ambiguous input and changes nothing then.
t_db
t_conf "$T_DIR/o.conf" "batch_size = 100; poll_interval_ms = 200;"
t_install "$T_DIR/o.conf"
OTHER="$T_TOPIC-other"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'acct-' || (g % 20), convert_to((g % 7 + 1)::text, 'UTF8')) FROM generate_series(1, 500) g" >/dev/null
t_sql "SELECT outbox_enqueue('$OTHER', 'acct-x', convert_to('5', 'UTF8')) FROM generate_series(1, 10)" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not relayed"

# Ambiguous or malformed replays are refused before anything changes.
for args in "replay" "replay --from-id 1 --since 2020-01-01" "replay --from-id -3" "replay --all" "replay --from-id 1 extra"; do
	rc=0
	"$OUTBOXD" $args -c "$T_DIR/o.conf" >"$T_DIR/refused.out" 2>&1 || rc=$?
	t_expect_eq "$rc" 64 "exit status of: $args"
done
rc=0
"$OUTBOXD" replay --since 'not a time' -c "$T_DIR/o.conf" >"$T_DIR/refused.out" 2>&1 || rc=$?
t_expect_eq "$rc" 65 "exit status of a replay with a time PostgreSQL cannot read"
t_expect_grep "$T_DIR/refused.out" 'cannot replay'
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL")" 0 "rows pending after refused replays"

# Replay by id: the last 200 rows of the table go out again.
first=$(t_sql "SELECT max(id) - 199 FROM outbox")
"$OUTBOXD" replay --from-id "$first" -c "$T_DIR/o.conf" >"$T_DIR/replay1.out"
t_expect_grep "$T_DIR/replay1.out" '^replayed 200 rows'
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "replay by id not relayed"
# Replay by time and topic: everything sent since before the test began, of the first topic only.
"$OUTBOXD" replay --since "$(t_sql "SELECT min(created_at) - interval '1 minute' FROM outbox")" --topic "$T_TOPIC" \
	-c "$T_DIR/o.conf" >"$T_DIR/replay2.out"
t_expect_grep "$T_DIR/replay2.out" '^replayed 500 rows'
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "replay by time not relayed"
"$OUTBOXD" replay --from-id 999999999 -c "$T_DIR/o.conf" >"$T_DIR/replay3.out"
t_expect_grep "$T_DIR/replay3.out" '^replayed 0 rows'
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"

# The topic now holds 500 events and 200 + 500 - 10 (the other topic's rows in the id replay) duplicates.
dups=$((200 - 10 + 500))
"$TOOLS/consumer" --pg "$T_CONNINFO" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC" --group "g1-$T_TOPIC" \
	--idle-exit-ms 1500 >"$T_DIR/consumer1.out"
cat "$T_DIR/consumer1.out"
t_expect_grep "$T_DIR/consumer1.out" "^consumer: messages=$((500 + dups)) applied=500 duplicates=$dups$"
want=$(t_sql "SELECT string_agg(key || '=' || s, ',' ORDER BY key) FROM (SELECT key, sum(convert_from(payload, 'UTF8')::int) s FROM outbox WHERE topic = '$T_TOPIC' GROUP BY key) x")
got=$(t_sql "SELECT string_agg(account || '=' || total, ',' ORDER BY account) FROM balances")
t_expect_eq "$got" "$want" "balances after consuming duplicates"
t_expect_eq "$(t_sql "SELECT count(*) FROM processed_events")" 500 "events recorded"
# A second consumer group re-reads the whole topic into the same database: all duplicates, nothing changes.
"$TOOLS/consumer" --pg "$T_CONNINFO" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC" --group "g2-$T_TOPIC" \
	--idle-exit-ms 1500 >"$T_DIR/consumer2.out"
t_expect_grep "$T_DIR/consumer2.out" "^consumer: messages=$((500 + dups)) applied=0 duplicates=$((500 + dups))$"
t_expect_eq "$(t_sql "SELECT string_agg(account || '=' || total, ',' ORDER BY account) FROM balances")" "$want" "balances after a full re-read"
