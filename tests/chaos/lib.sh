# Helpers for the fault-injection scenarios (sourced after tests/integration/common.sh).

# How many times to repeat a fault: short form in `make check`, long form in `make chaos`.
# relay.batches_per_commit's default: while a backlog drains, a crash re-sends up to this many batches.
C_CHAIN=4
c_times() { if [ -n "${CHAOS_LONG:-}" ]; then echo "$2"; else echo "$1"; fi; }

# c_case NAME SHORT-KEEP-CASES: whether a scenario's case runs. Every case runs in the mark pass and in the long
# form; the short form's keep pass (make check, where CI's time is counted) runs the cases listed.
c_case() { [ -n "${CHAOS_LONG:-}" ] || [ "${T_ON_SENT:-}" != keep ] || [[ " $2 " == *" $1 "* ]]; }

# Runs the checker and records a table row "scenario events LOST DUP REORDER STALE PHANTOM UNDRAINED result"
# (STALE is "-" unless the scenario passes --epoch-header).
c_check_row() { # row-name checker-args...
	local row=$1${T_ON_SENT:+@$T_ON_SENT} out rc=0
	shift
	out=$(t_check "$@") || rc=$?
	echo "$out"
	local line
	line=$(echo "$out" | grep '^checker:' | tail -n 1)
	if [ -z "$line" ]; then
		echo "$row - - - - - - - FAIL" >>"$CHAOS_TABLE"
		return 1
	fi
	get() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	local stale=-
	case " $* " in *" --epoch-header "*) stale=$(get STALE) ;; esac
	echo "$row $(echo "$line" | sed -n 's/.*events=\([0-9]*\).*/\1/p') $(get LOST) $(get DUP) $(get REORDER) $stale $(get PHANTOM) $(get UNDRAINED) $([ $rc = 0 ] && echo pass || echo FAIL)" >>"$CHAOS_TABLE"
	return $rc
}

# Writers in the background until c_writers_stop: pgbench at RATE transactions/s (2 events each, 10 % rolled
# back), restarted whenever it stops (a PostgreSQL restart ends it). To T_DB, or to the servers of CONNINFO (with
# several hosts and target_session_attrs=read-write, to whichever is the primary at each restart).
c_writers_start() { # rate [conninfo]
	local target
	if [ -n "${2:-}" ]; then target=("$2"); else target=(-h 127.0.0.1 -p "$PGPORT" -U app "$T_DB"); fi
	sed "s/@TOPIC@/$T_TOPIC/g" tests/integration/writer.sql >"$T_DIR/writer.sql"
	rm -f "$T_DIR/writers.stop"
	(
		while [ ! -e "$T_DIR/writers.stop" ]; do
			PGPASSWORD=$H_APP_PASSWORD "$H_PGBIN/pgbench" -n -c 2 -j 2 -R "$1" -T 2 -f "$T_DIR/writer.sql" \
				"${target[@]}" >>"$T_DIR/pgbench.log" 2>&1 || sleep 0.2
		done
	) &
	C_WRITERS_PID=$!
	T_BG_PIDS="$T_BG_PIDS $C_WRITERS_PID"
}

c_writers_stop() {
	touch "$T_DIR/writers.stop"
	wait "$C_WRITERS_PID" 2>/dev/null || true
}

# A backlog of N rows over K keys, so that a relay started now is busy for a while. While writers run, give a
# key prefix of its own: one long statement takes its ids before the writers' later rows of a shared key commit,
# which would be out of id order on purpose (README: applications serialise writes per key).
c_backlog() { # rows keys [key-prefix]
	t_sql "SELECT outbox_enqueue('$T_TOPIC', '${3:-key-}' || (g % $2), convert_to(repeat('p', 100) || g, 'UTF8'), '{\"h\": \"v\"}') FROM generate_series(1, $1) g" >/dev/null
}

# Waits until nothing is pending, up to N seconds; fails otherwise.
c_drained_within() {
	t_wait_sql "$(t_pending_sql)" 0 "$1" || t_fail "not drained within $1 s: $(t_sql "$(t_pending_sql)") pending"
}

# librdkafka's mock cluster in a process of its own, controlled through a FIFO: c_mock_cmd "down", "up",
# "rtt MS", "err CODE COUNT", "topic NAME PARTITIONS". Sets C_MOCK_BROKERS.
c_mock_start() {
	mkfifo "$T_DIR/mock.ctl"
	"$TOOLS/mockbroker" <"$T_DIR/mock.ctl" >"$T_DIR/mock.out" 2>"$T_DIR/mock.log" &
	C_MOCK_PID=$!
	T_BG_PIDS="$T_BG_PIDS $C_MOCK_PID"
	exec 7>"$T_DIR/mock.ctl"
	C_MOCK_BROKERS=$(h_mock_address "$T_DIR/mock.out")
	[ -n "$C_MOCK_BROKERS" ] || t_fail "mock cluster did not start"
}

c_mock_cmd() { echo "$*" >&7; sleep 0.1; }

c_mock_stop() {
	exec 7>&-
	kill -TERM "$C_MOCK_PID" 2>/dev/null || true
	wait "$C_MOCK_PID" 2>/dev/null || true
}
