# Row data of hostile shapes keeps memory bounded: 100 payloads of 900 KB (a batch stops at batch_max_bytes),
# a row with 5,000 headers, a 100 KB key, and a 2 MB row above message.max.bytes, which is parked without being
# read. Everything else is relayed byte-exact. Peak RSS is reported and bounded.
t_db
t_conf "$T_DIR/o.conf" "batch_size = 1000; batch_max_bytes = 4194304;"
t_install "$T_DIR/o.conf"
T=$T_TOPIC
t_sql "SELECT outbox_enqueue('$T', 'big-' || (g % 7), decode(repeat(lpad(to_hex(g), 2, '0'), 900000), 'hex')) FROM generate_series(1, 100) g" >/dev/null
t_sql "SELECT outbox_enqueue('$T', 'many-headers', 'h'::bytea, (SELECT jsonb_object_agg('h' || g, 'value-' || g) FROM generate_series(1, 5000) g))" >/dev/null
t_sql "SELECT outbox_enqueue('$T', repeat('k', 100000), 'long key'::bytea)" >/dev/null
t_sql "SELECT outbox_enqueue('$T', 'too-big', decode(repeat('ab', 2000000), 'hex'))" >/dev/null
t_sql "SELECT outbox_enqueue('$T', 'too-big', 'after the parked row'::bytea)" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
peak=0
sample_peak() {
	local hwm
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$T_RELAY_PID/status" 2>/dev/null || echo 0)
	[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
	return 0
}
sampled_until_drained() { sample_peak; t_sql_is "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0; }
t_wait_until 60 sampled_until_drained || true
sample_peak
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
echo "peak RSS: $peak kB (table holds $(t_sql "SELECT pg_size_pretty(sum(octet_length(payload))) FROM outbox"))"
# 100 rows of 900 KB in one batch would be 90 MB in the claim result alone. AddressSanitizer keeps freed memory
# in quarantine (and shadow memory besides), so the bound holds only for the plain build.
if grep -q __asan_init "$OUTBOXD"; then
	echo "sanitizer build: RSS reported, not bounded"
else
	[ "$peak" -lt 80000 ] || t_fail "peak RSS $peak kB: the batch byte budget did not bound memory"
fi
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE 'row is 2000007 bytes, more than%'")" 1 "oversize row parked unread"
# batches were cut by bytes, not by count
t_expect_grep "$T_DIR/relay.log" 'msg=stats'
t_check --expect-failed 1
