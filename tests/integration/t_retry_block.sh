# Per-row retry scheduling and the block_key policy (schema version 5).
# 1. A row failing transiently (its partition has no leader) is scheduled
#    (next_attempt_at, capped jittered backoff: few attempts, no hot loop) while other keys flow; a later row of
#    its key enqueued meanwhile is not claimed before it, even after the topic is fixed; then both go, in order.
# 2. on_permanent_error = "block_key": a failed row holds back the later rows of its key (in its own batch and
#    after) while other keys flow; once fixed and retried, the key's rows go in order.
# 3. The default, "park": the failed row is parked and the later rows of its key are delivered.
# 4. block_key with on_sent = "keep": the window passes the key's later rows, so they are set aside as failed,
#    unpublished, in the failed row's batch and in later claims; retrying the failed row moves them with it, and
#    the key goes in order with nothing sent twice. A reload to a smaller batch_size keeps the relay claiming.
# Part 1 runs against librdkafka's mock cluster: only it can leave one partition without a leader.
. tests/chaos/lib.sh
c_mock_start
REAL_BROKERS=$H_KAFKA_BROKERS
H_KAFKA_BROKERS=$C_MOCK_BROKERS
NOLEADER="$T_TOPIC-noleader"
c_mock_cmd "topic $T_TOPIC 2"
c_mock_cmd "topic $NOLEADER 1"
c_mock_cmd "leader $NOLEADER 0 -1"
t_db
t_conf "$T_DIR/o.conf" "batch_size = 50; delivery_timeout_ms = 1000; backoff_min_ms = 3000; backoff_max_ms = 6000;"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$NOLEADER', 'kb', convert_to('first', 'UTF8'))" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (g % 10), convert_to('ok' || g, 'UTF8')) FROM generate_series(1, 100) g" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE topic = '$T_TOPIC' AND sent_at IS NULL" 0 30 ||
	t_fail "other keys did not flow while one row was failing"
t_wait_sql "SELECT attempts >= 1 AND next_attempt_at > now() FROM outbox WHERE topic = '$NOLEADER'" t 20 ||
	{ tail -n 15 "$T_DIR/relay.log"; t_fail "the failing row was not scheduled: $(t_sql "SELECT attempts, next_attempt_at, last_error, sent_at FROM outbox WHERE topic = '$NOLEADER'")"; }
# Give the partition its leader back and, at once, enqueue the key's next event: it must wait for the first
# one's next attempt.
c_mock_cmd "leader $NOLEADER 0 1"
t_sql "SELECT outbox_enqueue('$NOLEADER', 'kb', convert_to('second', 'UTF8'))" >/dev/null
sleep 0.5
if [ "$(t_sql "SELECT next_attempt_at > now() FROM outbox WHERE topic = '$NOLEADER' AND payload = 'first'")" = t ]; then
	t_expect_eq "$(t_sql "SELECT attempts || ',' || (sent_at IS NULL) FROM outbox WHERE topic = '$NOLEADER' AND payload = 'second'")" \
		"0,true" "the later row of the waiting key (attempts, unsent)"
	echo "the later row waited behind the scheduled one"
else
	echo "the first row came due before the check: the wait was not observed this time"
fi
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "the scheduled row was not retried"
attempts=$(t_sql "SELECT attempts FROM outbox WHERE topic = '$NOLEADER' AND payload = 'first'")
echo "the failing row took $attempts failed attempts"
[ "$attempts" -ge 1 ] && [ "$attempts" -le 4 ] || t_fail "attempts $attempts: expected a few, spaced by the backoff"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
"$TOOLS/checker" --pg "$T_CONNINFO" --brokers "$C_MOCK_BROKERS" --topic "$T_TOPIC" --topic "$NOLEADER"
c_mock_stop
H_KAFKA_BROKERS=$REAL_BROKERS

poison_rows() {
	t_sql "SELECT outbox_enqueue('$T_TOPIC', 'kx', convert_to('one', 'UTF8'), '{\"n\": 1}')" >/dev/null
	t_sql "SELECT outbox_enqueue('$T_TOPIC', 'kx', convert_to('two', 'UTF8'))" >/dev/null
	t_sql "SELECT outbox_enqueue('$T_TOPIC', CASE WHEN g % 2 = 0 THEN 'ky' ELSE 'kx' END, convert_to('n' || g, 'UTF8')) FROM generate_series(3, 10) g" >/dev/null
}

# 2. block_key
T_TOPIC="$T_TOPIC-block"
t_db "${T_NAME}_block"
t_conf "$T_DIR/block.conf" "batch_size = 50; on_permanent_error = \"block_key\";"
t_install "$T_DIR/block.conf"
poison_rows
t_start_relay "$T_DIR/block.conf" "$T_DIR/relay-block.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE key = 'ky' AND sent_at IS NULL" 0 20 || t_fail "other keys did not flow"
t_wait_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL" 1 20 || t_fail "the poison row was not failed"
sleep 2
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE key = 'kx' AND sent_at IS NOT NULL")" 0 "rows of the blocked key sent"
t_expect_grep "$T_DIR/relay-block.log" 'held back: an earlier event of this key failed (block_key)'
first=$(t_sql "SELECT id FROM outbox WHERE failed_at IS NOT NULL")
t_sql "UPDATE outbox SET headers = '{\"n\": \"1\"}' WHERE id = $first"
"$OUTBOXD" retry "$first" -c "$T_DIR/block.conf" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "the key did not flow after the retry"
t_stop_relay
t_check

# 3. park (the default): the later rows of the poisoned key are delivered.
T_TOPIC="$T_TOPIC-park"
t_db "${T_NAME}_park"
t_conf "$T_DIR/park.conf" "batch_size = 50;"
t_install "$T_DIR/park.conf"
poison_rows
t_start_relay "$T_DIR/park.conf" "$T_DIR/relay-park.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 20 || t_fail "not relayed in park mode"
t_stop_relay
t_check --expect-failed 1

# 4. block_key with on_sent = "keep".
T_TOPIC="$T_TOPIC-keep"
t_db "${T_NAME}_keep"
t_conf "$T_DIR/keep.conf" 'batch_size = 50; on_sent = "keep"; on_permanent_error = "block_key"; poll_interval_ms = 200;'
t_install "$T_DIR/keep.conf"
poison_rows
t_start_relay "$T_DIR/keep.conf" "$T_DIR/relay-keep.log"
t_wait_sql "$(t_pending_sql keep)" 0 20 || t_fail "keep: the window did not pass the key's rows"
# kx: the poison row, 'two' and n3, n5, n7, n9 in its batch.
t_expect_eq "$(t_sql "SELECT count(*) FILTER (WHERE failed_at IS NOT NULL), count(*) FILTER (WHERE last_error LIKE 'held back%')
	FROM outbox WHERE key = 'kx'")" "6|5" "keep: failed and set-aside rows of the blocked key"
t_expect_grep "$T_DIR/relay-keep.log" 'msg="rows set aside behind a failed event of their key (block_key)" rows=5'
# Rows of the key written after the failure: the claim finds their key blocked.
t_sql "SELECT outbox_enqueue('$T_TOPIC', CASE WHEN g % 2 = 0 THEN 'ky' ELSE 'kx' END, convert_to('n' || g, 'UTF8')) FROM generate_series(11, 20) g" >/dev/null
t_wait_sql "$(t_pending_sql keep)" 0 20 || t_fail "keep: the window did not pass the later rows"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE key = 'kx' AND failed_at IS NOT NULL")" 11 "keep: blocked rows after the failure"
# A smaller batch_size on SIGHUP: keep's claim follows (before, it kept the old limit and every claim failed).
t_conf "$T_DIR/keep.conf" 'batch_size = 5; on_sent = "keep"; on_permanent_error = "block_key"; poll_interval_ms = 200;'
kill -HUP "$T_RELAY_PID"
t_wait_log "$T_DIR/relay-keep.log" 'msg="configuration reloaded" batch_size=5' 10 || t_fail "keep: no reload"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'kz', convert_to('z' || g, 'UTF8')) FROM generate_series(1, 20) g" >/dev/null
t_wait_sql "$(t_pending_sql keep)" 0 20 || { tail -n 5 "$T_DIR/relay-keep.log"; t_fail "keep: nothing claimed after the reload"; }
first=$(t_sql "SELECT id FROM outbox WHERE failed_at IS NOT NULL AND last_error NOT LIKE 'held back%'")
t_sql "UPDATE outbox SET headers = '{\"n\": \"1\"}' WHERE id = $first"
"$OUTBOXD" retry "$first" -c "$T_DIR/keep.conf" >"$T_DIR/retry-keep.out" || t_fail "keep: retry failed"
t_expect_grep "$T_DIR/retry-keep.out" '^retried 11 failed rows'
t_wait_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL" 0 5 || t_fail "keep: rows still failed after retry"
t_wait_sql "$(t_pending_sql keep)" 0 20 || t_fail "keep: the key did not flow after the retry"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_check --kept # DUP 0: no set-aside row was published before its retry; REORDER 0: the key went in order
