# SIGTERM while busy, repeatedly: every stop is clean (exit 0 within the shutdown bound, the batch in flight
# finished and marked), so nothing is lost and nothing is sent twice.
N=$(c_times 20 100)
t_db
t_conf "$T_DIR/o.conf" "batch_size = 200; shutdown_timeout_ms = 5000;"
t_install "$T_DIR/o.conf"
c_backlog 40000 300
c_writers_start 100
for i in $(seq 1 "$N"); do
	t_start_relay "$T_DIR/o.conf" "$T_DIR/relay$i.log"
	sleep "0.$((RANDOM % 4 + 1))"
	start=$(date +%s%N)
	t_stop_relay 15
	ms=$((($(date +%s%N) - start) / 1000000))
	t_expect_eq "$T_STOP_RC" 0 "exit status after SIGTERM $i"
	[ "$ms" -lt 6000 ] || t_fail "stop $i took $ms ms (bound 5000 ms)"
	echo "stop $i: exit 0 after $ms ms"
done
c_writers_stop
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay-final.log"
c_check_row "sigterm-x$N" --max-dup 0 --drain-ms 120000
t_stop_relay
