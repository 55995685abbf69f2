# relay.on_sent = "keep" (schema version 7): delivered rows are never written; the relay's progress is a window
# between two snapshots and a cursor. Every case of the visibility proof: commits out of id order, a writer that
# took its transaction id long before inserting, rollbacks, subtransactions (released and rolled back), a
# prepared transaction, and a cached sequence (refused). Then: no row was updated, deleted or locked; a relay in
# "mark" mode refuses the table; two relays share it (one delivers, the other takes over when it is killed);
# retention; and a version 6 table that a "mark" relay half delivered switches over without sending a row twice.
t_db
t_conf "$T_DIR/k.conf" 'on_sent = "keep"; poll_interval_ms = 200;'
t_install "$T_DIR/k.conf"
t_expect_eq "$(t_sql "SELECT version FROM outboxd_schema WHERE table_name = 'outbox'")" 10 "schema version"
enqueue() { t_sql "SELECT outbox_enqueue('$T_TOPIC', '$1', convert_to('$1-' || i, 'UTF8')) FROM generate_series(1, $2) i" >/dev/null; }
# Delivered, by the progress row: marked sent before the switch, visible in done, or in the window up to the cursor.
delivered() { t_wait_sql "$(t_pending_sql keep)" 0 30 ||
	{ t_sql "TABLE outbox_progress"; tail -n 5 "$T_DIR/relay.log"; t_fail "$1: not delivered"; }; }

enqueue first 500
t_start_relay "$T_DIR/k.conf" "$T_DIR/relay.log"
t_expect_grep "$T_DIR/relay.log" 'msg=relaying.*on_sent=keep'
delivered "a backlog"
t_check --kept

# Out of id order: A takes an id and stays open while 1,000 later rows are delivered, windows come and go; then it
# commits. A second writer took its transaction id first and inserts only after those rows (its rows' ids are
# above theirs, its xid below).
coproc B { psql -qtAX "$T_CONNINFO"; }
b_pid=$B_PID b_in=${B[1]} b_out=${B[0]}
echo "BEGIN; SELECT pg_current_xact_id();" >&"$b_in"
read -r b_xid <&"$b_out"
psql -qX "$T_CONNINFO" -c "BEGIN" -c "SELECT outbox_enqueue('$T_TOPIC', 'late', 'a1'::bytea)" \
	-c "SELECT pg_sleep(10)" -c "COMMIT" >/dev/null &
a=$!
t_wait_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(10)%'" 1 10 || t_fail "A did not start"
for i in 1 2 3 4 5; do enqueue "later$i" 200; sleep 0.2; done
t_wait_sql "SELECT cur >= (SELECT max(id) FROM outbox) OR done_hi >= (SELECT max(id) FROM outbox) FROM outbox_progress" t 20 ||
	t_fail "the later rows were not delivered while A was open"
t_expect_eq "$(t_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(10)%'")" 1 "A is still open"
wait "$a"
echo "SELECT outbox_enqueue('$T_TOPIC', 'early-xid', 'b1'::bytea); COMMIT;" >&"$b_in"
read -r _ <&"$b_out"
echo "\\q" >&"$b_in"
wait "$b_pid" 2>/dev/null || true
t_expect_eq "$(t_sql "SELECT xid = '$b_xid' FROM outbox WHERE key = 'early-xid'")" t "B's row carries the xid it took first"
delivered "out-of-order commits"
t_check --kept

# A transaction running but not listed in a snapshot: T0 and then T1 take transaction ids, T1 writes a row, T0
# writes a higher one and commits. The window opened for T0's row has xmax = T0 + 1 (a snapshot's xmax is the
# last finished id + 1), so T1 is neither visible nor listed in it, and its row lies below the window's highest
# id. T1 commits: the next window (done being that one) must take its row, and only done_xid (an id the relay
# took after the snapshot) says that it is still to come.
# The relay's own transactions take ids too (each wake locks the progress row): one that takes its id after T1
# and ends before T0's window opens lifts that window's xmax above T1, which is then listed, the ordinary case.
# The construction is tried again then, up to 5 times.
unlisted_try() { # n: 0 when the window of T0's row left T1 running, unlisted, below its highest id
	local n=$1 t0_pid t0_in t0_out t1_pid t1_in t1_out t1_xid t0_id built
	coproc T0 { psql -qtAX "$T_CONNINFO"; }
	t0_pid=$T0_PID t0_in=${T0[1]} t0_out=${T0[0]}
	# T1 through a pair of FIFOs (bash keeps one coprocess at a time).
	mkfifo "$T_DIR/t1-$n.in" "$T_DIR/t1-$n.out"
	psql -qtAX "$T_CONNINFO" <"$T_DIR/t1-$n.in" >"$T_DIR/t1-$n.out" &
	t1_pid=$!
	exec {t1_in}>"$T_DIR/t1-$n.in" {t1_out}<"$T_DIR/t1-$n.out"
	echo "BEGIN; SELECT pg_current_xact_id();" >&"$t0_in"
	read -r _ <&"$t0_out"
	echo "BEGIN; SELECT pg_current_xact_id();" >&"$t1_in"
	read -r t1_xid <&"$t1_out"
	echo "SELECT outbox_enqueue('$T_TOPIC', 'unlisted-1', 't1-$n'::bytea);" >&"$t1_in"
	read -r _ <&"$t1_out"
	echo "SELECT outbox_enqueue('$T_TOPIC', 'unlisted-0', 't0-$n'::bytea); COMMIT;" >&"$t0_in"
	read -r _ <&"$t0_out"
	t0_id=$(t_sql "SELECT id FROM outbox WHERE payload = 't0-$n'::bytea")
	t_wait_sql "SELECT cur >= $t0_id FROM outbox_progress" t 20 || t_fail "T0's row was not delivered"
	built=$(t_sql "SELECT '$t1_xid'::xid8 >= pg_snapshot_xmax(target) AND hi >= $t0_id FROM outbox_progress")
	echo "COMMIT;" >&"$t1_in"
	exec {t1_in}>&- {t1_out}<&-
	echo "\\q" >&"$t0_in"
	wait "$t0_pid" "$t1_pid" 2>/dev/null || true
	[ "$built" = t ]
}
built=
for n in 1 2 3 4 5; do
	unlisted_try "$n" && { built=$n; break; }
done
[ -n "$built" ] || t_fail "T1 was never left running, unlisted, below the window's highest id (5 tries)"
echo "the unlisted transaction was built on try $built"
delivered "a transaction unlisted in the window's snapshot"
t_check --kept

# Rollbacks and subtransactions: x and z are delivered, y (rolled back to its savepoint) and r (rolled back) never.
psql -qX -v ON_ERROR_STOP=1 "$T_CONNINFO" >/dev/null <<SQL
BEGIN; SELECT outbox_enqueue('$T_TOPIC', 'r', 'r1'::bytea); ROLLBACK;
BEGIN;
SAVEPOINT a; SELECT outbox_enqueue('$T_TOPIC', 'sub', 'x'::bytea); RELEASE a;
SAVEPOINT b; SELECT outbox_enqueue('$T_TOPIC', 'sub', 'y'::bytea); ROLLBACK TO b;
SELECT outbox_enqueue('$T_TOPIC', 'sub', 'z'::bytea);
COMMIT;
SQL
t_expect_eq "$(t_sql "SELECT string_agg(convert_from(payload, 'UTF8'), ',' ORDER BY id) FROM outbox WHERE key IN ('sub', 'r')")" "x,z" "rows kept"
delivered "subtransactions"

# A prepared transaction stays in every snapshot's list of running transactions until COMMIT PREPARED. The
# outbox's NOTIFY trigger forbids PREPARE (PostgreSQL's rule for NOTIFY); an application using two-phase commit
# disables it and the relay finds rows by relay.poll_interval_ms. Both are shown here.
t_sql "BEGIN; SELECT outbox_enqueue('$T_TOPIC', 'prepared', 'p0'::bytea); PREPARE TRANSACTION 'keep-p0'" \
	>"$T_DIR/prepare.out" 2>&1 && t_fail "PREPARE with the NOTIFY trigger on"
t_expect_grep "$T_DIR/prepare.out" "cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY"
t_sql "ALTER TABLE outbox DISABLE TRIGGER outbox_notify"
t_sql "BEGIN; SELECT outbox_enqueue('$T_TOPIC', 'prepared', 'p1'::bytea); PREPARE TRANSACTION 'keep-p1'" >/dev/null
enqueue after-prepare 100
t_wait_sql "SELECT cur >= (SELECT max(id) FROM outbox) FROM outbox_progress" t 20 ||
	t_fail "the rows after a prepared transaction were not delivered"
t_sql "COMMIT PREPARED 'keep-p1'"
delivered "a prepared transaction"
t_sql "ALTER TABLE outbox ENABLE TRIGGER outbox_notify"

# Rows that can never be delivered (an invalid topic) are the only rows written: marked failed, and the window
# moves past them (retry and replay: below).
BAD=bad-topic-$RANDOM
t_sql "SELECT outbox_enqueue('$BAD!', 'k' || i, convert_to('bad' || i, 'UTF8')) FROM generate_series(1, 3) i" >/dev/null
enqueue after-bad 50
delivered "rows after failed ones"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND last_error LIKE '%invalid topic%'")" 3 "failed rows"
"$OUTBOXD" failed list -c "$T_DIR/k.conf" >"$T_DIR/list.out" 2>"$T_DIR/list.err"
t_expect_grep "$T_DIR/list.err" '^3 failed rows'
"$OUTBOXD" status -c "$T_DIR/k.conf" >"$T_DIR/status.out" 2>&1
t_expect_grep "$T_DIR/status.out" 'pending: *0$'
t_expect_eq "$(t_sql "SELECT sum(pending), sum(failed) FROM outbox_lag")" "0|3" "outbox_lag: pending, failed"
t_check --kept --expect-failed 3
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"

# Nothing was written to a delivered row: no update, delete or lock of the outbox by anyone, after the relay's
# session ended (its statistics are flushed then).
sleep 1
t_expect_eq "$(t_sql "SELECT n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'outbox'")" 3 "rows written after insert (the failed ones)"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE xmax::text <> '0' AND failed_at IS NULL")" 0 "rows locked or deleted"

# A relay in "mark" mode would send every row again: it refuses, saying why, with the configuration's exit code.
t_conf "$T_DIR/m.conf" "poll_interval_ms = 200;"
rc=0
"$OUTBOXD" run -c "$T_DIR/m.conf" >"$T_DIR/mark.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "a mark relay on a kept table"
t_expect_grep "$T_DIR/mark.log" 'is delivered with relay.on_sent = \\"keep\\"'

# A cached sequence hands ids out of order between sessions: refused.
t_sql "ALTER SEQUENCE outbox_id_seq CACHE 20"
rc=0
"$OUTBOXD" run -c "$T_DIR/k.conf" >"$T_DIR/cache.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "keep with a cached sequence"
t_expect_grep "$T_DIR/cache.log" 'has CACHE 20'
t_sql "ALTER SEQUENCE outbox_id_seq CACHE 1"

# Two relays: one holds the progress row and delivers, the other stands by; SIGKILL the first mid-stream and the
# second carries on, re-sending at most the first one's transaction. The writers are the integration suite's (10%
# rolled back).
t_conf "$T_DIR/k2.conf" 'on_sent = "keep"; poll_interval_ms = 200; batch_size = 100;'
t_start_relay "$T_DIR/k2.conf" "$T_DIR/relay1.log"
r1=$T_RELAY_PID
t_start_relay "$T_DIR/k2.conf" "$T_DIR/relay2.log"
r2=$T_RELAY_PID
T_BG_PIDS="$r1 $r2"
t_writers 4 400 &
w=$!
sleep 2
kill -KILL "$r1"
wait "$w" || t_fail "writers"
T_RELAY_PID=$r2
# The writers may have finished before the kill: rows written after it can only come through the second relay.
enqueue after-kill 300
delivered "after the first relay was killed"
t_check --kept --max-dup 400 --expect-failed 3 # one transaction: 4 batches of 100
t_wait_log "$T_DIR/relay2.log" 'published_total=[1-9]' 5 || t_fail "the second relay never delivered"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"

# A leader frozen mid-transaction (SIGSTOP: its connection stays open and silent, as in a network cut) holds the
# progress row until someone ends its session: the standby fences it once its heartbeat is lease_ttl_ms old and
# delivers, within lease + heartbeat + slack. Woken, the old leader finds its session gone and starts over.
t_conf "$T_DIR/f1.conf" 'on_sent = "keep"; poll_interval_ms = 200; batch_size = 50; instance = "f1";'
t_conf "$T_DIR/f2.conf" 'on_sent = "keep"; poll_interval_ms = 200; batch_size = 50; instance = "f2";'
t_start_relay "$T_DIR/f1.conf" "$T_DIR/f1.log"
declare -A FPID=([f1]=$T_RELAY_PID)
t_start_relay "$T_DIR/f2.conf" "$T_DIR/f2.log"
FPID[f2]=$T_RELAY_PID
T_BG_PIDS="${FPID[f1]} ${FPID[f2]}"
holder() { # the instance whose claiming session holds the progress row now
	t_sql "SELECT r.instance FROM pg_locks l JOIN outbox_relays r ON r.pid = l.pid
	       WHERE l.relation = 'outbox_progress'::regclass AND l.mode = 'RowShareLock' AND l.granted"
}
frozen=
for attempt in $(seq 1 40); do
	enqueue "fence$attempt" 3000
	h=$(holder)
	[ -n "$h" ] || continue
	kill -STOP "${FPID[$h]}"
	t0=$(date +%s%N)
	[ "$(holder)" = "$h" ] && { frozen=$h; break; }
	kill -CONT "${FPID[$h]}" # it was between transactions: try again
done
[ -n "$frozen" ] || t_fail "no relay was caught holding the progress row in 40 tries"
other=f1
[ "$frozen" = f1 ] && other=f2
enqueue after-freeze 200
delivered "after the leader froze"
took=$((($(date +%s%N) - t0) / 1000000))
echo "keep: $other delivered everything ${took} ms after $frozen froze holding the progress row (lease 3000 + heartbeat 1000)"
[ "$took" -le 10000 ] || t_fail "takeover took $took ms"
t_expect_grep "$T_DIR/$other.log" "msg=\"ended the session of a relay whose heartbeat expired\" relays=$frozen"
connects=$(grep -c 'msg="connected to PostgreSQL"' "$T_DIR/$frozen.log")
kill -CONT "${FPID[$frozen]}"
enqueue after-wake 200
delivered "after the old leader woke"
# Woken, it finds its session ended (or its lease expired before it published) and starts a new one.
reconnected() { [ "$(grep -c 'msg="connected to PostgreSQL"' "$T_DIR/$frozen.log")" -gt "$connects" ]; }
t_wait_until 15 reconnected ||
	{ tail -n 20 "$T_DIR/$frozen.log"; t_fail "the old leader did not reconnect after waking"; }
t_check --kept --max-dup 3000 --expect-failed 3
for f in f1 f2; do
	T_RELAY_PID=${FPID[$f]}
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay $f exit status"
done

# retry with "keep" (version 8): the progress is past the failed rows for good, so each moves to a new id, with
# its event id, attempts and last error, through <table>_retry_kept (the relay's role, which runs the command, has
# no INSERT or DELETE). Wrong input changes nothing; on a version 7 table retry and replay say what to run.
op() { # command expected-rc output-pattern args...: retry or replay on the kept table
	local cmd=$1 want=$2 pat=$3 rc=0
	shift 3
	"$OUTBOXD" "$cmd" "$@" -c "$T_DIR/k.conf" >"$T_DIR/$cmd.out" 2>&1 || rc=$?
	t_expect_eq "$rc" "$want" "$cmd $* on a kept table"
	t_expect_grep "$T_DIR/$cmd.out" "$pat"
}
retry() { op retry "$@"; }
failed_sql="SELECT string_agg(id || ':' || event_id || ':' || attempts, ' ' ORDER BY id) FROM outbox WHERE failed_at IS NOT NULL"
failed=$(t_sql "$failed_sql")
first=${failed%% *}
first_id=${first%%:*} first_rest=${first#*:}
t_sql "UPDATE outboxd_schema SET version = 7 WHERE table_name = 'outbox'"
retry 78 'retry needs version 8 there (run: outboxd schema install, then outboxd schema grant, and restart the relays)' --all
op replay 78 'replay needs version 8 there' --from-id 1
t_sql "UPDATE outboxd_schema SET version = 8 WHERE table_name = 'outbox'"
op replay 78 'replay --since needs version 9 there' --since 2020-01-01
t_sql "UPDATE outboxd_schema SET version = 9 WHERE table_name = 'outbox'"
retry 65 '1 of the 2 ids given are failed rows; nothing changed' "$first_id" "$(t_sql "SELECT max(id) FROM outbox WHERE failed_at IS NULL")"
t_expect_eq "$(t_sql "$failed_sql")" "$failed" "failed rows after the refusals"
# Fix their topic (as the owner would), retry one by id, then the rest.
t_sql "UPDATE outbox SET topic = '$T_TOPIC' WHERE failed_at IS NOT NULL" >/dev/null
top=$(t_sql "SELECT max(id) FROM outbox")
retry 0 '^retried 1 failed rows of public.outbox: they are pending again, under new ids (the same event ids)' "$first_id"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE id = $first_id")" 0 "the retried row's old id"
t_expect_eq "$(t_sql "SELECT event_id || ':' || attempts, id > $top, failed_at IS NULL, last_error LIKE '%invalid topic%'
	FROM outbox WHERE event_id = '${first_rest%%:*}'")" "$first_rest|t|t|t" "the retried row: same event id and attempts, new id, pending"
retry 0 '^retried 2 failed rows' --all
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")" 0 "failed rows after retry --all"
t_start_relay "$T_DIR/k.conf" "$T_DIR/relay-retry.log"
delivered "retried rows"
t_check --kept --max-dup 3000
# Three rows fail again, for the retention below.
t_sql "SELECT outbox_enqueue('$BAD!', 'k' || i, convert_to('bad' || i, 'UTF8')) FROM generate_series(1, 3) i" >/dev/null
t_wait_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL" 3 20 || t_fail "the new bad rows did not fail"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"

# replay with "keep" (version 8): delivered rows are not written, so the command records a range in the progress
# row and the relay holding it publishes those rows again, in id order, before its window, then clears the range.
# A second replay is refused while one is going.
replay() { op replay "$@"; }
dups() { t_check --kept --max-dup 100000 --expect-failed 3 | sed -n 's/.* DUP=\([0-9]*\) .*/\1/p'; }
from=$(t_sql "SELECT max(id) - 400 FROM outbox")
want=$(t_sql "$(t_delivered_sql keep) AND o.id >= $from AND o.topic = '$T_TOPIC'")
[ "$want" -gt 300 ] || t_fail "only $want delivered rows to replay"
before=$(dups)
replay 0 "^replayed $want rows" --from-id "$from" --topic "$T_TOPIC"
t_expect_eq "$(t_sql "SELECT replay_to IS NOT NULL FROM outbox_progress")" t "the replay recorded"
"$OUTBOXD" status -c "$T_DIR/k.conf" >"$T_DIR/status-replay.out" 2>&1
t_expect_grep "$T_DIR/status-replay.out" "^replaying: *ids up to [0-9]*, published again up to $((from - 1))\$"
replay 65 'a replay is still going' --from-id 1
t_start_relay "$T_DIR/k.conf" "$T_DIR/relay-replay.log"
t_wait_sql "SELECT replay_to IS NULL FROM outbox_progress" t 30 || t_fail "the replay did not end"
"$OUTBOXD" status -c "$T_DIR/k.conf" >"$T_DIR/status-replay.out" 2>&1
grep -q '^replaying' "$T_DIR/status-replay.out" && t_fail "status still shows the replay"
enqueue after-replay 50
delivered "rows after the replay"
after=$(dups)
echo "keep replay: $want rows asked for, $((after - before)) messages published again"
t_expect_eq "$((after - before))" "$want" "messages published again"

# replay --since with "keep" (version 9): a row records no time it was sent, so the relay copies its progress to
# outbox_progress_at at most every 10 s, just before COMMIT, and the command publishes again what the last copy at
# or before the time did not count as delivered. Here: a copy made by the commit that delivered the 10 'since-b'
# rows, the time taken after it, 40 rows delivered after that: exactly those 40 go again.
enqueue since-a 10
delivered "rows before the copy"
sleep 10.5
enqueue since-b 10
delivered "the rows of the copy's transaction"
copies=$(t_sql "SELECT count(*) FROM outbox_progress_at")
[ "$copies" -ge 1 ] || t_fail "no copy of the progress"
since=$(t_sql "SELECT clock_timestamp()")
enqueue since-c 40
delivered "rows after the time"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_progress_at")" "$copies" "copies made within 10 s"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
replay 65 'cannot replay' --since 'not a time'
before=$(dups)
replay 0 "^replayed 40 rows" --since "$since"
t_start_relay "$T_DIR/k.conf" "$T_DIR/relay-since.log"
t_wait_sql "SELECT replay_to IS NULL FROM outbox_progress" t 30 || t_fail "the replay --since did not end"
after=$(dups)
t_expect_eq "$((after - before))" 40 "messages published again since the time"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"

# Retention with "keep": delivered rows older than retention_s are deleted (through <table>_purge_kept, by the
# relay role, which has no DELETE of its own); failed rows stay, and so do the rows of the window not yet done.
t_conf "$T_DIR/r.conf" 'on_sent = "keep"; retention_s = 1; poll_interval_ms = 200;'
before=$(t_sql "SELECT count(*) FROM outbox")
sleep 1
t_start_relay "$T_DIR/r.conf" "$T_DIR/relay-retention.log"
enqueue after-retention 10
t_wait_sql "SELECT count(*) FROM outbox WHERE id <= (SELECT done_hi FROM outbox_progress) AND failed_at IS NULL" 0 30 ||
	t_fail "delivered rows not purged: $(t_sql "SELECT count(*) FROM outbox WHERE id <= (SELECT done_hi FROM outbox_progress)") left"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")" 3 "failed rows after retention"
delivered "rows after retention"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
[ "$(t_sql "SELECT count(*) FROM outbox")" -lt "$before" ] || t_fail "nothing purged"
# The copies of the progress for replay --since older than retention_s went with the newest one.
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_progress_at")" 1 "copies of the progress left (retention_s = 1)"

# Upgrade: a version 6 table, half delivered by a "mark" relay, then version 7 and "keep". The rows already sent
# are not sent again (DUP 0); the pending ones (no xid, written before version 7) and new ones are.
t_db "${T_NAME}_v6"
T_TOPIC=$T_TOPIC-v6
t_conf "$T_DIR/u.conf" "poll_interval_ms = 200;"
for f in sql/00[1-6]_*.sql; do psql -qX -v ON_ERROR_STOP=1 "$T_CONNINFO" -f "$f" >/dev/null 2>&1; done
# (sql/grant_relay.sql names version 7's objects; a version 6 table gets broader grants here.)
psql -qX -v ON_ERROR_STOP=1 "$T_CONNINFO" -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO relay" \
	-c "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO relay" >/dev/null
enqueue before 300
t_start_relay "$T_DIR/u.conf" "$T_DIR/relay-mark.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 20 || t_fail "the mark relay did not deliver"
t_stop_relay
enqueue pending 200
"$OUTBOXD" schema install -c "$T_DIR/u.conf" >/dev/null
"$OUTBOXD" schema grant relay -c "$T_DIR/u.conf" >/dev/null
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE xid IS NULL AND sent_at IS NULL")" 200 "pending rows without xid"
t_conf "$T_DIR/u.conf" 'on_sent = "keep"; poll_interval_ms = 200;'
t_start_relay "$T_DIR/u.conf" "$T_DIR/relay-keep.log"
enqueue new 100
delivered "after the upgrade"
t_check --kept
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
