# A multi-host conninfo with target_session_attrs=read-write, the first host down: the relay connects to the
# one that answers, and after PostgreSQL restarts under it, finds it again through the same list.
t_db
t_conf "$T_DIR/base.conf"
t_install "$T_DIR/base.conf"
DEAD=$(h_free_port)
cat >"$T_DIR/o.conf" <<CONF
postgres: { conninfo = "host=127.0.0.1,127.0.0.1 port=$DEAD,$PGPORT dbname=$T_DB user=relay password=$H_APP_PASSWORD target_session_attrs=read-write connect_timeout=2"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { backoff_max_ms = 1000; };
log: { stats_interval_ms = 1000; };
CONF
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 4), convert_to('a' || i, 'UTF8')) FROM generate_series(1, 100) i" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not relayed with the first host down"
# Two sessions through the list: the one that claims and marks, and the heartbeat's (ordering by key).
t_expect_eq "$(psql -qtAX -d "$T_DB" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'relay' AND application_name = 'outboxd'")" 2 "relay sessions"
harness_restart_pg immediate
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 4), convert_to('b' || i, 'UTF8')) FROM generate_series(1, 100) i" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 60 || { tail -n 20 "$T_DIR/relay.log"; t_fail "not relayed after the restart"; }
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
[ "$(grep -c 'msg="connected to PostgreSQL"' "$T_DIR/relay.log")" -ge 2 ] || t_fail "no reconnection logged"
# The restart is a crash: marks committed with synchronous_commit=off in the last moments may be lost, and those
# rows are sent again (at-least-once). At most the 100 rows sent before it.
t_check --max-dup 100
