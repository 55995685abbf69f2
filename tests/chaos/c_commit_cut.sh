# The connection dropped around COMMIT by a loopback proxy, so the relay cannot know the outcome: "before" (the
# COMMIT never arrives: rolled back) and "after" (it commits, the answer never arrives). The relay must treat an
# unknown outcome as "not marked", reconnect and read again. LOST 0, at most a transaction (C_CHAIN batches)
# re-sent per cut.
CUTS=$(c_times 5 30)
BATCH=100
for mode in before after; do
	t_db "cut_$mode"
	T_TOPIC=cut-$mode-$RANDOM
	port=$(h_free_port)
	"$TOOLS/tcpproxy" "$port" "$PGPORT" "$mode" 3 "$CUTS" >"$T_DIR/proxy-$mode.out" 2>"$T_DIR/proxy-$mode.log" &
	proxy=$!
	T_BG_PIDS="$T_BG_PIDS $proxy"
	t_wait_log "$T_DIR/proxy-$mode.out" ready 5 || t_fail "proxy did not start"
	direct=$T_CONNINFO
	# Plain text: the proxy finds COMMIT in the protocol stream.
	T_CONNINFO="host=127.0.0.1 port=$port dbname=$T_DB user=app password=$H_APP_PASSWORD sslmode=disable"
	t_conf "$T_DIR/$mode.conf" "batch_size = $BATCH; backoff_max_ms = 1000;"
	T_CONNINFO=$direct
	t_install "$T_DIR/$mode.conf"
	c_backlog 3000 100
	t_start_relay "$T_DIR/$mode.conf" "$T_DIR/relay-$mode.log"
	c_writers_start 50
	t_wait_log "$T_DIR/proxy-$mode.log" "cut $CUTS " 60 || t_fail "only $(grep -c cut "$T_DIR/proxy-$mode.log") cuts happened"
	c_writers_stop
	c_drained_within 30
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
	c_check_row "commit-cut-$mode-x$CUTS" --max-dup $((CUTS * C_CHAIN * BATCH))
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status"
	kill "$proxy"
	wait "$proxy" 2>/dev/null || true
done
