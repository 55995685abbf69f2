# Operating on failed rows: the outbox_lag view (works with the daemon down), `failed list`, and `retry` by id or
# --all, each in one transaction and refusing ambiguous input; a retried row is relayed once fixed.
t_db
t_conf "$T_DIR/o.conf"
t_install "$T_DIR/o.conf"
BAD=bad-topic-$RANDOM
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', convert_to('ok' || i, 'UTF8')) FROM generate_series(1, 20) i" >/dev/null
t_sql "SELECT outbox_enqueue('$BAD!', 'k' || i, convert_to('bad' || i, 'UTF8')) FROM generate_series(1, 3) i" >/dev/null
# The view, with no daemon running: one line per topic.
t_expect_eq "$(t_sql "SELECT topic, pending, failed FROM outbox_lag ORDER BY topic" | tr '\n' ' ')" "$BAD!|3|0 $T_TOPIC|20|0 " "outbox_lag before the relay"
t_expect_eq "$(t_sql "SELECT oldest_pending_s > 0 FROM outbox_lag WHERE topic = '$T_TOPIC'")" t "oldest_pending_s"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "not relayed"
t_stop_relay
t_expect_eq "$(t_sql "SELECT topic, pending, failed FROM outbox_lag ORDER BY topic" | tr '\n' ' ')" "$BAD!|0|3 " "outbox_lag after the relay"

"$OUTBOXD" failed list -c "$T_DIR/o.conf" >"$T_DIR/list.out" 2>"$T_DIR/list.err"
t_expect_eq "$(tail -n +2 "$T_DIR/list.out" | wc -l)" 3 "failed list rows"
t_expect_grep "$T_DIR/list.out" "$BAD!.*invalid topic"
t_expect_grep "$T_DIR/list.err" '^3 failed rows'
ids=$(tail -n +2 "$T_DIR/list.out" | cut -f1 | tr '\n' ' ')
first=${ids%% *}

# Ambiguous or wrong input changes nothing.
expect_refused() { # stderr-pattern args...
	local pat=$1 rc=0
	shift
	"$OUTBOXD" retry "$@" -c "$T_DIR/o.conf" >/dev/null 2>"$T_DIR/retry.err" || rc=$?
	[ "$rc" != 0 ] || t_fail "retry $* was accepted"
	t_expect_grep "$T_DIR/retry.err" "$pat"
	t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")" 3 "retry $*: nothing changed"
	echo "refused ($rc): retry $*: $(head -n 1 "$T_DIR/retry.err")"
}
expect_refused 'usage: outboxd retry'
expect_refused 'not both' --all "$first"
expect_refused 'not a row id: x1' x1
expect_refused '1 of the 2 ids given are failed rows; nothing changed' "$first" 1   # id 1 was sent, not failed

# Fix the topic of the failed rows (as the owner would), retry one by id, then the rest with --all.
t_sql "UPDATE outbox SET topic = '$T_TOPIC' WHERE failed_at IS NOT NULL" >/dev/null
"$OUTBOXD" retry "$first" -c "$T_DIR/o.conf" >"$T_DIR/retry1.out"
t_expect_grep "$T_DIR/retry1.out" '^retried 1 failed rows'
t_expect_eq "$(t_sql "SELECT failed_at IS NULL AND attempts = 1 FROM outbox WHERE id = $first")" t "retried row pending, attempts kept"
"$OUTBOXD" retry --all -c "$T_DIR/o.conf" >"$T_DIR/retry2.out"
t_expect_grep "$T_DIR/retry2.out" '^retried 2 failed rows'
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay2.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "retried rows not relayed"
t_stop_relay
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_lag")" 0 "outbox_lag empty when all sent"
t_check

# A table still at schema version 1: ordering by key (the default) needs the buckets of version 4, so the relay
# refuses to start and says what to do; with ordering = "none" this binary keeps relaying it.
t_db "${T_NAME}_v1"
psql -qX -v ON_ERROR_STOP=1 -v schema=public -v table=outbox -1 -f sql/001_outbox.sql "$T_CONNINFO" >/dev/null
cat >"$T_DIR/v1-key.conf" <<CONF
postgres: { conninfo = "$T_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'v1', 'on a version 1 table'::bytea)" >/dev/null
rc=0
"$OUTBOXD" run -c "$T_DIR/v1-key.conf" >"$T_DIR/v1-key.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "exit status with ordering key on a version 1 table"
t_expect_grep "$T_DIR/v1-key.log" 'needs version 4 (run: outboxd schema install, or set relay.ordering'
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL")" 1 "rows pending after the refusal"
cat >"$T_DIR/v1.conf" <<CONF
postgres: { conninfo = "$T_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { ordering = "none"; };
CONF
t_start_relay "$T_DIR/v1.conf" "$T_DIR/relay-v1.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "version 1 table not relayed"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status on a version 1 table"
