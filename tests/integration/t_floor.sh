# The claim floor (schema version 6): the claim starts above an id below which nothing is pending, so a
# long-open transaction does not make each batch dearer than the last. The floor must never pass a row that can
# still become pending: one written by a transaction that is still open (listed in a snapshot or not), one made pending again by replay, or one
# whose id restarted after TRUNCATE ... RESTART IDENTITY.
t_db
t_conf "$T_DIR/o.conf" "poll_interval_ms = 200;"
t_install "$T_DIR/o.conf"
t_expect_eq "$(t_sql "SELECT floor FROM outbox_floor")" 0 "a new table's floor"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || i, convert_to('v' || i, 'UTF8')) FROM generate_series(1, 10) i" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT floor FROM outbox_floor" 10 10 || t_fail "the floor did not rise to 10: $(t_sql "SELECT floor FROM outbox_floor")"

# A writer takes id 11 and stays open while 2,000 later rows are relayed; then it commits, and its key's next
# event follows. The floor must stay at 10 meanwhile, or row 11 would never be claimed.
psql -qX "$T_CONNINFO" -c "BEGIN" -c "SELECT outbox_enqueue('$T_TOPIC', 'late', 'a1'::bytea)" \
	-c "SELECT pg_sleep(5)" -c "COMMIT" >/dev/null &
writer=$!
t_wait_sql "SELECT last_value FROM outbox_id_seq" 11 10 || t_fail "the writer did not take id 11"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 50), convert_to('w' || i, 'UTF8')) FROM generate_series(1, 2000) i" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "the later rows were not relayed"
open=$(t_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'")
floor=$(t_sql "SELECT floor FROM outbox_floor")
t_expect_eq "$open" 1 "the writer is still open"
[ "$floor" -le 10 ] || t_fail "the floor rose to $floor past the open writer's row 11"
wait "$writer"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'late', 'a2'::bytea)" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || { t_sql "SELECT id, key, attempts, last_error, failed_at FROM outbox WHERE sent_at IS NULL"; t_sql "TABLE outbox_floor"; tail -n 5 "$T_DIR/relay.log"; t_fail "the late rows were not relayed"; }
t_wait_sql "SELECT floor = (SELECT max(id) FROM outbox) FROM outbox_floor" t 10 ||
	t_fail "the floor did not rise to the last row: $(t_sql "SELECT floor FROM outbox_floor")"
t_check

# A transaction that took its id after the last one to finish is running but missing from a snapshot's list of
# transactions in progress: A takes a transaction id, B takes a later one and a row id and stays open, A then
# writes a row and commits. B's row must not fall below the floor while B is open.
coproc A { psql -qtAX "$T_CONNINFO"; }
# bash unsets A and A_PID as soon as the coprocess ends, so keep what is needed to close it.
a_pid=$A_PID a_in=${A[1]} a_out=${A[0]}
echo "BEGIN; SELECT pg_current_xact_id();" >&"$a_in"
read -r _ <&"$a_out"
b_id=$(($(t_sql "SELECT last_value FROM outbox_id_seq") + 1))
psql -qX "$T_CONNINFO" -c "BEGIN" -c "SELECT outbox_enqueue('$T_TOPIC', 'late-b', 'b1'::bytea)" \
	-c "SELECT pg_sleep(5)" -c "COMMIT" >/dev/null &
writer=$!
t_wait_sql "SELECT last_value FROM outbox_id_seq" "$b_id" 10 || t_fail "B did not take id $b_id"
echo "SELECT outbox_enqueue('$T_TOPIC', 'late-a', 'a1'::bytea); COMMIT;" >&"$a_in"
t_wait_sql "SELECT count(*) FROM outbox WHERE id > $b_id AND sent_at IS NOT NULL" 1 10 || t_fail "A's row not relayed"
sleep 1
floor=$(t_sql "SELECT floor FROM outbox_floor")
t_expect_eq "$(t_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'")" 1 "B is still open"
[ "$floor" -lt "$b_id" ] || t_fail "the floor rose to $floor past B's open row $b_id"
wait "$writer"
echo "\\q" >&"$a_in"
wait "$a_pid" 2>/dev/null || true
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "B's row was not relayed"
t_check

# replay makes rows pending again: the floor goes back to 0 (and its generation moves on), and they are re-sent.
gen=$(t_sql "SELECT gen FROM outbox_floor")
replayed=$(t_sql "SELECT count(*) FROM outbox WHERE id >= 1000")
"$OUTBOXD" replay --from-id 1000 -c "$T_DIR/o.conf" >"$T_DIR/replay.out"
t_expect_grep "$T_DIR/replay.out" "^replayed $replayed rows"
t_expect_eq "$(t_sql "SELECT gen > $gen FROM outbox_floor")" t "replay resets the floor"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "replayed rows not re-sent"
t_check --max-dup "$replayed"

# TRUNCATE ... RESTART IDENTITY: ids start again at 1, far below the floor.
t_sql "TRUNCATE outbox RESTART IDENTITY"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'again', convert_to('r' || i, 'UTF8')) FROM generate_series(1, 5) i" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "rows after TRUNCATE not relayed"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
