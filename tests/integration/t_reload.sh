# SIGHUP re-reads the configuration: log level, batch size and Kafka properties change live (the producer is
# recreated between batches), a setting that needs a restart is named and kept, an invalid file is refused with
# a warning and the running configuration stays. systemd hears RELOADING=1 then READY=1 each time.
t_db
t_conf "$T_DIR/base.conf"
t_install "$T_DIR/base.conf"
write_conf() { # relay-settings log-settings [kafka-properties]
	cat >"$T_DIR/o.conf" <<CONF
postgres: { conninfo = "${T_CONNINFO/user=app /user=relay }"; ${4:-} };
kafka: { brokers = "$H_KAFKA_BROKERS"; properties = [ ${3:-} ]; };
relay: { $1 };
log: { stats_interval_ms = 1000; $2 };
CONF
}
enqueue() { t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (g % 5), convert_to('$1' || g, 'UTF8')) FROM generate_series(1, $2) g" >/dev/null; }
drained() { t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not drained: $1"; }

"$TOOLS/notifysink" "$T_DIR/notify.sock" 60 >"$T_DIR/notify.out" 2>&1 &
T_BG_PIDS="$T_BG_PIDS $!"
t_wait_log "$T_DIR/notify.out" ready 5 || t_fail "notifysink did not start"
write_conf "batch_size = 100;" 'level = "info";'
NOTIFY_SOCKET=$T_DIR/notify.sock t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
enqueue a 50
drained "before the reload"
t_expect_no_grep "$T_DIR/relay.log" 'level=debug'

# A valid change: debug logging, batches of 7, a Kafka property, and a table name (needs a restart).
write_conf "batch_size = 7;" 'level = "debug";' '"linger.ms=1"' 'table = "elsewhere";'
kill -HUP "$T_RELAY_PID"
t_wait_log "$T_DIR/relay.log" 'msg="configuration reloaded" batch_size=7 log_level=debug producer_recreated=yes' 10 ||
	{ cat "$T_DIR/relay.log"; t_fail "not reloaded"; }
t_expect_grep "$T_DIR/relay.log" 'msg="configuration reloaded without some changes: they need a restart" settings=postgres.table'
enqueue b 30
drained "after the reload"
t_expect_grep "$T_DIR/relay.log" 'msg="recreating the Kafka producer" reason="configuration reloaded"'
t_expect_grep "$T_DIR/relay.log" 'level=debug msg=batch rows=7 '
big=$(grep 'msg=batch rows=' "$T_DIR/relay.log" | sed 's/.*rows=\([0-9]*\).*/\1/' | awk '$1 > 7' | wc -l)
t_expect_eq "$big" 0 "batches larger than 7 after the reload"

# An invalid file: refused, the relay keeps its configuration and keeps relaying.
echo 'relay: { batch_size = ; };' >"$T_DIR/o.conf"
kill -HUP "$T_RELAY_PID"
t_wait_log "$T_DIR/relay.log" 'msg="configuration not reloaded: the file is not valid, the running configuration stays"' 10 ||
	{ cat "$T_DIR/relay.log"; t_fail "invalid file not refused"; }
enqueue c 20
drained "after the refused reload"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
sleep 0.3
t_expect_eq "$(grep -c '^RELOADING=1' "$T_DIR/notify.out")" 2 "RELOADING=1 messages"
t_expect_eq "$(grep -A2 '^RELOADING=1' "$T_DIR/notify.out" | grep -c '^READY=1')" 2 "READY=1 after each reload"
t_check
