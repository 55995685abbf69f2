# Least privilege: the relay runs as a role holding only sql/grant_relay.sql's grants (every integration test
# does, through t_conf). It relays and parks, and it cannot read or change anything else.
t_db
t_conf "$T_DIR/r.conf"
t_install "$T_DIR/r.conf"
RELAY_CONNINFO="${T_CONNINFO/user=app /user=relay }"
t_sql "CREATE TABLE orders (id int PRIMARY KEY, secret text); INSERT INTO orders VALUES (1, 'top')" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 10), convert_to('v' || i, 'UTF8')) FROM generate_series(1, 300) i" >/dev/null
t_sql "SELECT outbox_enqueue('bad topic!', 'k', 'parked'::bytea)" >/dev/null
t_start_relay "$T_DIR/r.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "rows not relayed"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_expect_grep "$T_DIR/relay.log" 'user=relay\|msg=relaying'
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE '%topic%'")" 1 "parked row"
t_check --expect-failed 1

# What the relay role must not do. Each statement fails with a permission error.
deny() {
	if psql -qtAX -v ON_ERROR_STOP=1 "$RELAY_CONNINFO" -c "$1" >"$T_DIR/deny.out" 2>"$T_DIR/deny.err"; then
		t_fail "the relay role could: $1"
	fi
	grep -q 'permission denied\|must be owner' "$T_DIR/deny.err" || { cat "$T_DIR/deny.err"; t_fail "$1: not a permission error"; }
	echo "denied: $1"
}
deny "SELECT * FROM orders"
deny "UPDATE orders SET secret = 'x'"
deny "INSERT INTO outbox (topic) VALUES ('t')"
deny "SELECT outbox_enqueue('t', 'k', 'v')"
deny "UPDATE outbox SET payload = 'x' WHERE id = 1"
deny "UPDATE outbox SET topic = 'x' WHERE id = 1"
deny "DELETE FROM outbox"
deny "TRUNCATE outbox"
deny "DROP TABLE outbox"
deny "ALTER TABLE outbox ADD COLUMN x int"
deny "CREATE TABLE evil (i int)"
deny "UPDATE outboxd_schema SET version = 99"
t_expect_eq "$(t_sql "SELECT secret FROM orders")" top "orders untouched"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")" 300 "sent rows untouched"

# Schema changes need the owner: without owner_conninfo, install as the relay role is refused and changes nothing.
cat >"$T_DIR/relay-only.conf" <<CONF
postgres: { conninfo = "$RELAY_CONNINFO"; schema = "other"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
rc=0; "$OUTBOXD" schema install -c "$T_DIR/relay-only.conf" >/dev/null 2>"$T_DIR/install.err" || rc=$?
t_expect_eq "$rc" 65 "schema install as the relay role"
t_expect_grep "$T_DIR/install.err" 'permission denied'
t_expect_eq "$(t_sql "SELECT count(*) FROM pg_namespace WHERE nspname = 'other'")" 0 "no schema created"
# grant is idempotent, and refuses a role that does not exist
"$OUTBOXD" schema grant relay -c "$T_DIR/r.conf" | grep -q '^granted relay' || t_fail "second grant"
rc=0; "$OUTBOXD" schema grant nosuchrole -c "$T_DIR/r.conf" 2>"$T_DIR/grant.err" || rc=$?
t_expect_eq "$rc" 65 "grant to a missing role"
t_expect_grep "$T_DIR/grant.err" 'role "nosuchrole" does not exist'
