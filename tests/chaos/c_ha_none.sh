# relay.ordering = "none": relays share any row (FOR UPDATE SKIP LOCKED), no buckets, no heartbeat. Two relays
# drain a backlog while writers run, one is SIGKILLed mid-stream: LOST 0 and PHANTOM 0. Per-key order is not
# promised in this mode; the checker counts REORDER without failing on it.
t_db
for i in 1 2; do
	t_conf "$T_DIR/n$i.conf" "batch_size = 100; ordering = \"none\";"
done
t_install "$T_DIR/n1.conf"
c_backlog 20000 200
c_writers_start 100
"$OUTBOXD" run -c "$T_DIR/n1.conf" >>"$T_DIR/n1.log" 2>&1 &
P1=$!
T_BG_PIDS="$T_BG_PIDS $P1"
t_start_relay "$T_DIR/n2.conf" "$T_DIR/n2.log"
t_wait_log "$T_DIR/n1.log" 'msg=relaying' 30 || t_fail "relay n1 did not start"
sleep 0.$((RANDOM % 5 + 3))
kill -KILL "$P1"
wait "$P1" 2>/dev/null || true
c_writers_stop
# Both relayed: each marked rows of the backlog.
t_expect_grep "$T_DIR/n1.log" 'ordering=none'
t_expect_no_grep "$T_DIR/n2.log" 'took buckets'
c_check_row "none-2relays-kill" --no-order --max-dup $((2 * C_CHAIN * 100))
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_relays")" 0 "rows in the heartbeat table with ordering none"
