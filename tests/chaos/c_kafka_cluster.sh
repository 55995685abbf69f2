# A replicated Kafka cluster (tests/harness/cluster.sh: three brokers, replication factor 3,
# min.insync.replicas=2, unclean election off) and faults mid-stream while writers run, each on a table and topic
# of its own, the checker at the end of each:
#   leader-sigkill    SIGKILL of a partition's leader, restarted 5 s later        LOST 0, REORDER 0, DUP 0
#   controlled-stop   controlled shutdown (SIGTERM) of a leader, restarted         LOST 0, REORDER 0, DUP 0
#   rolling-restart   each broker in turn stopped and restarted, waiting for the ISR to fill again; DUP 0
#   leader-sigstop    a leader paused (SIGSTOP) past the 4 s session timeout, then resumed; DUP 0
#   two-down          two brokers SIGKILLed: the survivor answers acks=all with NOT_ENOUGH_REPLICAS (a probe
#                     producer without retries shows it); the relay's batches time out and are retried, and it
#                     marks nothing while it lasts; then both restart. DUP at most the rows produced during the outage
#                     (abandoned batches are claimed again), LOST 0, REORDER 0
# The idempotent producer is what makes a leader failover free of duplicates: a retried batch carries the same
# producer id and sequence, and the new leader, which has the replicated log, recognises it.
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker's jars"; exit 0; }
. tests/harness/cluster.sh
cluster_start
T_BG_PIDS="$T_BG_PIDS $(for n in 100 1 2 3; do cluster_pid $n; done)"
H_KAFKA_BROKERS=$CL_BROKERS

sent() { t_sql "$(t_delivered_sql)"; }

# fault NAME MAX-DUP RELAY-SETTINGS: a new table and topic, the relay and writers, then fault_NAME, then checks.
fault() {
	t_db "cluster_$1_$ROUND"
	T_TOPIC=cluster-$1-$ROUND-$RANDOM
	for t in "$T_TOPIC" "$T_TOPIC-probe"; do
		"$TOOLS/mktopic" "$CL_BROKERS" "$t" 4 replication.factor=3 min.insync.replicas=2 >/dev/null
	done
	cluster_wait_isr "$T_TOPIC" 3 60 || t_fail "$T_TOPIC: replicas not in sync before the fault"
	t_conf "$T_DIR/$1.conf" "batch_size = 100; $3"
	t_install "$T_DIR/$1.conf"
	t_start_relay "$T_DIR/$1.conf" "$T_DIR/relay-$1-$ROUND.log"
	c_writers_start 100
	sleep 3
	echo "fault $1 (round $ROUND): $(cluster_metadata "$T_TOPIC" | tr -s ' ' | paste -sd';')"
	"fault_$1"
	sleep 2
	c_writers_stop
	c_drained_within 90
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited"
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status"
	c_check_row "cluster-$1" --max-dup "$2"
}

# bounce_leader PARTITION HOW SECONDS: the partition's leader taken down (cluster_kill or cluster_stop), started
# again SECONDS later, and the ISR full again.
bounce_leader() {
	local l
	l=$(cluster_leader "$T_TOPIC" "$1")
	"$2" "$l"
	sleep "$3"
	cluster_launch "$l"
	cluster_wait_isr "$T_TOPIC" 3 60 || t_fail "ISR not full after broker $l came back"
}
fault_leader_sigkill() { bounce_leader 0 cluster_kill 5; }
fault_controlled_stop() { bounce_leader 1 cluster_stop 3; }

fault_rolling_restart() {
	local n
	for n in 1 2 3; do
		cluster_stop "$n"
		cluster_launch "$n"
		cluster_wait_isr "$T_TOPIC" 3 60 || t_fail "ISR not full after broker $n came back"
	done
}

fault_leader_sigstop() {
	local l
	l=$(cluster_leader "$T_TOPIC" 2)
	cluster_pause "$l"
	sleep 8
	cluster_resume "$l"
	cluster_wait_isr "$T_TOPIC" 3 60 || t_fail "ISR not full after broker $l resumed"
}

fault_two_down() {
	local before after
	cluster_kill 1
	cluster_kill 2
	# The ISR shrinks to the survivor within replica.lag.time.max.ms (4 s); from then on acks=all fails.
	sleep 8
	# What the relay's producer is told (librdkafka retries it quietly until the batch's deadline): a probe
	# without retries to a topic made like the relay's gets the broker's answer.
	echo probe | kcat -P -b "$CL_BROKERS" -t "$T_TOPIC-probe" -p 0 -X acks=all -X retries=0 \
		-X message.timeout.ms=5000 >"$T_DIR/probe-$ROUND.out" 2>&1 || true
	cat "$T_DIR/probe-$ROUND.out"
	grep -q 'Not enough in-sync replicas' "$T_DIR/probe-$ROUND.out" || t_fail "the survivor did not refuse acks=all"
	before=$(sent)
	sleep 10
	after=$(sent)
	echo "two-down: sent $before, 10 s later $after"
	t_expect_eq "$after" "$before" "rows marked sent while only one replica was in sync"
	cluster_launch 1
	cluster_launch 2
	cluster_wait_isr "$T_TOPIC" 3 90 || t_fail "ISR not full after brokers 1 and 2 came back"
}

# The keep pass of the short form: a leader failover and NOT_ENOUGH_REPLICAS, the two that reach the relay.
KEEP_SHORT="leader_sigkill two_down"
for ROUND in $(seq 1 "$(c_times 1 3)"); do
	! c_case leader_sigkill "$KEEP_SHORT" || fault leader_sigkill 0 ""
	! c_case controlled_stop "$KEEP_SHORT" || fault controlled_stop 0 ""
	! c_case rolling_restart "$KEEP_SHORT" || fault rolling_restart 0 ""
	! c_case leader_sigstop "$KEEP_SHORT" || fault leader_sigstop 0 ""
	! c_case two_down "$KEEP_SHORT" || fault two_down 5000 "delivery_timeout_ms = 5000; backoff_max_ms = 2000;"
done
cluster_stop_all
