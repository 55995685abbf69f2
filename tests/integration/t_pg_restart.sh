# PostgreSQL restarted under the relay (immediate mode, i.e. a crash) and the relay's backend terminated: the
# relay logs, backs off, reconnects and goes on without a restart of its own; nothing is lost or reordered.
t_db
t_conf "$T_DIR/o.conf" "batch_size = 100; backoff_max_ms = 1000;"
t_install "$T_DIR/o.conf"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 20), convert_to('a' || g, 'UTF8')) FROM generate_series(1, 3000) g" >/dev/null
harness_restart_pg immediate
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 20), convert_to('b' || g, 'UTF8')) FROM generate_series(1, 3000) g" >/dev/null
t_wait_log "$T_DIR/relay.log" 'connected to PostgreSQL' 30
psql -qtAX -d "$T_DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outboxd'" >/dev/null  # as the superuser: the relay runs as another role
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 20), convert_to('c' || g, 'UTF8')) FROM generate_series(1, 3000) g" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not drained within 30 s of PostgreSQL coming back"
kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
# Each fault re-sends at most a transaction (relay.batches_per_commit = 4 batches of 100 while draining); the
# crash may also lose the marks of the last transactions committed asynchronously.
t_check --max-dup 1200
t_expect_grep "$T_DIR/relay.log" 'level=warn'
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
