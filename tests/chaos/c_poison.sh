# Poison rows among healthy traffic: payload over the producer's message.max.bytes, over the topic's own
# max.message.bytes (refused by the broker), an invalid topic name, headers that are not a JSON object (the
# table's CHECK constraint dropped to get them in), a non-string header value, a reserved header, NUL bytes,
# thousands of headers (relayed) and too many to fit (failed). Each poison row is marked failed with a readable
# reason; every other row flows, including later rows of a poisoned key (the "park" policy).
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker"; exit 0; }
t_db
SMALL=$T_TOPIC-small
"$TOOLS/mktopic" "$H_KAFKA_BROKERS" "$SMALL" 2 max.message.bytes=2000
t_conf "$T_DIR/o.conf" "batch_size = 50;"
t_install "$T_DIR/o.conf"
t_sql "ALTER TABLE outbox DROP CONSTRAINT outbox_headers_check" >/dev/null
# jsonb itself refuses NUL characters and invalid UTF-8: such headers cannot reach the relay.
if t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', 'x', '{\"a\": \"\\u0000\"}')" 2>/dev/null; then t_fail "jsonb accepted \\u0000"; fi
t_sql "
SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 20), convert_to('healthy ' || g, 'UTF8')) FROM generate_series(1, 300) g;
SELECT outbox_enqueue('$T_TOPIC', 'key-1', decode(repeat('ab', 1500000), 'hex'));
SELECT outbox_enqueue('$SMALL', 'key-2', decode(repeat('cd', 5000), 'hex'));
SELECT outbox_enqueue('$SMALL', 'key-2', 'small enough'::bytea);
SELECT outbox_enqueue('no/such topic', 'key-3', 'x'::bytea);
SELECT outbox_enqueue('$T_TOPIC', 'key-4', 'array headers'::bytea, '[1, 2]');
SELECT outbox_enqueue('$T_TOPIC', 'key-5', 'scalar headers'::bytea, '\"s\"');
SELECT outbox_enqueue('$T_TOPIC', 'key-6', 'number header'::bytea, '{\"n\": 1}');
SELECT outbox_enqueue('$T_TOPIC', 'key-7', 'reserved header'::bytea, '{\"id\": \"forged\"}');
SELECT outbox_enqueue('$T_TOPIC', 'key-8', '\\x00000100'::bytea, '{\"nul-free\": \"ok\"}');
SELECT outbox_enqueue('$T_TOPIC', 'key-9', 'many headers'::bytea, (SELECT jsonb_object_agg('h' || g, 'v' || g) FROM generate_series(1, 5000) g));
SELECT outbox_enqueue('$T_TOPIC', 'key-10', 'too many headers'::bytea, (SELECT jsonb_object_agg('header-' || g, repeat('v', 20)) FROM generate_series(1, 40000) g));
SELECT outbox_enqueue('$T_TOPIC', 'key-' || (g % 20), convert_to('healthy after ' || g, 'UTF8')) FROM generate_series(1, 300) g;
" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
c_drained_within 60
reason() { t_sql "SELECT last_error FROM outbox WHERE key = '$1'"; }
expect_reason() { # key pattern
	local r
	r=$(reason "$1")
	echo "$1: $r"
	case "$r" in *$2*) ;; *) t_fail "reason for '$1' is '$r', expected '$2'" ;; esac
}

t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE topic = '$SMALL' AND failed_at IS NOT NULL AND last_error LIKE '%MSG_SIZE_TOO_LARGE%'")" 1 "row over the topic's max.message.bytes failed"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE length(payload) = 1500000 AND failed_at IS NOT NULL AND last_error LIKE 'row is 15% bytes, more than the producer''s message.max.bytes%'")" 1 "row over message.max.bytes parked unread"
c_check_row "poison-rows" --topic "$SMALL" --expect-failed 8
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
