# Retention: sent rows older than relay.retention_s are deleted by the relay while idle, retention_batch at a
# time, through the table's purge function; pending and failed rows stay, and the relay role still has no
# DELETE of its own.
t_db
# First relayed with retention off (0), so the checker can compare Kafka with the rows; then purged.
t_conf "$T_DIR/keep.conf" "retention_s = 0;"
t_conf "$T_DIR/o.conf" "retention_s = 1; retention_batch = 300;"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 10), convert_to('v' || i, 'UTF8')) FROM generate_series(1, 1000) i" >/dev/null
t_sql "SELECT outbox_enqueue('bad topic!', 'k', 'parked'::bytea)" >/dev/null
t_start_relay "$T_DIR/keep.conf" "$T_DIR/keep.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "not relayed"
t_check --expect-failed 1
sleep 3
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox")" 1001 "nothing purged with retention_s = 0"
t_stop_relay
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox" 1 40 || { tail -n 20 "$T_DIR/relay.log"; t_fail "sent rows not purged: $(t_sql "SELECT count(*) FROM outbox")"; }
t_expect_eq "$(t_sql "SELECT topic FROM outbox")" "bad topic!" "the failed row stays"
# purged in bounded batches: 1000 rows at 300 per statement is at least 4 log lines
n=$(grep -c 'msg="purged sent rows"' "$T_DIR/relay.log")
[ "$n" -ge 4 ] || { grep purged "$T_DIR/relay.log"; t_fail "expected at least 4 purge batches, got $n"; }
t_expect_no_grep "$T_DIR/relay.log" 'rows=30[1-9]\|rows=3[1-9][0-9]\|rows=[4-9][0-9][0-9]'
# new rows still flow, and are purged in turn
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'later', 'x'::bytea)" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL" 1 10 || t_fail "later row not relayed"
t_wait_sql "SELECT count(*) FROM outbox" 1 30 || t_fail "later row not purged"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
# the relay role can purge only through the function: no DELETE of its own, and nothing unsent is removed
RELAY_CONNINFO="${T_CONNINFO/user=app /user=relay }"
if psql -qtAX "$RELAY_CONNINFO" -c "DELETE FROM outbox" >/dev/null 2>&1; then t_fail "relay role could DELETE"; fi
t_expect_eq "$(psql -qtAX "$RELAY_CONNINFO" -c "SELECT outbox_purge('0 seconds', 1000)")" 0 "purge leaves unsent rows"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox")" 1 "failed row still there"
