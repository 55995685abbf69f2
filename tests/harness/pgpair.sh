# A PostgreSQL primary and a streaming standby (pg_basebackup) for the failover scenarios (sourced after lib.sh),
# in the test's directory, on free loopback ports, as the harness's own server is run (as postgres when root).
#
#   pair_start sync|async   primary and standby; sync: synchronous_standby_names names the standby, so a commit
#                           returns only once it is on both. Sets PR_PORT, SB_PORT, PR_DIR, SB_DIR and
#                           PAIR_CONNINFO (both hosts, target_session_attrs=read-write, dbname app, user relay)
#   pair_sql PORT SQL       runs SQL as the superuser on one server
#   pair_kill_primary       SIGKILL of the primary's postmaster (its children follow); it is never started again
#   pair_promote            pg_ctl promote on the standby, waiting until it takes writes
#   pair_failover           both of those, then the old primary rebuilt as the new synchronous standby
#   pair_stop               stops whatever is left

pair_pg() { h_as_pg "$H_PGBIN/$@"; }

pair_sql() { PGPASSWORD=postgres-super-pw psql -qtAX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "${3:-postgres}" -c "$2"; }

pair_opts() { # port
	echo "-p $1 -k $T_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=32MB \
-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on -c wal_keep_size=256MB"
}

pair_start() {
	local mode=$1
	PR_DIR=$T_DIR/primary SB_DIR=$T_DIR/standby
	rm -rf "$PR_DIR" "$SB_DIR"
	mkdir -p "$PR_DIR" "$SB_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PR_DIR" "$SB_DIR" "$T_DIR"
	pair_pg initdb -D "$PR_DIR/data" -U postgres --pwfile="$H_TMP/pgpw" -A scram-sha-256 --auth-local=trust -E UTF8 \
		--locale=C.UTF-8 >"$T_DIR/initdb-pair.log" 2>&1 || { cat "$T_DIR/initdb-pair.log"; t_fail "initdb (primary)"; }
	PR_PORT=$(h_free_port)
	SB_PORT=$(h_free_port)
	while [ "$SB_PORT" = "$PR_PORT" ]; do SB_PORT=$(h_free_port); done
	pair_pg pg_ctl -D "$PR_DIR/data" -o "$(pair_opts "$PR_PORT")" -l "$PR_DIR/log" -w -t 60 start >/dev/null ||
		{ cat "$PR_DIR/log"; t_fail "primary did not start"; }
	pair_sql "$PR_PORT" "CREATE ROLE app LOGIN PASSWORD '$H_APP_PASSWORD'; CREATE ROLE relay LOGIN PASSWORD '$H_APP_PASSWORD'" >/dev/null
	pair_sql "$PR_PORT" "CREATE DATABASE app OWNER app" >/dev/null
	pair_new_standby
	# Synchronous only once the standby streams: before, every commit (CREATE ROLE above, say) would wait for it.
	[ "$mode" != sync ] || pair_primary_set "SET synchronous_standby_names = 'standby1'"
	t_wait_until 30 pair_streaming "$mode" || t_fail "the standby is not streaming ($mode)"
	PAIR_CONNINFO="host=127.0.0.1,127.0.0.1 port=$PR_PORT,$SB_PORT dbname=app user=relay password=$H_APP_PASSWORD target_session_attrs=read-write"
	PAIR_OWNER="host=127.0.0.1 port=$PR_PORT dbname=app user=app password=$H_APP_PASSWORD"
	echo "pair ($mode): primary 127.0.0.1:$PR_PORT, standby 127.0.0.1:$SB_PORT"
}

# SB_DIR/data made a streaming copy of the primary (pg_basebackup -R) and started on SB_PORT.
pair_new_standby() {
	h_as_pg env PGPASSWORD=postgres-super-pw "$H_PGBIN/pg_basebackup" -D "$SB_DIR/data" -X stream -R -c fast \
		-d "host=127.0.0.1 port=$PR_PORT user=postgres application_name=standby1" >"$T_DIR/basebackup.log" 2>&1 ||
		{ cat "$T_DIR/basebackup.log"; t_fail "pg_basebackup"; }
	pair_pg pg_ctl -D "$SB_DIR/data" -o "$(pair_opts "$SB_PORT")" -l "$SB_DIR/log" -w -t 60 start >/dev/null ||
		{ cat "$SB_DIR/log"; t_fail "standby did not start"; }
}

pair_primary_set() { # "SET name = value" or "RESET name": ALTER SYSTEM on the primary, then reloaded
	pair_sql "$PR_PORT" "ALTER SYSTEM $1" >/dev/null
	pair_sql "$PR_PORT" "SELECT pg_reload_conf()" >/dev/null
}

pair_streaming() { # mode
	local want=async
	[ "$1" = sync ] && want=sync
	[ "$(pair_sql "$PR_PORT" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" = "$want" ]
}

pair_kill_primary() {
	local pid
	pid=$(head -n 1 "$PR_DIR/data/postmaster.pid")
	kill -KILL "$pid"
	t_wait_until 10 h_gone "$pid" || t_fail "the primary's postmaster survived SIGKILL"
	# The postmaster's children notice it is gone and exit; the port must be free before the promotion.
	t_wait_until 15 pair_port_closed "$PR_PORT" || t_fail "the old primary still answers"
}

pair_port_closed() { ! h_port_open "$1"; }

pair_writable() { [ "$(pair_sql "$SB_PORT" "SELECT pg_is_in_recovery()")" = f ]; }

pair_promote() {
	pair_pg pg_ctl -D "$SB_DIR/data" -w -t 60 promote >/dev/null || t_fail "promote failed"
	t_wait_until 30 pair_writable || t_fail "the promoted standby does not take writes"
}

pair_stop() {
	local d
	for d in "$SB_DIR" "$PR_DIR"; do
		[ -f "$d/data/postmaster.pid" ] || continue
		pair_pg pg_ctl -D "$d/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	done
}

# A repeatable failover for the nemesis: the primary SIGKILLed, the standby promoted, the old primary's directory
# made afresh as a standby of the new one (pg_basebackup; the old data is never started again) on its own port,
# synchronous again once it streams. PR_* and SB_* swap: they name the current primary and standby.
pair_failover() {
	local dir port
	pair_kill_primary
	pair_promote
	dir=$PR_DIR port=$PR_PORT
	PR_DIR=$SB_DIR PR_PORT=$SB_PORT
	SB_DIR=$dir SB_PORT=$port
	# The copy carries the primary's postgresql.auto.conf, reset first: the new standby waits for no one.
	pair_primary_set "RESET synchronous_standby_names"
	rm -rf "$SB_DIR/data"
	pair_new_standby
	t_wait_until 30 pair_streaming async || t_fail "the rebuilt standby is not streaming"
	pair_primary_set "SET synchronous_standby_names = 'standby1'"
	t_wait_until 30 pair_streaming sync || t_fail "the rebuilt standby is not synchronous"
}
