# Helpers for integration tests; sourced in the test's subshell (set -e is on).

T_NAME=${name:-test}
# A second pass in another mode (T_ON_SENT, below) gets directories and databases of its own. Not "@": pgbench
# reads "-f file@weight".
T_DIR=$H_TMP/$T_NAME${T_ON_SENT:+_$T_ON_SENT}
mkdir -p "$T_DIR"
T_TOPIC=$(echo "$T_NAME-$RANDOM" | tr '_' '-')
T_RELAY_PID=
T_BG_PIDS=

# Whatever a test started in the background dies with it, pass or fail.
t_cleanup() {
	local rc=$?
	set +e
	touch "$T_DIR/writers.stop"
	# Only these: a broker the test restarted is a child of this shell too, and must live on.
	for p in $T_RELAY_PID $T_BG_PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	exit "$rc"
}
trap t_cleanup EXIT

t_fail() {
	echo "ASSERTION FAILED: $*" >&2
	exit 1
}

# A fresh database owned by the app role; sets T_CONNINFO.
t_db() {
	local db=${1:-$T_NAME}${T_ON_SENT:+_$T_ON_SENT}
	psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$db\" OWNER app" >/dev/null
	T_DB=$db
	T_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=$db user=app password=$H_APP_PASSWORD"
}

# T_ON_SENT=keep runs a test (the chaos suite's second pass) with relay.on_sent = "keep": every config says so
# and the checker reads the progress row (--kept) to know what was delivered.
T_ON_SENT=${T_ON_SENT:-}

# Writes a config file: t_conf FILE [extra relay settings] [extra log settings]. The relay connects as the
# least-privileged role "relay"; schema install and grant as the owner, app (sql/grant_relay.sql).
t_conf() {
	local mode=
	[ -z "$T_ON_SENT" ] || mode="on_sent = \"$T_ON_SENT\"; "
	cat >"$1" <<CONF
postgres: { conninfo = "${T_CONNINFO/user=app /user=relay }"; owner_conninfo = "$T_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { $mode${2:-} };
log: { stats_interval_ms = 1000; ${3:-} };
CONF
}

t_sql() { psql -qtAX -v ON_ERROR_STOP=1 "$T_CONNINFO" -c "$1"; }

t_install() {
	"$OUTBOXD" schema install -c "$1" >/dev/null
	"$OUTBOXD" schema grant relay -c "$1" >/dev/null
}

t_start_relay() { # conf logfile
	"$OUTBOXD" run -c "$1" >>"$2" 2>&1 &
	T_RELAY_PID=$!
	t_wait_until 30 t_relaying_or_gone "$2" "$T_RELAY_PID" || true
	grep -q 'msg=relaying' "$2" && return 0
	cat "$2"
	t_fail "relay did not start"
}

t_relaying_or_gone() { grep -q 'msg=relaying' "$1" || h_gone "$2"; } # logfile pid

# Sends SIGTERM and waits up to $1 s (default 30); sets T_STOP_RC to the exit status, or "timeout" (then the
# relay is killed). Not for $(...): only this shell can wait for the relay.
t_stop_relay() {
	T_STOP_RC=timeout
	kill -TERM "$T_RELAY_PID" 2>/dev/null || true
	t_wait_until "${1:-30}" h_gone "$T_RELAY_PID" || true
	if kill -0 "$T_RELAY_PID" 2>/dev/null; then
		kill -KILL "$T_RELAY_PID"
		wait "$T_RELAY_PID" 2>/dev/null || true
		return 0
	fi
	T_STOP_RC=0
	wait "$T_RELAY_PID" || T_STOP_RC=$?
}

t_wait_log() { t_wait_until "$3" grep -q -- "$2" "$1" 2>/dev/null; } # file pattern seconds

t_sql_is() { [ "$(t_sql "$1")" = "$2" ]; } # sql expected
t_wait_sql() { t_wait_until "$3" t_sql_is "$1" "$2"; } # sql expected seconds

t_check() {
	"$TOOLS/checker" --pg "$T_CONNINFO" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC" ${T_ON_SENT:+--kept} "$@"
}

# Rows not delivered yet (and not failed): by sent_at, or with "keep" by the progress row (see checker --kept).
# t_pending_sql [mode]: T_ON_SENT's unless given. The table is "o": callers may add "AND o.id <= N".
t_pending_sql() { echo "SELECT count(*) FROM outbox o WHERE o.failed_at IS NULL AND NOT ($(t_delivered_if "${1:-$T_ON_SENT}"))"; }
# Rows delivered (and not failed since), the same way.
t_delivered_sql() { echo "SELECT count(*) FROM outbox o WHERE o.failed_at IS NULL AND $(t_delivered_if "${1:-$T_ON_SENT}")"; }
t_delivered_if() { # mode: the predicate on row o
	if [ "$1" = keep ]; then
		echo "(o.sent_at IS NOT NULL OR EXISTS (SELECT 1 FROM outbox_progress p
		      WHERE coalesce(pg_visible_in_snapshot(coalesce(o.xid, '3'), p.done), false)
		      OR (pg_visible_in_snapshot(coalesce(o.xid, '3'), p.target) AND o.id <= p.cur)))"
	else
		echo "o.sent_at IS NOT NULL"
	fi
}

t_expect_eq() { [ "$1" = "$2" ] || t_fail "$3: expected '$2', got '$1'"; }

t_expect_grep() { grep -q -- "$2" "$1" || { cat "$1"; t_fail "'$2' not found in $1"; }; }

t_expect_no_grep() { ! grep -q -- "$2" "$1" || { cat "$1"; t_fail "'$2' found in $1"; }; }

# Steady writers: pgbench clients each running transactions of two events for one key (serialised per key with
# an advisory lock, as README asks of applications), 10% rolled back. t_writers CLIENTS TRANSACTIONS
t_writers() {
	sed "s/@TOPIC@/$T_TOPIC/g" tests/integration/writer.sql >"$T_DIR/writer.sql"
	PGPASSWORD=$H_APP_PASSWORD "$H_PGBIN/pgbench" -n -h 127.0.0.1 -p "$PGPORT" -U app -c "$1" -j 2 -t "$2" \
		-f "$T_DIR/writer.sql" "$T_DB" >"$T_DIR/pgbench.log" 2>&1 || { cat "$T_DIR/pgbench.log"; t_fail "pgbench"; }
}
