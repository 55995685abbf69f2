# Faults only librdkafka's mock cluster can inject, with the relay and the checker talking to the mock broker:
# broker down shorter and longer than the delivery timeout, retriable produce errors (NOT_ENOUGH_REPLICAS,
# REQUEST_TIMED_OUT), an idempotence sequence error (fatal: the producer is recreated, nothing unacknowledged is
# marked sent), and a broker slower than the delivery timeout.
scenario() { # name relay-settings max-dup fault-commands...
	local sc=$1 settings=$2 maxdup=$3
	shift 3
	t_db "mock_$sc"
	T_TOPIC=mock-$sc-$RANDOM
	c_mock_cmd "topic $T_TOPIC 4"
	t_conf "$T_DIR/$sc.conf" "batch_size = 100; backoff_max_ms = 2000; $settings"
	t_install "$T_DIR/$sc.conf"
	c_backlog 2000 50
	t_start_relay "$T_DIR/$sc.conf" "$T_DIR/relay-$sc.log"
	c_writers_start 100
	sleep 1
	for cmd in "$@"; do
		case $cmd in
		sleep*) sleep "${cmd#sleep }" ;;
		*) c_mock_cmd "$cmd" ;;
		esac
	done
	sleep 1
	c_writers_stop
	c_drained_within 60
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
	c_check_row "mock-$sc" --max-dup "$maxdup"
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status ($sc)"
}

c_mock_start
H_KAFKA_BROKERS=$C_MOCK_BROKERS
# DUP 0 is enforced against the real broker (c_kafka_outage.sh). Against the mock, requests in flight when it
# drops its connections were seen re-appended on retry (DUP 24 in one run of five): bounded by a batch here.
scenario broker-down-short "" 100 down "sleep 3" up
scenario broker-down-long "delivery_timeout_ms = 2000;" 100000 down "sleep $(c_times 8 30)" up
t_expect_grep "$T_DIR/relay-broker-down-long.log" 'msg="batch not fully delivered, will retry"'
scenario retriable-errors "" 0 "err 19 20" "sleep 2" "err 7 20" "sleep 2"
scenario fatal-sequence-error "" 100000 "err 45 3" "sleep 3"
t_expect_grep "$T_DIR/relay-fatal-sequence-error.log" 'msg="kafka fatal error"'
t_expect_grep "$T_DIR/relay-fatal-sequence-error.log" 'msg="recreating the Kafka producer"'
scenario slow-broker "delivery_timeout_ms = 2000;" 100000 "rtt 5000" "sleep $(c_times 6 20)" "rtt 0"
t_expect_grep "$T_DIR/relay-slow-broker.log" 'msg="batch not fully delivered, will retry"'
c_mock_stop
