# Retention by partitions with relay.on_sent = "keep" (schema version 10, `outboxd schema partition`): a table
# with a backlog and a failed row is converted in place; the relay delivers across partitions (retention off
# still creates the partition ahead); with retention on, every partition whose ids are all drawn and delivered
# is truncated and dropped, with no DELETE and no dead tuple, its failed row moved first; a reader holding the
# table makes retention skip (never wait, delivery goes on) until it ends; a snapshot held without touching the
# table does not stop it; a writer that inserted into a partition long ago keeps it until its row is delivered.
t_db
t_conf "$T_DIR/k.conf" 'on_sent = "keep"; poll_interval_ms = 200; retention_s = 0;'
t_conf "$T_DIR/r.conf" 'on_sent = "keep"; poll_interval_ms = 200; retention_s = 1;'
t_conf "$T_DIR/m.conf" 'retention_s = 1;'
t_install "$T_DIR/k.conf"
enqueue() { t_sql "SELECT outbox_enqueue('$T_TOPIC', '$1', convert_to('$1-' || i, 'UTF8')) FROM generate_series(1, $2) i" >/dev/null; }
parts() { t_sql "SELECT string_agg(rel::text || ':' || coalesce(lo::text, '-') || '-' || hi, ' ' ORDER BY hi) FROM outboxd_partitions('outbox')"; }
delivered() { t_wait_sql "$(t_pending_sql keep)" 0 30 ||
	{ t_sql "TABLE outbox_progress"; tail -n 5 "$T_DIR/relay.log"; t_fail "$1: not delivered"; }; }

enqueue before 240
t_sql "SELECT outbox_enqueue('bad topic!', 'k', 'parked'::bytea)" >/dev/null
enqueue before2 9
bad_event=$(t_sql "SELECT event_id FROM outbox WHERE topic = 'bad topic!'")

# Refusals: a "mark" config, a bad --rows.
"$OUTBOXD" schema partition -c "$T_DIR/m.conf" >"$T_DIR/p.out" 2>&1 && t_fail "partition with mark succeeded"
t_expect_grep "$T_DIR/p.out" 'relay.on_sent is not "keep"'
"$OUTBOXD" schema partition --rows 0 -c "$T_DIR/k.conf" >"$T_DIR/p.out" 2>&1 && t_fail "--rows 0 accepted"
t_expect_grep "$T_DIR/p.out" 'needs a positive number'

"$OUTBOXD" schema partition --rows 100 -c "$T_DIR/k.conf" >"$T_DIR/p.out" 2>&1 || { cat "$T_DIR/p.out"; t_fail "schema partition"; }
t_expect_grep "$T_DIR/p.out" 'public.outbox is now partitioned by id'
t_expect_eq "$(parts)" "outbox_p0:--251 outbox_p251:251-351" "partitions after the conversion"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_p0")" 250 "the rows so far are in p0"
t_expect_eq "$(t_sql "SELECT version FROM outboxd_schema WHERE table_name = 'outbox'")" 10 "schema version"
"$OUTBOXD" schema partition -c "$T_DIR/k.conf" >"$T_DIR/p.out" 2>&1 || t_fail "second schema partition"
t_expect_grep "$T_DIR/p.out" 'already partitioned: nothing to do'
"$OUTBOXD" schema install -c "$T_DIR/k.conf" >"$T_DIR/p.out" || t_fail "install after partition"
t_expect_grep "$T_DIR/p.out" 'at version 10: nothing to do'
# The relay role kept exactly its privileges: it still cannot insert or delete.
RELAY_CONNINFO="${T_CONNINFO/user=app /user=relay }"
if psql -qtAX "$RELAY_CONNINFO" -c "DELETE FROM outbox" >/dev/null 2>&1; then t_fail "relay role could DELETE"; fi
if psql -qtAX "$RELAY_CONNINFO" -c "TRUNCATE outbox_p0" >/dev/null 2>&1; then t_fail "relay role could TRUNCATE"; fi

# Delivery across partitions with retention off: the relay keeps one whole partition ahead.
t_start_relay "$T_DIR/k.conf" "$T_DIR/relay.log"
delivered "the backlog"
for i in 1 2 3 4 5 6; do enqueue "w$i" 50; sleep 1; done
delivered "rows across partitions"
t_wait_sql "SELECT count(*) FROM outbox_pdefault" 0 1 || t_fail "rows fell into the default partition"
t_expect_eq "$(t_sql "SELECT max(hi) - (SELECT max(id) FROM outbox) > 100 FROM outboxd_partitions('outbox')")" t \
	"a whole partition ahead: $(parts)"
t_check --kept --expect-failed 1
t_stop_relay

# Retention on: whole partitions go. Rows: 250 in p0, 100 each in p251 and p351, the rest above.
before=$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NULL")
top=$(t_sql "SELECT max(id) FROM outbox")
t_start_relay "$T_DIR/r.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outboxd_partitions('outbox') WHERE hi <= 451" 0 30 ||
	{ tail -n 20 "$T_DIR/relay.log"; t_fail "partitions not dropped: $(parts)"; }
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE id <= 450")" 0 "rows left in the dropped ranges"
t_expect_eq "$(t_sql "SELECT count(*) IN (0, $((before - 450 + 1))) FROM outbox WHERE failed_at IS NULL")" t "rows left above 450"
t_expect_eq "$(t_sql "SELECT count(*) || ' ' || min(event_id::text) FROM outbox WHERE failed_at IS NOT NULL")" "1 $bad_event" \
	"the failed row moved, with its event id"
t_expect_eq "$(t_sql "SELECT id > $top FROM outbox WHERE failed_at IS NOT NULL")" t "under a new id"
"$OUTBOXD" failed list -c "$T_DIR/r.conf" 2>/dev/null | grep -q "$bad_event" || t_fail "failed list lost the moved row"
t_expect_grep "$T_DIR/relay.log" 'msg="purged sent rows"'
sleep 1.5 # statistics reach pg_stat_user_tables within a second of the relay's statements
t_expect_eq "$(t_sql "SELECT coalesce(sum(n_tup_del), 0) || ' ' || coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname ~ '^outbox_p([0-9]+|default)$'")" \
	"0 0" "no DELETE, no dead tuples"

# A reader holding the table: retention skips, delivery goes on; when it ends, the partition goes.
coproc R { psql -qtAX "$T_CONNINFO"; }
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) > 0 FROM outbox;" >&"${R[1]}"
read -r _ <&"${R[0]}"
enqueue r 250
delivered "rows while a reader holds the table"
sleep 12 # at least one retention call (every 10 s) with the reader there
t_expect_eq "$(t_sql "SELECT count(*) > 0 FROM outboxd_partitions('outbox') WHERE hi - 1 <= (SELECT max(id) FROM outbox) AND hi > 451")" t \
	"a drawn and delivered partition stays while the reader holds it: $(parts)"
echo "COMMIT;" >&"${R[1]}"
# A snapshot held open that never touches the outbox does not hold retention back.
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) > 0 FROM pg_class;" >&"${R[1]}"
read -r _ <&"${R[0]}"
t_wait_sql "SELECT count(*) FROM outboxd_partitions('outbox') WHERE hi - 1 <= (SELECT max(id) FROM outbox WHERE failed_at IS NULL)" 0 30 ||
	{ grep -v 'msg=stats' "$T_DIR/relay.log" | tail -n 20; t_sql "TABLE outbox_progress"; t_sql "SELECT outbox_purge_kept('1 second', 1000)"; t_fail "partitions not dropped once the reader ended: $(parts)"; }
echo "COMMIT;" >&"${R[1]}"
echo "\\q" >&"${R[1]}"

# A writer inserts into the newest partition and stays open while later rows fill it and the next one and are
# delivered: its partition stays until the writer commits and its row is delivered; then it goes too.
coproc W { psql -qtAX "$T_CONNINFO"; }
echo "BEGIN; SELECT outbox_enqueue('$T_TOPIC', 'slow', 'late'::bytea) IS NOT NULL;" >&"${W[1]}"
read -r _ <&"${W[0]}"
slow_part=$(t_sql "SELECT rel FROM outboxd_partitions('outbox') WHERE (SELECT last_value FROM outbox_id_seq) BETWEEN lo AND hi - 1")
enqueue after-slow 250
t_wait_sql "SELECT cur >= (SELECT max(id) FROM outbox) OR done_hi >= (SELECT max(id) FROM outbox) FROM outbox_progress" t 20 ||
	t_fail "later rows not delivered while the writer was open"
sleep 12
t_expect_eq "$(t_sql "SELECT count(*) FROM outboxd_partitions('outbox') WHERE rel::text = '$slow_part'")" 1 \
	"the writer's partition $slow_part stays while it is open: $(parts)"
echo "COMMIT;" >&"${W[1]}"
echo "\\q" >&"${W[1]}"
delivered "the slow writer's row"
t_wait_sql "SELECT count(*) FROM outboxd_partitions('outbox') WHERE rel::text = '$slow_part'" 0 30 ||
	t_fail "the writer's partition not dropped after its row was delivered: $(parts)"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox_pdefault")" 0 "nothing in the default partition"
# Every row the table still holds is in Kafka, once (the dropped ones are in Kafka without a row: phantoms).
t_check --kept --expect-failed 1 --max-phantom 100000
