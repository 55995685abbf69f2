#!/usr/bin/env bash
# make bench: figures, never assertions. Starts the harness's PostgreSQL and Kafka and measures, side by side:
#   1. backlog drain: BENCH_EVENTS (default 1,000,000) committed 1 KB events over 1,000 keys, time for outboxd to
#      publish and mark them all;
#   2. the SQL ceiling: outboxd's claim and mark statements looped inside PostgreSQL (bench/ceiling.sql) over a
#      table of the same shape and size, no Kafka;
#   5. outboxd's peak RSS (VmHWM) during the drain;
#   7. scale-out: BENCH_SCALE_EVENTS (default 200,000) drained by 1, 2 and 3 relays, with relay.ordering "key"
#      (buckets) and "none" (SKIP LOCKED), so the cost and benefit of per-key order are visible.
# Not measured yet (issue 4): steady-rate latency, growth with a long transaction open, Debezium.
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}"
N=${BENCH_EVENTS:-1000000}
export H_BUILD=${H_BUILD:-$PWD/build}
export H_PG_FSYNC=on H_PG_EXTRA_OPTS="-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min"
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

printf '\n%-34s %12s %10s\n' workload events/s ms
printf '%-34s %12s %10s\n' "1. outboxd backlog drain" "$drain_eps" "$drain_ms"
printf '%-34s %12s %10s\n' "2. SQL ceiling (claim+mark)" "$ceiling_eps" "$ceiling_ms"
printf '%-34s %12s\n' "   outboxd / ceiling" "$ratio"
printf '%-34s %12s\n' "5. outboxd peak RSS (kB)" "$peak"
printf "$scale_rows"
echo "bench drain_eps=$drain_eps ceiling_eps=$ceiling_eps ceiling_ratio=$ratio p50_ms=na p99_ms=na rss_kb=$peak debezium_drain_eps=na debezium_p50_ms=na debezium_rss_kb=na"
