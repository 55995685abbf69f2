# A randomized nemesis over the production topology (tests/harness/nemesis.sh): a three-broker cluster, a
# PostgreSQL primary with a synchronous standby, three relays in key order each in a network namespace of its own,
# writers following the primary. Faults drawn at random from broker SIGKILL/stop/SIGSTOP, PostgreSQL failover,
# a relay cut from PostgreSQL, from Kafka, asymmetrically or flapping, and relay SIGKILL/SIGSTOP, one after the
# other for a bounded time (short form 120 s, long form 15 min), then the checker: LOST 0, REORDER 0, PHANTOM 0
# (the replication is synchronous), STALE only as duplicates. NEMESIS_SEED replays a run's choices.
# `make soak` runs the same for 60 minutes at 2,000 events/s, a fault every 2 minutes, and prints one line a
# minute (NEMESIS_SOAK=1).
[ "$(id -u)" = 0 ] || { [ "${CI:-}" != true ] && { echo "skipped: network namespaces need root"; exit 0; }; t_fail "needs root"; }
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker's jars"; exit 0; }
. tests/harness/cluster.sh
. tests/harness/pgpair.sh
. tests/harness/netns.sh
. tests/harness/nemesis.sh
h_pgbin
trap 'c_rc=$?; nem_cleanup; (exit $c_rc); t_cleanup' EXIT

if [ -n "${NEMESIS_SOAK:-}" ]; then
	SECONDS_=${NEMESIS_SECONDS:-3600} GAP=${NEMESIS_GAP:-120} RATE=${NEMESIS_RATE:-1111}
	SETTINGS="retention_s = 300;"
else
	SECONDS_=$(c_times 120 900) GAP=5 RATE=100 SETTINGS=
	# The keep pass of the short form: half the time (CI's minutes are counted).
	c_case long "" || SECONDS_=60
fi
[ -z "$T_ON_SENT" ] || SETTINGS="$SETTINGS on_sent = \"$T_ON_SENT\";"
nem_start "$RATE" "$SETTINGS"
if [ -n "${NEMESIS_SOAK:-}" ]; then
	# The nemesis in the background of this shell's sampling would lose its variables: sampling runs beside it
	# in a subshell instead, reading the relays' pids from a file the nemesis keeps current.
	echo "soak: $SECONDS_ s, writers at $RATE transactions/s (1.8 events each), a fault every $GAP s"
	nem_soak "$SECONDS_" "$GAP" >"$T_DIR/soak.table" # not in a pipeline: its subshell would keep the role swaps
	cat "$T_DIR/soak.table"
else
	nem_run "$SECONDS_" "$GAP"
fi
nem_finish >"$T_DIR/finish.out" # not in a pipeline: it waits for the relays' supervisors, children of this shell
cat "$T_DIR/finish.out"
rc=0
c_check_row "nemesis-$SECONDS_"s --table nemesis_checked --epoch-header outboxd-epoch --max-dup 200000 --max-stale 2000 >"$T_DIR/check.out" || rc=$?
cat "$T_DIR/check.out"
if [ -n "${NEMESIS_REPORT:-}" ]; then
	{
		echo "soak: $SECONDS_ s, writers at $RATE transactions/s, a fault every $GAP s, seed $NEM_SEED"
		cat "$T_DIR/soak.table" "$T_DIR/nemesis.log" "$T_DIR/finish.out"
		grep '^checker:' "$T_DIR/check.out"
		grep -h 'supervisor:' "$T_DIR"/r?.log | sort | uniq -c
	} >"$NEMESIS_REPORT"
fi
[ "$rc" = 0 ]
