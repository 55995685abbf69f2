#!/usr/bin/env bash
# make bench: figures, never assertions. Starts the harness's PostgreSQL and Kafka and measures, side by side:
#   1. backlog drain: BENCH_EVENTS (default 1,000,000) committed 1 KB events over 1,000 keys, time for outboxd to
#      publish and mark them all; and the same with relay.on_sent = "delete";
#   2. the SQL ceiling: outboxd's claim and mark (or delete) statements looped inside PostgreSQL
#      (bench/ceiling.sql) over a table of the same shape and size, no Kafka; the Kafka ceiling: a producer
#      alone with the relay's settings (bench/kafka_ceiling.c), N events of 1 KB; and for each mode the combined
#      limit 1 / (1/K + 1/S): on shared cores the two costs add up, so no relay can drain faster than that;
#      and for relay.on_sent = "keep" its drain, its SQL ceiling (claim and one progress update per batch), the
#      combined limit and the dead tuples left behind;
#   4. growth: the drain at BENCH_SMALL_EVENTS (default 100,000) against workload 1's, and workload 1 again while
#      another session holds a transaction open (capped at BENCH_LONGTX_CAP_S s, default 240); the small drain
#      is also run with relay.batches_per_commit = 1, one batch per transaction;
#   5. outboxd's peak RSS (VmHWM) over all of them;
#   7. scale-out: BENCH_SCALE_EVENTS (default 100,000) drained by 1, 2 and 3 relays, with relay.ordering "key"
#      (buckets) and "none" (SKIP LOCKED), so the cost and benefit of per-key order are visible;
#   3. latency: a steady insert rate of 1,000 and 10,000 events/s for BENCH_LATENCY_S s (default 30), from each
#      writer's COMMIT returning to a consumer receiving the event (bench/latency.c): p50, p99, max;
#   8. retention: a steady stream (BENCH_STEADY_RATE events/s, default 1000, for BENCH_STEADY_S s, default 90)
#      relayed with retention_s = 10; the table's total size sampled every 10 s must level off;
#   6. the peer, Debezium on Kafka Connect (bench/debezium.sh): workloads 1, 3 and 5 for it.
# BENCH_DEBEZIUM=0 leaves the peer out; BENCH_PERF=1 profiles the on_sent = delete and keep drains.
# make bench-long sets BENCH_EVENTS=10000000.
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}" "${LATENCY:?}" "${KAFKA_CEILING:?}"
N=${BENCH_EVENTS:-1000000}
SMALL=${BENCH_SMALL_EVENTS:-100000}
export H_BUILD=${H_BUILD:-$PWD/build}
# autovacuum_naptime 10 s: what README recommends for a database holding a busy outbox (workload 8 shows why).
# wal_level=logical for the peer; outboxd is measured under the same setting.
export H_PG_FSYNC=on
export H_PG_EXTRA_OPTS="-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min -c autovacuum_naptime=10s -c wal_level=logical"
# The broker as kafka-server-start.sh runs it (tests use a quick-starting, slower JVM).
export H_KAFKA_JVM_OPTS="-Xms1G -Xmx1G -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35"
# Nothing reads a bench topic back from its start, and the peer's count uses end offsets: a topic keeps its newest
# 512 MB per partition, as a broker with size-based retention would, so that make bench-long's ten-odd million
# event drains (over 10 GB each, uncompressed) do not fill the disk.
export H_KAFKA_EXTRA_PROPS="log.retention.bytes=536870912
log.segment.bytes=134217728
log.retention.check.interval.ms=30000"
. tests/harness/lib.sh
. bench/debezium.sh
harness_start_all
trap 'dbz_stop; harness_stop_all' EXIT
sql() { psql -qtAX -v ON_ERROR_STOP=1 "$H_PG_APP_CONNINFO" -c "$1"; }
now_ms() { date +%s%3N; }
eps() { echo $(($1 * 1000 / ($2 > 0 ? $2 : 1))); } # events ms
row() { printf '%-40s %12s %10s\n' "$@"; }
rows=

conf=$H_TMP/bench.conf
cat >"$conf" <<CONF
postgres: { conninfo = "$H_PG_APP_CONNINFO sslmode=disable"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
log: { stats_interval_ms = 5000; };
CONF
with_relay() { sed "s/^log:/relay: { $1 };\nlog:/" "$conf"; } # settings
"$OUTBOXD" schema install -c "$conf" >/dev/null
cat >"$H_TMP/ceiling.conf" <<CONF
postgres: { conninfo = "$H_PG_APP_CONNINFO"; table = "ceiling"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
"$OUTBOXD" schema install -c "$H_TMP/ceiling.conf" >/dev/null
psql -qX -v ON_ERROR_STOP=1 "$H_PG_APP_CONNINFO" -f bench/ceiling.sql

fill() { # table events [topic]
	echo "bench: filling $1 with $2 events of 1 KB"
	sql "TRUNCATE $1"
	sql "INSERT INTO $1 (topic, key, payload, headers)
	     SELECT '${3:-bench}', 'key-' || (g % 1000), decode(repeat(lpad(to_hex(g % 256), 2, '0'), 1024), 'hex'),
	            '{\"type\": \"bench\"}' FROM generate_series(1, $2) g"
	sql "VACUUM ANALYZE $1"
}
# The drain loops ask several times a second whether rows are pending. A new psql and server backend each time
# took about a tenth of this machine's two cores from the relay being measured; one session answers them all.
PENDING_SQL="SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)"
coproc POLL { psql -qtAX "$H_PG_APP_CONNINFO"; }
pending() {
	local v
	{ echo "$PENDING_SQL;" >&"${POLL[1]}" && read -r v <&"${POLL[0]}"; } 2>/dev/null || v=$(sql "$PENDING_SQL")
	echo "$v"
}

peak=0
track_rss() { # pid
	local hwm
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
	[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
	return 0
}

# One relay drains the table; DRAIN_MS and DRAIN_DONE (rows published) are set. The loop ends when nothing is
# pending, when the relay dies, or after cap seconds.
drain() { # config log cap_s
	local relay t0 deadline
	"$OUTBOXD" run -c "$1" 2>"$2" &
	relay=$!
	t0=$(now_ms)
	deadline=$((t0 + $3 * 1000))
	while [ "$(pending)" = t ] && [ "$(now_ms)" -lt "$deadline" ]; do
		track_rss "$relay"
		kill -0 "$relay" 2>/dev/null || { tail "$2"; echo "bench: relay died" >&2; exit 1; }
		sleep 0.25
	done
	DRAIN_MS=$(($(now_ms) - t0))
	track_rss "$relay"
	kill -TERM "$relay"
	wait "$relay"
	DRAIN_DONE=$(sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
}
ceiling() { # mode
	fill ceiling "$N"
	local t0
	t0=$(now_ms)
	sql "CALL outboxd_bench_ceiling(1000, '$1')"
	CEILING_MS=$(($(now_ms) - t0))
	# Emptied once measured: at 10M events (make bench-long) the table and its dead tuples hold over 20 GB.
	sql "TRUNCATE ceiling"
}

# A fresh broker JVM is slow until its JIT has compiled the hot paths: an untimed drain warms it (and PostgreSQL's
# caches of the catalog) so the first figure is not a start-up figure.
bench_t0=$(now_ms)
fill outbox "$SMALL"
drain "$conf" "$H_TMP/relay-warmup.log" 3600

# 2. Kafka alone, on the warmed broker.
kc=$("$KAFKA_CEILING" "$H_KAFKA_BROKERS" bench-kafka-ceiling "$N") || { echo "bench: $kc" >&2; exit 1; }
kafka_ceiling_eps=$(echo "$kc" | sed -n 's/.* eps=\([0-9]*\).*/\1/p')
combined() { awk -v k="$kafka_ceiling_eps" -v s="$1" 'BEGIN { printf "%d", (k && s) ? 1 / (1 / k + 1 / s) : 0 }'; }
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

# 1, 2: each ceiling right after its fill, before outboxd's drain leaves a warmer cache than it had.
ceiling mark
ceiling_ms=$CEILING_MS
ceiling_eps=$(eps "$N" "$ceiling_ms")
combined_limit_eps=$(combined "$ceiling_eps")
fill outbox "$N"
drain "$conf" "$H_TMP/relay.log" 3600
drain_ms=$DRAIN_MS
drain_eps=$(eps "$N" "$drain_ms")
ratio=$(awk -v a="$drain_eps" -v b="$ceiling_eps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
rows="$rows$(row "1. outboxd backlog drain ($N)" "$drain_eps" "$drain_ms")\n"
rows="$rows$(row "2. SQL ceiling (claim + mark)" "$ceiling_eps" "$ceiling_ms")\n"
rows="$rows$(row "   outboxd / ceiling" "$ratio" "")\n"
rows="$rows$(row "2. Kafka ceiling (producer alone)" "$kafka_ceiling_eps" "$(echo "$kc" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')")\n"
rows="$rows$(row "   combined limit (mark)" "$combined_limit_eps" "")\n"
combined_ratio=$(ratio_of "$drain_eps" "$combined_limit_eps")
rows="$rows$(row "   outboxd / combined limit" "$combined_ratio" "")\n"

# BENCH_PERF=1: a system-wide profile of 10 s of a drain (perf, a Debian package), by process and by function,
# to say where the time goes below its combined limit: perf_start MODE before the drain, perf_stop MODE after it.
perf_start() {
	perf_pid=
	[ "${BENCH_PERF:-}" = 1 ] && command -v perf >/dev/null || return 0
	(sleep 3; perf record -a -g -F 499 -o "$H_TMP/perf-$1.data" -- sleep 10 >/dev/null 2>&1) &
	perf_pid=$!
}
perf_stop() {
	[ -n "${perf_pid:-}" ] || return 0
	wait "$perf_pid"
	perf report -i "$H_TMP/perf-$1.data" --no-children -g none --sort comm --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -8 >"$H_TMP/perf-$1-comm.txt"
	perf report -i "$H_TMP/perf-$1.data" --no-children -g none --sort comm,dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -25 >"$H_TMP/perf-$1-sym.txt"
}

ceiling delete
with_relay 'on_sent = "delete";' >"$H_TMP/delete.conf"
fill outbox "$N"
perf_start delete
drain "$H_TMP/delete.conf" "$H_TMP/relay-delete.log" 3600
perf_stop delete
d=$(eps "$N" "$CEILING_MS")
rows="$rows$(row "1. drain, on_sent = delete" "$(eps "$N" "$DRAIN_MS")" "$DRAIN_MS")\n"
rows="$rows$(row "2. SQL ceiling (claim + delete)" "$d" "$CEILING_MS")\n"
rows="$rows$(row "   outboxd / ceiling" "$(ratio_of "$(eps "$N" "$DRAIN_MS")" "$d")" "")\n"
rows="$rows$(row "   combined limit (delete)" "$(combined "$d")" "")\n"
rows="$rows$(row "   outboxd / combined limit" "$(ratio_of "$(eps "$N" "$DRAIN_MS")" "$(combined "$d")")" "")\n"

# 1, 2: relay.on_sent = "keep" (schema version 7), on a table of its own: a table a "keep" relay has delivered
# refuses the other modes. Its SQL ceiling is its claim and one progress update per batch (bench/ceiling.sql),
# with no write of a delivered row; then its drain, and the dead tuples each leaves in its table.
fill ceiling "$N"
sql "CALL outboxd_bench_progress_reset()"
t0=$(now_ms)
sql "CALL outboxd_bench_progress(1000)"
keep_ceiling_ms=$(($(now_ms) - t0))
keep_ceiling_eps=$(eps "$N" "$keep_ceiling_ms")
keep_dead_ceiling=$(sql "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'ceiling'")
sql "TRUNCATE ceiling"
sed 's/^postgres: {/postgres: { table = "kept";/' "$conf" | sed "s/^log:/relay: { on_sent = \"keep\"; };\nlog:/" >"$H_TMP/keep.conf"
"$OUTBOXD" schema install -c "$H_TMP/keep.conf" >/dev/null
fill kept "$N"
# Delivered once the window's cursor reaches the last row (one filling transaction, so no row comes later).
PENDING_SQL="SELECT coalesce((SELECT cur < (SELECT max(id) FROM kept) FROM kept_progress), true)"
perf_start keep
drain "$H_TMP/keep.conf" "$H_TMP/relay-keep.log" 3600
perf_stop keep
keep_drain_eps=$(eps "$N" "$DRAIN_MS")
keep_combined_eps=$(combined "$keep_ceiling_eps")
keep_combined_ratio=$(ratio_of "$keep_drain_eps" "$keep_combined_eps")
rows="$rows$(row "1. drain, on_sent = keep" "$keep_drain_eps" "$DRAIN_MS")\n"
rows="$rows$(row "2. SQL ceiling (claim + progress)" "$keep_ceiling_eps" "$keep_ceiling_ms")\n"
rows="$rows$(row "   outboxd / ceiling" "$(ratio_of "$keep_drain_eps" "$keep_ceiling_eps")" "")\n"
rows="$rows$(row "   combined limit (keep)" "$keep_combined_eps" "")\n"
rows="$rows$(row "   outboxd / combined limit" "$keep_combined_ratio" "")\n"
rows="$rows$(row "   dead tuples: ceiling, drained table" "$keep_dead_ceiling $(sql "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'kept'")" "")\n"
# The same drain while a transaction that has written a row of its own stays open (it holds a transaction id, so
# every window lists it as running): the rate, and the dead tuples and size of the table after it.
fill kept "$N"
psql -qX "$H_PG_APP_CONNINFO" -c "BEGIN" -c "INSERT INTO kept (topic, key, payload) VALUES ('bench-held', 'held', 'x')" \
	-c "SELECT pg_sleep(${BENCH_LONGTX_CAP_S:-240} + 60)" >/dev/null 2>&1 &
keep_tx=$!
sleep 1
drain "$H_TMP/keep.conf" "$H_TMP/relay-keep-longtx.log" "${BENCH_LONGTX_CAP_S:-240}"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'" >/dev/null
wait "$keep_tx" 2>/dev/null
rows="$rows$(row "4. drain, keep, writing transaction open" "$(eps "$N" "$DRAIN_MS")" "$DRAIN_MS")\n"
rows="$rows$(row "   dead tuples, table MB after it" "$(sql "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'kept'") $(sql "SELECT pg_total_relation_size('kept') / 1048576")" "")\n"
PENDING_SQL="SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)"
sql "DROP TABLE kept CASCADE" >/dev/null

# 4. growth: a smaller backlog, then the full one while a transaction in the same database stays open, so that
# no row version the relay leaves behind can be removed (the xmin horizon is per database). It reads, as pg_dump or
# a report would; one that has written (and so holds a transaction id) keeps the claim floor down, see README.
fill outbox "$SMALL"
drain "$conf" "$H_TMP/relay-small.log" 3600
rows="$rows$(row "4. drain, $SMALL backlog" "$(eps "$SMALL" "$DRAIN_MS")" "$DRAIN_MS")\n"
# The same without chains of batches: what overlapping PostgreSQL and Kafka is worth.
with_relay 'batches_per_commit = 1;' >"$H_TMP/unchained.conf"
fill outbox "$SMALL"
drain "$H_TMP/unchained.conf" "$H_TMP/relay-unchained.log" 3600
rows="$rows$(row "1. drain, $SMALL, batches_per_commit=1" "$(eps "$SMALL" "$DRAIN_MS")" "$DRAIN_MS")\n"
fill outbox "$N"
cap=${BENCH_LONGTX_CAP_S:-240}
psql -qX "$H_PG_APP_CONNINFO" -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM outbox" \
	-c "SELECT pg_sleep($cap + 60)" >/dev/null 2>&1 &
longtx=$!
sleep 1
drain "$conf" "$H_TMP/relay-longtx.log" "$cap"
kill "$longtx" 2>/dev/null
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'" >/dev/null
wait "$longtx" 2>/dev/null
note=
[ "$DRAIN_DONE" -lt "$N" ] && note=" (capped: $DRAIN_DONE sent)"
rows="$rows$(row "4. drain, $N, transaction open$note" "$(eps "$DRAIN_DONE" "$DRAIN_MS")" "$DRAIN_MS")\n"

# 7. scale-out. The relays start on an empty table and settle their buckets first; the backlog then becomes
# visible at once (one INSERT ... SELECT from a staging table), and the clock runs from its COMMIT.
SN=${BENCH_SCALE_EVENTS:-100000}
sql "CREATE TABLE staging AS SELECT topic, key, payload, headers FROM outbox LIMIT 0"
sql "INSERT INTO staging SELECT 'bench', 'key-' || (g % 1000), decode(repeat(lpad(to_hex(g % 256), 2, '0'), 1024), 'hex'),
     '{\"type\": \"bench\"}' FROM generate_series(1, $SN) g"
scale_drain() { # ordering relays
	local pids= i t0 ms
	sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
	with_relay "ordering = \"$1\";" >"$H_TMP/scale.conf"
	for i in $(seq 1 "$2"); do
		"$OUTBOXD" run -c "$H_TMP/scale.conf" 2>>"$H_TMP/scale-$1-$2.log" &
		pids="$pids $!"
	done
	if [ "$1" = key ]; then
		for i in $(seq 1 100); do
			[ "$(sql "SELECT count(*) FROM (SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2
			       AND granted GROUP BY 1 HAVING count(*) >= 64 / $2) s")" = "$2" ] && break
			sleep 0.1
		done
	else
		sleep 1
	fi
	sql "INSERT INTO outbox (topic, key, payload, headers) SELECT * FROM staging"
	t0=$(now_ms)
	for i in $(seq 1 6000); do [ "$(pending)" = f ] && break; sleep 0.1; done
	ms=$(($(now_ms) - t0))
	for i in $pids; do track_rss "$i"; done
	kill -TERM $pids
	wait $pids
	rows="$rows$(row "7. drain, ordering=$1, $2 relay(s)" "$(eps "$SN" "$ms")" "$ms")\n"
}
echo "bench: scale-out, $SN events per run"
for mode in key none; do
	for r in 1 2 3; do scale_drain "$mode" "$r"; done
done

# 3. latency at a steady rate, one relay (the defaults) or the peer; the writers and the consumer in
# bench/latency.c. Sets P50 and P99 for the 1,000/s run.
LS=${BENCH_LATENCY_S:-30}
latency() { # who pid
	local lrate ltopic line
	for lrate in 1000 10000; do
		echo "bench: $1 latency at $lrate events/s for $LS s"
		# The topic exists before the clock starts: auto-creating it would put a second of metadata wait on
		# the first events.
		ltopic="latency-$1-$lrate-$RANDOM"
		"$H_BUILD/tests/mktopic" "$H_KAFKA_BROKERS" "$ltopic" 1 >/dev/null
		sleep 1
		line=$("$LATENCY" "${LAT_CONNINFO:-$H_PG_APP_CONNINFO} sslmode=disable" "$H_KAFKA_BROKERS" "$ltopic" "$lrate" "$LS" 8 2>&1 | tail -n 1)
		echo "  $line"
		get() { echo "$line" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
		rows="$rows$(row "3. $1 latency at $lrate/s (p50 p99 max ms)" "$(get achieved_eps)" "$(get p50_ms) $(get p99_ms) $(get max_ms)")\n"
		if [ "$lrate" = 1000 ]; then P50=$(get p50_ms); P99=$(get p99_ms); fi
		case $1 in outboxd*) track_rss "$2" ;; esac
	done
}
sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
"$OUTBOXD" run -c "$conf" 2>"$H_TMP/latency-relay.log" &
lat_relay=$!
sleep 2
latency outboxd "$lat_relay"
p50=$P50 p99=$P99
kill -TERM "$lat_relay"
wait "$lat_relay"
# The same with relay.on_sent = "keep", in a database of its own (its table then refuses the other modes).
psql -qX -d postgres -c "CREATE DATABASE keeplat OWNER app" >/dev/null
LAT_CONNINFO=${H_PG_APP_CONNINFO/dbname=app/dbname=keeplat}
sed "s/dbname=app/dbname=keeplat/" "$conf" | sed "s/^log:/relay: { on_sent = \"keep\"; };\nlog:/" >"$H_TMP/keeplat.conf"
"$OUTBOXD" schema install -c "$H_TMP/keeplat.conf" >/dev/null
"$OUTBOXD" run -c "$H_TMP/keeplat.conf" 2>"$H_TMP/latency-keep-relay.log" &
lat_relay=$!
sleep 2
latency outboxd-keep "$lat_relay"
keep_p50=$P50 keep_p99=$P99
kill -TERM "$lat_relay"
wait "$lat_relay"
LAT_CONNINFO=

# 8. retention under a steady stream: after the first retention period the table should stop growing.
SR=${BENCH_STEADY_RATE:-1000}
SS=${BENCH_STEADY_S:-90}
echo "bench: steady stream of $SR events/s for $SS s with retention_s = 10"
sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
with_relay 'retention_s = 10; retention_batch = 5000;' >"$H_TMP/steady.conf"
"$OUTBOXD" run -c "$H_TMP/steady.conf" 2>"$H_TMP/steady.log" &
steady_relay=$!
echo "SELECT outbox_enqueue('bench', 'key-' || (random() * 1000)::int, decode(repeat('ab', 1024), 'hex'));" >"$H_TMP/steady.sql"
PGPASSWORD=$H_APP_PASSWORD "$H_PGBIN/pgbench" -n -h 127.0.0.1 -p "$PGPORT" -U app -c 2 -j 2 -R "$SR" -T "$SS" \
	-f "$H_TMP/steady.sql" app >"$H_TMP/steady-pgbench.log" 2>&1 &
writer=$!
sizes=
for _ in $(seq 1 $((SS / 10))); do
	sleep 10
	sizes="$sizes $(sql "SELECT pg_total_relation_size('outbox') / 1048576")"
done
wait "$writer" || true
track_rss "$steady_relay"
kill -TERM "$steady_relay"
wait "$steady_relay"
steady_rows=$(sql "SELECT count(*) FROM outbox")

# 6. the peer: the backlog written in transactions of 1,000 rows after its slot exists, then Connect started.
# Its drain rate runs from its first delivered event to the last, so the JVM's start-up is left out (and shown).
dbz_drain=na dbz_p50=na dbz_rss=na
if [ "${BENCH_DEBEZIUM:-1}" = 1 ] && dbz_fetch; then
	sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
	"$H_BUILD/tests/mktopic" "$H_KAFKA_BROKERS" dbz-drain 4 >/dev/null
	dbz_prepare
	echo "bench: filling outbox with $N events of 1 KB for Debezium, 1,000 per transaction"
	sql "DO \$\$ BEGIN FOR b IN 0 .. ($N - 1) / 1000 LOOP
	       INSERT INTO outbox (topic, key, payload, headers)
	       SELECT 'dbz-drain', 'key-' || (g % 1000), decode(repeat(lpad(to_hex(g % 256), 2, '0'), 1024), 'hex'),
	              '{\"type\": \"bench\"}' FROM generate_series(b * 1000 + 1, least(b * 1000 + 1000, $N)) g;
	       COMMIT; END LOOP; END \$\$"
	topic_count() {
		local p n=0 o
		for p in 0 1 2 3; do
			o=$(kcat -b "$H_KAFKA_BROKERS" -Q -t "dbz-drain:$p:-1" 2>/dev/null | awk '{print $NF}')
			n=$((n + ${o:-0}))
		done
		echo "$n"
	}
	t0=$(now_ms)
	dbz_start
	first=
	deadline=$((t0 + (1800 + N / 2000) * 1000)) # a cap only: 30 minutes and a bit for 1M, near 2 hours for 10M
	while [ "$(now_ms)" -lt "$deadline" ] && kill -0 "$DBZ_PID" 2>/dev/null; do
		c=$(topic_count)
		[ -z "$first" ] && [ "$c" -gt 0 ] && first=$(now_ms)
		[ "$c" -ge "$N" ] && break
		sleep 0.25
	done
	last=$(now_ms)
	if [ "${c:-0}" -ge "$N" ]; then
		dbz_drain=$(eps "$N" $((last - first)))
		rows="$rows$(row "6. Debezium drain (first to last event)" "$dbz_drain" "$((last - first))")\n"
		rows="$rows$(row "   its start-up to first event" "" "$((first - t0))")\n"
		sql "TRUNCATE outbox"
		latency Debezium "$DBZ_PID"
		dbz_p50=$P50
	else
		tail -n 30 "$H_TMP/debezium/connect.log"
		echo "bench: Debezium delivered ${c:-0} of $N events" >&2
	fi
	dbz_rss=$(dbz_rss_kb)
	rows="$rows$(row "5. Debezium peak RSS (kB)" "$dbz_rss" "")\n"
	dbz_stop
fi

printf '\n%-40s %12s %10s\n' workload events/s ms
printf "$rows"
row "5. outboxd peak RSS (kB), all workloads" "$peak" ""
printf '%-40s %s\n' "8. table MB every 10 s, retention" "$sizes (rows left: $steady_rows)"
if [ "$dbz_drain" != na ]; then
	printf '%-40s %s\n' "   outboxd / Debezium" "drain $(awk -v a="$drain_eps" -v b="$dbz_drain" 'BEGIN { printf "%.2f", a / b }'), p50 $(awk -v a="$p50" -v b="$dbz_p50" 'BEGIN { printf "%.2f", b ? a / b : 0 }'), RSS $(awk -v a="$peak" -v b="$dbz_rss" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
	printf '%-40s %s\n' "   outboxd keep / Debezium" "drain $(awk -v a="$keep_drain_eps" -v b="$dbz_drain" 'BEGIN { printf "%.2f", a / b }')"
fi
for mode in delete keep; do
	[ -s "$H_TMP/perf-$mode-comm.txt" ] || continue
	echo "profile of the on_sent = $mode drain, 10 s, all processes (perf): by process, then by function"
	cat "$H_TMP/perf-$mode-comm.txt" "$H_TMP/perf-$mode-sym.txt"
done
echo "bench: took $((($(now_ms) - bench_t0) / 1000)) s after start-up"
echo "bench drain_eps=$drain_eps ceiling_eps=$ceiling_eps ceiling_ratio=$ratio kafka_ceiling_eps=$kafka_ceiling_eps combined_limit_eps=$combined_limit_eps combined_ratio=$combined_ratio keep_drain_eps=$keep_drain_eps keep_combined_ratio=$keep_combined_ratio keep_p50_ms=$keep_p50 keep_p99_ms=$keep_p99 p50_ms=$p50 p99_ms=$p99 rss_kb=$peak debezium_drain_eps=$dbz_drain debezium_p50_ms=$dbz_p50 debezium_rss_kb=$dbz_rss"
