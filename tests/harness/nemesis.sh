# A randomized nemesis (Jepsen-style) over the production topology, for tests/chaos/c_nemesis.sh (short and long
# forms) and `make soak`. Sourced after lib.sh, tests/integration/common.sh, tests/chaos/lib.sh, cluster.sh,
# pgpair.sh and netns.sh.
#
# The topology: a three-broker Kafka cluster (replication factor 3, min.insync.replicas 2), a PostgreSQL primary
# with a synchronous standby, and three relays in key order (relay.ordering = "key", 64 buckets), each in a network
# namespace of its own. A relay reaches each PostgreSQL node and each broker through tcpproxy: on the host,
# listening on all addresses; in its namespace, one proxy per broker on 127.0.0.1 at the port the broker
# advertises. Relay i reaches PostgreSQL at 10.24i.1.1 and Kafka at 10.24i.2.1, so a blackhole route cuts one
# service and not the other, and its TCP connections stay open and silent. Writers (pgbench, on the host) follow
# the primary with target_session_attrs=read-write.
#
# The faults, one at a time, each held for a random while and healed, then the system is waited for to be whole
# again (every broker up and the topic's ISR full, the standby synchronous, every relay alive) before the next:
#   broker-kill N, broker-stop N, broker-pause N     SIGKILL / controlled shutdown / SIGSTOP of a broker
#   pg-failover                                      SIGKILL of the primary, the standby promoted, a new standby
#   cut-pg I, cut-kafka I, cut-asym I, flap I        relay I cut from PostgreSQL / Kafka / the host's replies /
#                                                    both, flapping every half second
#   relay-kill I, relay-pause I                      SIGKILL (restarted as systemd would) / SIGSTOP of relay I
# Each kind once in every ten faults, in random order; the seed (NEMESIS_SEED, printed) replays the same choices.
#
#   nem_start RATE [relay settings]   everything up, the topic made, the schema installed, three relays, writers
#   nem_run SECONDS GAP               faults until SECONDS have passed, GAP seconds (at least) from one to the next
#   nem_soak SECONDS GAP              nem_run, and beside it one nem_sample line a minute
#   nem_sample                        one line: time, relays' RSS and fds, table size, pending, lag, dead tuples
#   nem_finish                        writers stopped, drained, relays stopped; T_CONNINFO is the primary's then

NEM_SEED=${NEMESIS_SEED:-$RANDOM$RANDOM}
RANDOM=$NEM_SEED
NEM_FAULTS="broker-kill broker-stop broker-pause pg-failover cut-pg cut-kafka cut-asym flap relay-kill relay-pause"
declare -A NEM_SUP NEM_COUNT
NEM_NS=()

# A whole number in [lo, hi] in NEM_R; not through $(...), whose subshell would draw from a reseeded RANDOM.
nem_rand() { NEM_R=$(($1 + RANDOM % ($2 - $1 + 1))); } # lo hi

nem_ns() { echo "obn$$-$1"; }

# Namespace i (tests/harness/netns.sh): PostgreSQL at 10.24i.1.1, Kafka at 10.24i.2.1.
nem_netns() { # i
	NEM_NS+=("$(nem_ns "$1")")
	netns_make "$(nem_ns "$1")" "onh$$$1" "onr$$$1" "10.24$1"
}

# Whatever the test made outside its own processes: relays (children of supervisors that t_cleanup kills),
# the PostgreSQL pair (pg_ctl's daemons), the cluster, namespaces, veth pairs, host routes.
nem_cleanup() {
	local ns i
	set +e # from an EXIT trap, where a relay already gone must not end the cleanup
	touch "$T_DIR/relays.stop"
	for i in 1 2 3; do [ ! -e "$T_DIR/r$i.pid" ] || kill -KILL "$(nem_pid "$i")" 2>/dev/null; done
	[ -z "${PR_DIR:-}" ] || pair_stop
	[ -z "${CL_DIR:-}" ] || cluster_stop_all
	for ns in "${NEM_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	for i in 1 2 3; do ip link del "onh$$$i" 2>/dev/null; done
	for i in 1 2 3; do
		ip route del blackhole "10.24$i.1.2/32" 2>/dev/null
		ip route del blackhole "10.24$i.2.2/32" 2>/dev/null
	done
	return 0
}

# Namespaces and host links an earlier run left behind (killed before its cleanup) would hold the same addresses.
nem_sweep() {
	local ns pid link
	for ns in $(ip netns list | awk '/^obn[0-9]+-[123]/ {print $1}'); do
		pid=${ns#obn} pid=${pid%-*}
		kill -0 "$pid" 2>/dev/null || ip netns del "$ns"
	done
	for link in $(ip -br link | awk '{sub(/@.*/, "", $1)} $1 ~ /^onh[0-9]+[123]$/ {print $1}'); do
		pid=${link#onh} pid=${pid%?}
		kill -0 "$pid" 2>/dev/null || ip link del "$link" 2>/dev/null
	done
}

nem_start() { # rate [relay settings]
	local i n pgp1 pgp2
	nem_sweep
	cluster_start
	T_BG_PIDS="$T_BG_PIDS $(for n in 100 1 2 3; do cluster_pid $n; done)"
	H_KAFKA_BROKERS=$CL_BROKERS
	pair_start sync
	echo "$PR_PORT" >"$T_DIR/primary.port"
	echo "nemesis: seed $NEM_SEED (NEMESIS_SEED=$NEM_SEED replays it)"
	# Host-side proxies, one per service, on all addresses: every namespace reaches them through its own.
	NEM_PG_PORT1=$PR_PORT NEM_PG_PORT2=$SB_PORT
	pgp1=$(h_free_port) pgp2=$(h_free_port)
	netns_proxy "$TOOLS/tcpproxy" "0.0.0.0:$pgp1" "127.0.0.1:$NEM_PG_PORT1"
	netns_proxy "$TOOLS/tcpproxy" "0.0.0.0:$pgp2" "127.0.0.1:$NEM_PG_PORT2"
	declare -g -A NEM_KP
	for n in 1 2 3; do
		NEM_KP[$n]=$(h_free_port)
		netns_proxy "$TOOLS/tcpproxy" "0.0.0.0:${NEM_KP[$n]}" "127.0.0.1:${CL_PORT[$n]}"
	done
	for i in 1 2 3; do
		nem_netns "$i"
		for n in 1 2 3; do
			netns_proxy ip netns exec "$(nem_ns "$i")" "$TOOLS/tcpproxy" "127.0.0.1:${CL_PORT[$n]}" "10.24$i.2.1:${NEM_KP[$n]}"
		done
	done
	sleep 0.5

	T_TOPIC=nemesis-$RANDOM
	"$TOOLS/mktopic" "$CL_BROKERS" "$T_TOPIC" 8 replication.factor=3 min.insync.replicas=2 >/dev/null
	cluster_wait_isr "$T_TOPIC" 3 60 || t_fail "$T_TOPIC: replicas not in sync"
	T_CONNINFO=$PAIR_OWNER
	for i in 1 2 3; do
		cat >"$T_DIR/r$i.conf" <<CONF
postgres: { conninfo = "host=10.24$i.1.1,10.24$i.1.1 port=$pgp1,$pgp2 dbname=app user=relay password=$H_APP_PASSWORD target_session_attrs=read-write connect_timeout=3";
            owner_conninfo = "$PAIR_OWNER"; };
kafka: { brokers = "$CL_BROKERS"; };
relay: { batch_size = 100; instance = "r$i"; epoch_header = "outboxd-epoch"; delivery_timeout_ms = 5000;
         backoff_max_ms = 2000; ${2:-} };
log: { stats_interval_ms = 10000; };
CONF
	done
	t_install "$T_DIR/r1.conf"
	nem_ledger
	for i in 1 2 3; do nem_relay_start "$i"; done
	NEM_WRITER_CONN="host=127.0.0.1,127.0.0.1 port=$NEM_PG_PORT1,$NEM_PG_PORT2 dbname=app user=app password=$H_APP_PASSWORD target_session_attrs=read-write"
	c_writers_start "$1" "$NEM_WRITER_CONN"
	NEM_T0=$(date +%s)
}

# A ledger of every committed row (a trigger's copy, which retention never purges) and the view the checker reads
# instead of the outbox: with relay.retention_s (the soak), a purged row would otherwise look like an event Kafka
# has and the table never did (PHANTOM). A row missing from the outbox was sent: the purge deletes only sent rows.
# With "keep" the checker (--kept) reads the progress of the table it is given: nemesis_checked_progress.
nem_ledger() {
	t_sql "CREATE TABLE nemesis_ledger AS SELECT * FROM outbox WITH NO DATA;
	  CREATE FUNCTION nemesis_ledger_copy() RETURNS trigger LANGUAGE plpgsql AS
	    \$\$ BEGIN INSERT INTO nemesis_ledger SELECT NEW.*; RETURN NULL; END \$\$;
	  CREATE TRIGGER nemesis_ledger AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION nemesis_ledger_copy();
	  CREATE VIEW nemesis_checked AS SELECT l.id, l.event_id, l.topic, l.key, l.payload, l.headers,
	    CASE WHEN o.id IS NULL THEN l.created_at ELSE o.sent_at END AS sent_at, o.failed_at, l.xid
	    FROM nemesis_ledger l LEFT JOIN outbox o USING (id);
	  CREATE VIEW nemesis_checked_progress AS SELECT * FROM outbox_progress" >/dev/null
}

# Relay i in its namespace, under a supervisor that does what systemd's Restart=on-failure does (after 1 s here,
# not the unit's 5 s): a relay that cannot reach PostgreSQL at start-up exits 69 by design, and a SIGKILLed one is
# started again. The relay's pid is kept in r<i>.pid; a clean exit (SIGTERM) ends the supervisor with status 0.
nem_relay_start() { # i
	(
		while :; do
			ip netns exec "$(nem_ns "$1")" "$OUTBOXD" run -c "$T_DIR/r$1.conf" >>"$T_DIR/r$1.log" 2>&1 &
			echo "$!" >"$T_DIR/r$1.pid"
			rc=0
			wait "$!" || rc=$?
			[ "$rc" != 0 ] || exit 0
			echo "supervisor: exited $rc, starting again in 1 s" >>"$T_DIR/r$1.log"
			[ ! -e "$T_DIR/relays.stop" ] || exit "$rc"
			sleep 1
		done
	) &
	NEM_SUP[$1]=$!
	T_BG_PIDS="$T_BG_PIDS $!"
	t_wait_log "$T_DIR/r$1.log" 'msg=relaying' 30 || { cat "$T_DIR/r$1.log"; t_fail "relay r$1 did not start"; }
}

nem_pid() { cat "$T_DIR/r$1.pid"; } # i: the relay's current pid

nem_relays_alive() {
	local i
	for i in 1 2 3; do kill -0 "${NEM_SUP[$i]}" 2>/dev/null && kill -0 "$(nem_pid "$i")" 2>/dev/null || return 1; done
}

# Whole again: the nemesis never stacks a fault on an unhealed one.
nem_whole() {
	local n
	for n in 1 2 3; do h_port_open "${CL_PORT[$n]}" || return 1; done
	cluster_isr_ok "$T_TOPIC" 3 && pair_streaming sync && nem_relays_alive
}

nem_cut() { netns_cut "$(nem_ns "$1")" "$2"; } # i address
nem_heal() { netns_heal "$(nem_ns "$1")" "$2"; }

# One fault: applied, held, healed. Prints what it did.
# One fault: applied, held, healed; NEM_WHAT says what it was. In this shell, not $(...): it restarts relays
# and swaps the PostgreSQL roles.
nem_fault() { # name
	local n i hold k
	nem_rand 1 3; n=$NEM_R
	nem_rand 1 3; i=$NEM_R
	case $1 in
	broker-kill) nem_rand 2 8; hold=$NEM_R; cluster_kill "$n"; sleep "$hold"; cluster_launch "$n"; NEM_WHAT="broker $n SIGKILLed for $hold s" ;;
	broker-stop) nem_rand 1 5; hold=$NEM_R; cluster_stop "$n"; sleep "$hold"; cluster_launch "$n"; NEM_WHAT="broker $n stopped for $hold s" ;;
	broker-pause) nem_rand 2 9; hold=$NEM_R; cluster_pause "$n"; sleep "$hold"; cluster_resume "$n"; NEM_WHAT="broker $n paused for $hold s" ;;
	pg-failover) pair_failover; echo "$PR_PORT" >"$T_DIR/primary.port"; NEM_WHAT="primary SIGKILLed, standby on port $PR_PORT promoted, old primary rebuilt as standby" ;;
	cut-pg) nem_rand 3 12; hold=$NEM_R; nem_cut "$i" "10.24$i.1.1"; sleep "$hold"; nem_heal "$i" "10.24$i.1.1"; NEM_WHAT="relay r$i cut from PostgreSQL for $hold s" ;;
	cut-kafka) nem_rand 3 10; hold=$NEM_R; nem_cut "$i" "10.24$i.2.1"; sleep "$hold"; nem_heal "$i" "10.24$i.2.1"; NEM_WHAT="relay r$i cut from Kafka for $hold s" ;;
	cut-asym)
		nem_rand 3 10; hold=$NEM_R
		ip route add blackhole "10.24$i.1.2/32"
		ip route add blackhole "10.24$i.2.2/32"
		sleep "$hold"
		ip route del blackhole "10.24$i.1.2/32"
		ip route del blackhole "10.24$i.2.2/32"
		NEM_WHAT="replies to relay r$i dropped for $hold s"
		;;
	flap)
		nem_rand 4 12; hold=$NEM_R
		for ((k = 0; k < hold; k++)); do
			nem_cut "$i" "10.24$i.1.1"; nem_cut "$i" "10.24$i.2.1"; sleep 0.5
			nem_heal "$i" "10.24$i.1.1"; nem_heal "$i" "10.24$i.2.1"; sleep 0.5
		done
		NEM_WHAT="relay r$i's link flapped $hold times"
		;;
	relay-kill) kill -KILL "$(nem_pid "$i")"; sleep 1.5; NEM_WHAT="relay r$i SIGKILLed (its supervisor starts it again)" ;;
	relay-pause) nem_rand 1 8; hold=$NEM_R; kill -STOP "$(nem_pid "$i")"; sleep "$hold"; kill -CONT "$(nem_pid "$i")"; NEM_WHAT="relay r$i paused for $hold s" ;;
	esac
}

# Faults are dealt from a shuffled deck of every kind, shuffled again once dealt: random order, and every kind
# within any ten faults in a row, so even the short form meets each one.
nem_deal() {
	local i j t
	if [ ${#NEM_DECK[@]} = 0 ]; then
		read -ra NEM_DECK <<<"$NEM_FAULTS"
		for ((i = ${#NEM_DECK[@]} - 1; i > 0; i--)); do
			j=$((RANDOM % (i + 1)))
			t=${NEM_DECK[$i]} NEM_DECK[$i]=${NEM_DECK[$j]} NEM_DECK[$j]=$t
		done
	fi
	NEM_F=${NEM_DECK[0]}
	NEM_DECK=("${NEM_DECK[@]:1}")
}
NEM_DECK=()

nem_run() { # seconds gap
	local end=$(($(date +%s) + $1)) t0
	while [ "$(date +%s)" -lt "$end" ]; do
		t0=$(date +%s)
		nem_deal
		NEM_COUNT[$NEM_F]=$((${NEM_COUNT[$NEM_F]:-0} + 1))
		nem_fault "$NEM_F"
		printf 'nemesis: t=%ss %-12s %s\n' "$((t0 - NEM_T0))" "$NEM_F" "$NEM_WHAT" | tee -a "$T_DIR/nemesis.log"
		t_wait_until 120 nem_whole || nem_broken "$NEM_F"
		sleep $(($2 - ($(date +%s) - t0) > 1 ? $2 - ($(date +%s) - t0) : 1))
	done
}

nem_broken() { # fault: not whole 120 s after it healed
	local n
	for n in 1 2 3; do h_port_open "${CL_PORT[$n]}" || echo "broker $n is down"; done
	cluster_metadata "$T_TOPIC"
	pair_streaming sync || echo "the standby is not synchronous: $(pair_sql "$PR_PORT" "SELECT application_name, state, sync_state FROM pg_stat_replication")"
	for n in 1 2 3; do kill -0 "$(nem_pid "$n")" 2>/dev/null || { echo "relay r$n is not running:"; tail -n 20 "$T_DIR/r$n.log"; }; done
	t_fail "not whole again within 120 s of $1"
}

# RSS (kB) and open fds summed over the three relays, the table's size, rows pending and the oldest pending row's
# age (by the lag view, which knows "keep"'s progress) and the table's dead tuples: the soak's table row. Reads the relays' pids and the primary's port from the
# files the nemesis keeps current, so that it can run beside it in another process.
nem_sample() {
	local i pid rss=0 fds=0 r vals
	for i in 1 2 3; do
		pid=$(nem_pid "$i")
		r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		fds=$((fds + $(ls "/proc/$pid/fd" 2>/dev/null | wc -l)))
	done
	vals=$(psql -qtAX "host=127.0.0.1 port=$(cat "$T_DIR/primary.port") dbname=app user=app password=$H_APP_PASSWORD connect_timeout=5" -c "
		  SELECT pg_total_relation_size('outbox') / 1024, (SELECT coalesce(sum(pending), 0) FROM outbox_lag),
		  (SELECT coalesce(round(max(oldest_pending_s) * 1000), 0) FROM outbox_lag),
		  (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'outbox')" 2>/dev/null | tr '|' ' ')
	# shellcheck disable=SC2086
	printf '%6s %9s %5s %10s %8s %8s %8s\n' "$(($(date +%s) - NEM_T0))" "$rss" "$fds" ${vals:-- - - -}
}

# The soak: the nemesis for SECONDS, a fault every GAP seconds, and beside it one nem_sample line a minute.
nem_soak() { # seconds gap
	local sampler
	printf '%6s %9s %5s %10s %8s %8s %8s\n' t_s rss_kb fds table_kb pending lag_ms dead_tup
	(
		while [ ! -e "$T_DIR/soak.stop" ]; do
			nem_sample
			t_wait_until 60 test -e "$T_DIR/soak.stop" || true
		done
	) &
	sampler=$!
	nem_run "$1" "$2" >>"$T_DIR/nemesis.out"
	touch "$T_DIR/soak.stop"
	wait "$sampler"
	nem_sample
}

nem_finish() {
	local i
	c_writers_stop
	T_CONNINFO="host=127.0.0.1 port=$PR_PORT dbname=app user=app password=$H_APP_PASSWORD"
	c_drained_within 120
	touch "$T_DIR/relays.stop"
	for i in 1 2 3; do
		kill -TERM "$(nem_pid "$i")"
		wait "${NEM_SUP[$i]}" || t_fail "relay r$i exited $? on SIGTERM"
	done
	printf 'nemesis: faults:'
	for i in $NEM_FAULTS; do printf ' %s=%s' "$i" "${NEM_COUNT[$i]:-0}"; done
	echo
}
