# Bad input: one clear line naming file, line and key; the documented exit status; nothing marked.
t_db
t_conf "$T_DIR/good.conf"
t_install "$T_DIR/good.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', 'v') FROM generate_series(1, 5)" >/dev/null

expect_exit() { # expected-status stderr-pattern command...
	local want=$1 pat=$2 rc=0
	shift 2
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	[ "$rc" = "$want" ] || { cat "$T_DIR/err"; t_fail "$*: exit $rc, expected $want"; }
	grep -q -- "$pat" "$T_DIR/err" || { cat "$T_DIR/err"; t_fail "$*: stderr lacks '$pat'"; }
	echo "ok: exit $rc: $(head -n 1 "$T_DIR/err")"
}

bad() { # name line... : writes $T_DIR/NAME.conf
	local f=$T_DIR/$1.conf
	shift
	printf '%s\n' "$@" >"$f"
	echo "$f"
}

PG="postgres: { conninfo = \"$T_CONNINFO\"; };"
KF="kafka: { brokers = \"$H_KAFKA_BROKERS\"; };"

expect_exit 78 'syntax.conf:2: syntax error' "$OUTBOXD" check-config -c "$(bad syntax "$PG" 'kafka: { brokers = ; };')"
expect_exit 78 'unknown.conf:3: relay.batchsize: unknown setting' "$OUTBOXD" run -c "$(bad unknown "$PG" "$KF" 'relay: { batchsize = 5; };')"
expect_exit 78 'group.conf:3: relais: unknown setting' "$OUTBOXD" check-config -c "$(bad group "$PG" "$KF" 'relais: { };')"
expect_exit 78 'type.conf:3: relay.batch_size: expected a whole number' "$OUTBOXD" check-config -c "$(bad type "$PG" "$KF" 'relay: { batch_size = "10"; };')"
expect_exit 78 'range.conf:3: relay.batch_size: -1 is out of range' "$OUTBOXD" check-config -c "$(bad range "$PG" "$KF" 'relay: { batch_size = -1; };')"
expect_exit 78 "huge.conf:3: number too large" "$OUTBOXD" check-config -c "$(bad huge "$PG" "$KF" 'relay: { poll_interval_ms = 99999999999L; };')"
expect_exit 78 'level.conf:3: log.level: "loud" is not one of' "$OUTBOXD" check-config -c "$(bad level "$PG" "$KF" 'log: { level = "loud"; };')"
expect_exit 78 'missing.conf: kafka.brokers: required setting is missing' "$OUTBOXD" check-config -c "$(bad missing "$PG")"
expect_exit 78 'conninfo.conf:1: postgres.conninfo: invalid' "$OUTBOXD" check-config -c "$(bad conninfo 'postgres: { conninfo = "host=x bogus"; };' "$KF")"
expect_exit 78 'kprop.conf:3: kafka.properties: No such configuration property: "no.such.property"' "$OUTBOXD" check-config -c "$(bad kprop "$PG" 'kafka: { brokers = "127.0.0.1:1";' '  properties = [ "linger.ms=1", "no.such.property=1" ]; };')"
expect_exit 78 'kval.conf:2: kafka.properties: Invalid value' "$OUTBOXD" run -c "$(bad kval "$PG" 'kafka: { brokers = "127.0.0.1:1"; properties = [ "linger.ms=abc" ]; };')"
expect_exit 78 'managed by outboxd' "$OUTBOXD" check-config -c "$(bad managed "$PG" 'kafka: { brokers = "127.0.0.1:1"; properties = [ "enable.idempotence=false" ]; };')"
expect_exit 78 'longtable.conf:1: postgres.table: longer than 63 bytes' "$OUTBOXD" check-config -c "$(bad longtable "postgres: { conninfo = \"x=1\"; table = \"$(printf 'a%.0s' $(seq 1 64))\"; };" "$KF")"
expect_exit 78 'nofile.conf: cannot read' "$OUTBOXD" run -c "$T_DIR/nofile.conf"

# Unreachable database (a port nothing listens on), for the daemon and the one-shot commands.
DEAD=$(h_free_port)
bad unreachable "postgres: { conninfo = \"host=127.0.0.1 port=$DEAD dbname=x user=app connect_timeout=3\"; };" "$KF" >/dev/null
expect_exit 69 'cannot connect to PostgreSQL' "$OUTBOXD" run -c "$T_DIR/unreachable.conf"
expect_exit 69 'cannot connect to PostgreSQL' "$OUTBOXD" status -c "$T_DIR/unreachable.conf"
expect_exit 69 'cannot connect to PostgreSQL' "$OUTBOXD" schema install -c "$T_DIR/unreachable.conf"

# Wrong password: refused, and the password appears nowhere.
bad wrongpw "postgres: { conninfo = \"host=127.0.0.1 port=$PGPORT dbname=$T_DB user=app password=Wrong-Pw-77\"; };" "$KF" >/dev/null
expect_exit 69 'password authentication failed' "$OUTBOXD" run -c "$T_DIR/wrongpw.conf"
t_expect_no_grep "$T_DIR/err" 'Wrong-Pw-77'

# The outbox table missing (schema never installed in this database): a configuration error.
t_db "${T_NAME}_empty"
t_conf "$T_DIR/notable.conf"
expect_exit 78 'does not exist or is not an outboxd table (run: outboxd schema install)' "$OUTBOXD" run -c "$T_DIR/notable.conf"
expect_exit 78 'does not exist' "$OUTBOXD" status -c "$T_DIR/notable.conf"

# Nothing was marked by any of the above.
T_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=$T_NAME user=app password=$H_APP_PASSWORD"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND attempts = 0")" 5 "rows untouched"
