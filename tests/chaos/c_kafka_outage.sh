# The real broker stopped while writers run. Shorter than the delivery timeout: messages wait in the producer and
# are delivered when it is back (LOST 0, DUP 0, REORDER 0). Longer than the delivery timeout: the batch is
# abandoned, its rows stay unsent, the relay backs off and logs, and catches up afterwards (LOST 0, REORDER 0).
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker"; exit 0; }
for kind in short long; do
	t_db "outage_$kind"
	T_TOPIC=outage-$kind-$RANDOM
	if [ $kind = short ]; then
		t_conf "$T_DIR/$kind.conf" "batch_size = 100;"
		down=4
	else
		t_conf "$T_DIR/$kind.conf" "batch_size = 100; delivery_timeout_ms = 3000; backoff_max_ms = 2000;"
		down=$(c_times 12 40)
	fi
	t_install "$T_DIR/$kind.conf"
	t_start_relay "$T_DIR/$kind.conf" "$T_DIR/relay-$kind.log"
	c_writers_start 100
	sleep 2
	harness_stop_kafka
	sleep "$down"
	harness_resume_kafka
	sleep 2
	c_writers_stop
	c_drained_within 60
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
	if [ $kind = short ]; then
		c_check_row "kafka-down-${down}s<timeout" --max-dup 0
	else
		t_expect_grep "$T_DIR/relay-$kind.log" 'msg="batch not fully delivered, will retry"'
		c_check_row "kafka-down-${down}s>timeout" --max-dup 1000
	fi
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status"
done
