#!/usr/bin/env bash
# make bench: figures, never assertions. Starts the harness's PostgreSQL and Kafka and measures, side by side:
#   1. backlog drain: BENCH_EVENTS (default 1,000,000) committed 1 KB events over 1,000 keys, time for outboxd to
#      publish and mark them all;
#   2. the SQL ceiling: outboxd's claim and mark statements looped inside PostgreSQL (bench/ceiling.sql) over a
#      table of the same shape and size, no Kafka;
#   5. outboxd's peak RSS (VmHWM) during the drain;
#   3. latency: a steady insert rate of 1,000 and 10,000 events/s for BENCH_LATENCY_S s (default 30), from each
#      writer's COMMIT returning to a consumer receiving the event (bench/latency.c): p50, p99, max;
#   8. retention: a steady stream (BENCH_STEADY_RATE events/s, default 1000, for BENCH_STEADY_S s, default 120)
#      relayed with retention_s = 10; the table's total size sampled every 10 s must level off;
#   7. scale-out: BENCH_SCALE_EVENTS (default 200,000) drained by 1, 2 and 3 relays, with relay.ordering "key"
#      (buckets) and "none" (SKIP LOCKED), so the cost and benefit of per-key order are visible.
# Not measured yet (issue 4): growth with a long transaction open, Debezium.
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}"
N=${BENCH_EVENTS:-1000000}
export H_BUILD=${H_BUILD:-$PWD/build}
# autovacuum_naptime 10 s: what README recommends for a database holding a busy outbox (workload 8 shows why).
export H_PG_FSYNC=on H_PG_EXTRA_OPTS="-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min -c autovacuum_naptime=10s"
. tests/harness/lib.sh
harness_start_all
sql() { psql -qtAX -v ON_ERROR_STOP=1 "$H_PG_APP_CONNINFO" -c "$1"; }
now_ms() { date +%s%3N; }

conf=$H_TMP/bench.conf
cat >"$conf" <<CONF
postgres: { conninfo = "$H_PG_APP_CONNINFO sslmode=disable"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
log: { stats_interval_ms = 5000; };
CONF
"$OUTBOXD" schema install -c "$conf" >/dev/null
cat >"$H_TMP/ceiling.conf" <<CONF
postgres: { conninfo = "$H_PG_APP_CONNINFO"; table = "ceiling"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
"$OUTBOXD" schema install -c "$H_TMP/ceiling.conf" >/dev/null
psql -qX -v ON_ERROR_STOP=1 "$H_PG_APP_CONNINFO" -f bench/ceiling.sql

fill() { # table
	sql "INSERT INTO $1 (topic, key, payload, headers)
	     SELECT 'bench', 'key-' || (g % 1000), decode(repeat(lpad(to_hex(g % 256), 2, '0'), 1024), 'hex'),
	            '{\"type\": \"bench\"}' FROM generate_series(1, $N) g"
	sql "VACUUM ANALYZE $1"
}

echo "bench: filling $N events of 1 KB"
fill outbox
fill ceiling

# 2. ceiling first, so outboxd's drain does not leave it a warmer cache than it had
t0=$(now_ms)
sql "CALL outboxd_bench_ceiling(1000)"
ceiling_ms=$(($(now_ms) - t0))
ceiling_eps=$((N * 1000 / (ceiling_ms > 0 ? ceiling_ms : 1)))

# 1. drain
"$OUTBOXD" run -c "$conf" 2>"$H_TMP/relay.log" &
relay=$!
t0=$(now_ms)
peak=0
while :; do
	pending=$(sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status" 2>/dev/null || echo 0)
	[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
	[ "$pending" = 0 ] && break
	kill -0 "$relay" 2>/dev/null || { tail "$H_TMP/relay.log"; echo "bench: relay died" >&2; exit 1; }
	sleep 0.2
done
drain_ms=$(($(now_ms) - t0))
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status" 2>/dev/null || echo 0)
[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
kill -TERM "$relay"
wait "$relay"
drain_eps=$((N * 1000 / (drain_ms > 0 ? drain_ms : 1)))
ratio=$(awk -v a="$drain_eps" -v b="$ceiling_eps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')

# 7. scale-out. The relays start on an empty table and settle their buckets first; the backlog then becomes
# visible at once (one INSERT ... SELECT from a staging table), and the clock runs from its COMMIT.
SN=${BENCH_SCALE_EVENTS:-200000}
sql "CREATE TABLE staging AS SELECT topic, key, payload, headers FROM outbox LIMIT 0"
sql "INSERT INTO staging SELECT 'bench', 'key-' || (g % 1000), decode(repeat(lpad(to_hex(g % 256), 2, '0'), 1024), 'hex'),
     '{\"type\": \"bench\"}' FROM generate_series(1, $SN) g"
scale_rows=
scale_drain() { # ordering relays
	local pids= i t0 ms
	sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
	sed "s/^log:/relay: { ordering = \"$1\"; };\nlog:/" "$conf" >"$H_TMP/scale.conf"
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
	while [ "$(sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")" != 0 ]; do sleep 0.1; done
	ms=$(($(now_ms) - t0))
	kill -TERM $pids
	wait $pids
	scale_rows="$scale_rows$(printf '%-34s %12s %10s' "7. drain, ordering=$1, $2 relay(s)" $((SN * 1000 / (ms > 0 ? ms : 1))) "$ms")\n"
}
echo "bench: scale-out, $SN events per run"
for mode in key none; do
	for r in 1 2 3; do scale_drain "$mode" "$r"; done
done

# 3. latency at a steady rate: one relay (the defaults), the writers and the consumer in bench/latency.c.
LS=${BENCH_LATENCY_S:-30}
lat_rows=
p50=na p99=na
sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
"$OUTBOXD" run -c "$conf" 2>"$H_TMP/latency-relay.log" &
lat_relay=$!
sleep 2
for lrate in 1000 10000; do
	echo "bench: latency at $lrate events/s for $LS s"
	# The topic exists before the clock starts: auto-creating it would put a second of metadata wait on the
	# first events.
	ltopic="latency-$lrate-$RANDOM"
	"$H_BUILD/tests/mktopic" "$H_KAFKA_BROKERS" "$ltopic" 1 >/dev/null
	sleep 1
	line=$("${LATENCY:?}" "$H_PG_APP_CONNINFO sslmode=disable" "$H_KAFKA_BROKERS" "$ltopic" "$lrate" "$LS" 8 2>&1 | tail -n 1)
	echo "  $line"
	get() { echo "$line" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
	lat_rows="$lat_rows$(printf '%-34s %12s %10s' "3. latency at $lrate/s (p50 p99 max ms)" "$(get achieved_eps)" "$(get p50_ms) $(get p99_ms) $(get max_ms)")\n"
	if [ "$lrate" = 1000 ]; then p50=$(get p50_ms); p99=$(get p99_ms); fi
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$lat_relay/status" 2>/dev/null || echo 0)
	[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
done
kill -TERM "$lat_relay"
wait "$lat_relay"

# 8. retention under a steady stream: after the first retention period the table should stop growing.
SR=${BENCH_STEADY_RATE:-1000}
SS=${BENCH_STEADY_S:-120}
echo "bench: steady stream of $SR events/s for $SS s with retention_s = 10"
sql "TRUNCATE outbox" && sql "VACUUM ANALYZE outbox"
sed "s/^log:/relay: { retention_s = 10; retention_batch = 5000; };\nlog:/" "$conf" >"$H_TMP/steady.conf"
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
kill -TERM "$steady_relay"
wait "$steady_relay"
steady_rows=$(sql "SELECT count(*) FROM outbox")

printf '\n%-34s %12s %10s\n' workload events/s ms
printf '%-34s %12s %10s\n' "1. outboxd backlog drain" "$drain_eps" "$drain_ms"
printf '%-34s %12s %10s\n' "2. SQL ceiling (claim+mark)" "$ceiling_eps" "$ceiling_ms"
printf '%-34s %12s\n' "   outboxd / ceiling" "$ratio"
printf "$lat_rows"
printf '%-34s %12s\n' "5. outboxd peak RSS (kB)" "$peak"
printf "$scale_rows"
printf '%-34s %s\n' "8. table MB every 10 s, retention" "$sizes (rows left: $steady_rows)"
echo "bench drain_eps=$drain_eps ceiling_eps=$ceiling_eps ceiling_ratio=$ratio p50_ms=$p50 p99_ms=$p99 rss_kb=$peak debezium_drain_eps=na debezium_p50_ms=na debezium_rss_kb=na"
