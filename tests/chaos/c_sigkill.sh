# SIGKILL the relay at random moments while writers run, restart it each time. Passes with LOST 0, REORDER 0,
# PHANTOM 0 and at most one transaction of duplicates per kill (C_CHAIN batches while the backlog drains).
N=$(c_times 20 200)
BATCH=100
t_db
t_conf "$T_DIR/o.conf" "batch_size = $BATCH;"
t_install "$T_DIR/o.conf"
c_backlog 5000 200
c_writers_start 100
for i in $(seq 1 "$N"); do
	t_start_relay "$T_DIR/o.conf" "$T_DIR/relay$i.log"
	sleep "0.$((RANDOM % 6 + 1))"
	kill -KILL "$T_RELAY_PID"
	wait "$T_RELAY_PID" 2>/dev/null || true
done
c_writers_stop
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay-final.log"
c_check_row "sigkill-x$N" --max-dup $((N * C_CHAIN * BATCH))
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "final relay exit status"
