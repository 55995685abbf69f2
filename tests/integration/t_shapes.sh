# Row data of every shape arrives byte-exact; poison rows are marked failed with a readable reason while every
# other row, including later rows of the poisoned key, keeps flowing.
t_db
t_conf "$T_DIR/o.conf"
t_install "$T_DIR/o.conf"
T=$T_TOPIC
t_sql "
SELECT outbox_enqueue('$T', 'all-bytes', (SELECT string_agg(set_byte('\\x00'::bytea, 0, g), ''::bytea ORDER BY g) FROM generate_series(0, 255) g));
SELECT outbox_enqueue('$T', 'empty-payload', ''::bytea);
SELECT outbox_enqueue('$T', 'tombstone', NULL);
SELECT outbox_enqueue('$T', '', 'empty key'::bytea);
SELECT outbox_enqueue('$T', NULL, 'no key'::bytea);
SELECT outbox_enqueue('$T', 'ключ ✓', convert_to('unicode ✓', 'UTF8'), '{\"ü\": \"✓ value\", \"nullvalue\": null, \"empty\": \"\"}');
SELECT outbox_enqueue('$T', 'big', decode(repeat('00ff', 262144), 'hex'));
SELECT outbox_enqueue('$T', 'poison-key', 'before'::bytea);
SELECT outbox_enqueue('$T', 'poison-key', 'bad header'::bytea, '{\"n\": 1}');
SELECT outbox_enqueue('$T', 'poison-key', 'after'::bytea);
SELECT outbox_enqueue('$T', 'x', 'reserved'::bytea, '{\"id\": \"spoof\"}');
SELECT outbox_enqueue('bad topic!', 'x', 'y'::bytea);
SELECT outbox_enqueue('$T', 'huge', decode(repeat('ab', 2000000), 'hex'));
SELECT outbox_enqueue('$T', 'own-id', 'x'::bytea, NULL, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_check --expect-failed 4
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE 'headers: value of \"n\" is not a string%'")" 1 "non-string header reason"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE 'headers: \"id\" is reserved%'")" 1 "reserved header reason"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE 'invalid topic name%'")" 1 "invalid topic reason"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE 'row is 2000004 bytes, more than the producer''s message.max.bytes%'")" 1 "oversize reason"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND sent_at IS NULL AND attempts = 1")" 4 "failed rows have one attempt"
t_expect_grep "$T_DIR/relay.log" 'msg="row failed"'
"$OUTBOXD" status -c "$T_DIR/o.conf" >"$T_DIR/status.out"
t_expect_grep "$T_DIR/status.out" '^failed: *4$'
t_expect_grep "$T_DIR/status.out" '^pending: *0$'
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
