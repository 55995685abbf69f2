# PostgreSQL crash-restarted (pg_ctl restart -m immediate) and the relay's backend terminated
# (pg_terminate_backend), N times each, while writers run. The relay is never restarted: it must reconnect by
# itself and resume within 30 s of PostgreSQL coming back. LOST 0, REORDER 0, at most a transaction (C_CHAIN batches) re-sent per fault.
N=$(c_times 10 50)
BATCH=100
t_db
t_conf "$T_DIR/o.conf" "batch_size = $BATCH;"
t_install "$T_DIR/o.conf"
c_backlog 3000 100
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
c_writers_start 100
for i in $(seq 1 "$N"); do
	sleep "0.$((RANDOM % 8 + 2))"
	harness_restart_pg immediate
done
for i in $(seq 1 "$N"); do
	sleep "0.$((RANDOM % 8 + 2))"
	psql -qtAX -d "$T_DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outboxd'" >/dev/null  # as the superuser
done
c_writers_stop
back=$(date +%s)
c_drained_within 30
echo "drained $(($(date +%s) - back)) s after the last fault"
kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
c_check_row "pg-restart+terminate-x$N" --max-dup $((2 * N * C_CHAIN * BATCH))
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_expect_grep "$T_DIR/relay.log" 'PostgreSQL'
