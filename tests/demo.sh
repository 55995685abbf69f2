#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL and Kafka, the schema installed, outboxd relaying a stream of generated events
# (4 writers, some transactions rolled back), its lag lines, and the events as a Kafka consumer receives them.
# Exits 1 unless every committed event was delivered and consumed (the fresh-root check relies on that).
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}"
SECONDS_TO_RUN=${DEMO_SECONDS:-20}
export H_BUILD=${H_BUILD:-$PWD/build}
. tests/harness/lib.sh
cleanup() {
	[ -n "${RELAY:-}" ] && kill -TERM "$RELAY" 2>/dev/null && wait "$RELAY" 2>/dev/null
	[ -n "${CONSUMER:-}" ] && kill "$CONSUMER" 2>/dev/null
	harness_stop_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM
harness_start_pg
harness_start_kafka
TOPIC=demo.orders
cat >"$H_TMP/outboxd.conf" <<CONF
postgres: { conninfo = "$H_PG_APP_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
log: { stats_interval_ms = 2000; };
CONF
echo "== outboxd schema install"
"$OUTBOXD" schema install -c "$H_TMP/outboxd.conf"
echo "== outboxd run (lag lines every 2 s), consumer output prefixed with 'consumed:'"
"$OUTBOXD" run -c "$H_TMP/outboxd.conf" &
RELAY=$!
first_sent() { [ "$(psql -qtAX "$H_PG_APP_CONNINFO" -c "SELECT count(sent_at) FROM outbox")" != 0 ]; }
start_consumer() {
	# kcat gives up on a topic that does not exist yet: start it once the first event is out.
	t_wait_until 10 first_sent || true
	# exec, so that the cleanup's kill reaches kcat; tee ends with it.
	exec kcat -b "$H_KAFKA_BROKERS" -C -t "$TOPIC" -o beginning -q -u \
		-f 'consumed: partition=%p offset=%o key=%k payload=%s headers=%h\n' > >(tee "$H_TMP/consumed")
}
if command -v kcat >/dev/null; then
	start_consumer &
	CONSUMER=$!
fi
PGPASSWORD=$H_APP_PASSWORD "$H_PGBIN/pgbench" -n -h 127.0.0.1 -p "$PGPORT" -U app -c 4 -j 2 -R 10 \
	-T "$SECONDS_TO_RUN" -f tests/demo-writer.sql app >/dev/null 2>&1
sleep 3
echo "== outboxd status"
"$OUTBOXD" status -c "$H_TMP/outboxd.conf"
read -r committed sent rolled_back < <(psql -qtAX -F ' ' "$H_PG_APP_CONNINFO" \
	-c "SELECT count(*), count(sent_at), coalesce(max(id), 0) - count(*) FROM outbox")
consumed=$(grep -c '^consumed:' "$H_TMP/consumed" 2>/dev/null || true)
echo "== rows: $committed committed, $sent sent, $rolled_back ids used by rolled-back transactions (never published); $consumed consumed"
if [ "$committed" -gt 0 ] && [ "$sent" = "$committed" ] && [ "$consumed" -ge "$committed" ]; then
	echo "demo: every committed event was delivered"
else
	echo "demo: FAILED: not every committed event was delivered and consumed" >&2
	exit 1
fi
