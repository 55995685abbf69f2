# PostgreSQL failover (tests/harness/pgpair.sh): a primary and a streaming standby, the relay given both hosts
# with target_session_attrs=read-write, a writer committing one event per transaction and logging each event id
# once its COMMIT returned. Mid-stream the primary is SIGKILLed and the standby promoted; the old primary is never
# started again. The relay follows without a restart and drains within 30 s of the promotion.
#   sync   synchronous replication (a commit returns once it is on the standby): the application lost nothing
#          (every logged id is on the new primary), LOST 0, REORDER 0, DUP at most the batches in flight
#   async  the promotion itself may lose the last commits (the primary's WAL sender is paused for the last
#          1.5 s before the kill, so it does): those are counted (logged ids missing on the new
#          primary: the application's loss) and told apart from the relay's: LOST 0 (every row the new primary
#          has was delivered), and PHANTOM (delivered, then lost with the old primary) at most the application's loss
# And a relay given only the hot standby: one clear error per attempt, backing off, no exit, nothing marked.
. tests/harness/pgpair.sh
h_pgbin

# One event per transaction through one psql session; each printed id is a commit the application saw return.
pair_writer() { # conninfo topic out stop
	local i=0
	while [ ! -e "$4" ]; do
		i=$((i + 1))
		{ j=0; while [ ! -e "$4" ]; do
			j=$((j + 1))
			echo "SELECT outbox_enqueue('$2', 'k' || ($j % 10), convert_to('w$i.$j', 'UTF8'));"
			sleep 0.004
		done; } | PGCONNECT_TIMEOUT=2 psql -qAtX -v ON_ERROR_STOP=1 "$1" >>"$3" 2>>"$T_DIR/writer.err" || sleep 0.2
	done
}

pending_on() { PGPASSWORD=$H_APP_PASSWORD psql -qtAX -h 127.0.0.1 -p "$1" -U app -d app -c "$(t_pending_sql)" 2>/dev/null; }
drained_on() { [ "$(pending_on "$1")" = 0 ]; }

ON_SENT=
[ -z "$T_ON_SENT" ] || ON_SENT="on_sent = \"$T_ON_SENT\";"
for mode in sync async; do
	pair_start "$mode"
	T_TOPIC=failover-$mode-$RANDOM
	T_CONNINFO=$PAIR_OWNER
	cat >"$T_DIR/$mode.conf" <<CONF
postgres: { conninfo = "$PAIR_CONNINFO"; owner_conninfo = "$PAIR_OWNER"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { batch_size = 100; backoff_max_ms = 1000; $ON_SENT };
log: { stats_interval_ms = 1000; };
CONF
	t_install "$T_DIR/$mode.conf"

	if [ "$mode" = sync ]; then
		# The standby alone: the relay says what it is and waits, and stays up.
		sed "s|conninfo = \"$PAIR_CONNINFO\"|conninfo = \"host=127.0.0.1 port=$SB_PORT dbname=app user=relay password=$H_APP_PASSWORD\"|" \
			"$T_DIR/$mode.conf" >"$T_DIR/standby-only.conf"
		"$OUTBOXD" run -c "$T_DIR/standby-only.conf" >"$T_DIR/standby-only.log" 2>&1 &
		SB_RELAY=$!
		T_BG_PIDS="$T_BG_PIDS $SB_RELAY"
		sleep 8
		kill -0 "$SB_RELAY" || { cat "$T_DIR/standby-only.log"; t_fail "the relay on a hot standby exited"; }
		t_expect_grep "$T_DIR/standby-only.log" 'msg="PostgreSQL is a hot standby: waiting for a primary"'
		t_expect_grep "$T_DIR/standby-only.log" 'the server is a hot standby (read-only)'
		attempts=$(grep -c 'hot standby' "$T_DIR/standby-only.log")
		echo "standby-only relay: $attempts attempts in 8 s"
		[ "$attempts" -le 20 ] || t_fail "$attempts attempts in 8 s: not backing off"
		kill -TERM "$SB_RELAY"
		wait "$SB_RELAY" || t_fail "the relay on a hot standby did not stop cleanly"
	fi

	t_start_relay "$T_DIR/$mode.conf" "$T_DIR/relay-$mode.log"
	WCONN="host=127.0.0.1,127.0.0.1 port=$PR_PORT,$SB_PORT dbname=app user=app password=$H_APP_PASSWORD target_session_attrs=read-write"
	rm -f "$T_DIR/w.stop"
	pair_writer "$WCONN" "$T_TOPIC" "$T_DIR/committed-$mode" "$T_DIR/w.stop" &
	WPID=$!
	T_BG_PIDS="$T_BG_PIDS $WPID"
	sleep 4
	if [ "$mode" = async ]; then
		# Asynchronous replication lags by design: make it lag for 1.5 s (the primary's WAL sender paused, then
		# killed with it) so that the promotion loses commits the writer saw return, as a slow link would.
		walsnd=$(pair_sql "$PR_PORT" "SELECT pid FROM pg_stat_replication")
		kill -STOP "$walsnd"
		sleep 1.5
		kill -KILL "$walsnd"
	fi
	pair_kill_primary
	sleep 2
	pair_promote
	promoted=$(date +%s)
	sleep 5
	touch "$T_DIR/w.stop"
	wait "$WPID" 2>/dev/null || true
	t_wait_until 30 drained_on "$SB_PORT" || t_fail "not drained within 30 s of the promotion: $(pending_on "$SB_PORT") pending"
	echo "$mode: drained $(($(date +%s) - promoted)) s after the promotion"
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
	t_expect_grep "$T_DIR/relay-$mode.log" 'msg="connected to PostgreSQL"'
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status"
	h_port_open "$PR_PORT" && t_fail "the old primary is up again"

	# The application's view: which of the ids whose COMMIT returned did the promotion lose?
	T_CONNINFO="host=127.0.0.1 port=$SB_PORT dbname=app user=app password=$H_APP_PASSWORD"
	sort -u "$T_DIR/committed-$mode" >"$T_DIR/committed-$mode.ids"
	t_sql "SELECT event_id FROM outbox" | sort -u >"$T_DIR/table-$mode.ids"
	app_lost=$(comm -23 "$T_DIR/committed-$mode.ids" "$T_DIR/table-$mode.ids" | wc -l)
	echo "$mode: $(wc -l <"$T_DIR/committed-$mode.ids") commits acknowledged to the writer, $app_lost lost by the promotion"
	echo "pg-failover-$mode${T_ON_SENT:+@$T_ON_SENT} app_lost=$app_lost" >>"$CHAOS_TABLE.figures"
	if [ "$mode" = sync ]; then
		t_expect_eq "$app_lost" 0 "commits lost by a synchronous promotion"
		c_check_row "pg-failover-$mode" --max-dup 400
	else
		c_check_row "pg-failover-$mode" --max-dup 400 --max-phantom "$app_lost"
	fi
	pair_stop
done
