# SIGTERM while busy: the relay stops claiming, finishes the batch in flight, exits 0 within the shutdown bound,
# and loses nothing; a restart drains the rest without duplicates (nothing was sent and left unmarked).
t_db
t_conf "$T_DIR/o.conf" "batch_size = 500; shutdown_timeout_ms = 5000;"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 100), convert_to(repeat('x', 200) || g, 'UTF8')) FROM generate_series(1, 60000) g" >/dev/null
for round in 1 2 3; do
	before=$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
	t_start_relay "$T_DIR/o.conf" "$T_DIR/relay$round.log"
	sleep 0.4
	start=$(date +%s%N)
	t_stop_relay 15
	rc=$T_STOP_RC
	ms=$((($(date +%s%N) - start) / 1000000))
	after=$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
	echo "round $round: exit $rc after ${ms} ms, sent $before -> $after"
	t_expect_eq "$rc" 0 "exit status after SIGTERM (round $round)"
	[ "$ms" -lt 7000 ] || t_fail "shutdown took ${ms} ms, bound is 5000 ms + slack"
	[ "$after" -gt "$before" ] || t_fail "round $round relayed nothing before SIGTERM"
	t_expect_grep "$T_DIR/relay$round.log" 'msg=stopped'
done
[ "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL")" -gt 0 ] || t_fail "backlog drained before the last SIGTERM: the test did not interrupt a busy relay"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay-drain.log"
t_check --max-dup 0 --drain-ms 120000
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
