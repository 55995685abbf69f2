# metrics.listen: the Prometheus endpoint, scraped with curl. Counters and the latency histogram match the rows
# relayed, the lag gauges match the table, connection states are up; other paths are 404; a bad address is
# refused by check-config and at start-up (78), an address in use at start-up (78). The probes: /healthz 200, and
# /readyz 200 while all is well, 503 with the reason for a relay whose Kafka cannot be reached. Every metric the
# shipped Grafana dashboard and alert rules (examples/monitoring/) name is one the endpoint serves.
t_db
PORT=$(h_free_port)
t_conf "$T_DIR/o.conf" "batch_size = 20;"
echo "metrics: { listen = \"127.0.0.1:$PORT\"; };" >>"$T_DIR/o.conf"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (g % 5), convert_to('m' || g, 'UTF8')) FROM generate_series(1, 50) g" >/dev/null
t_sql "SELECT outbox_enqueue('bad topic!', 'k', 'x'::bytea)" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "not relayed"
sleep 2.5 # one stats interval, for the lag gauges
curl -sS -o "$T_DIR/metrics.txt" -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$PORT/metrics" >"$T_DIR/status.txt"
cat "$T_DIR/metrics.txt"
t_expect_eq "$(cat "$T_DIR/status.txt")" "200 text/plain; version=0.0.4; charset=utf-8" "status and content type"
metric() { awk -v n="$1" '$1 == n { print $2 }' "$T_DIR/metrics.txt"; }
t_expect_eq "$(metric outboxd_published_total)" 50 "outboxd_published_total"
t_expect_eq "$(metric outboxd_failed_total)" 1 "outboxd_failed_total"
t_expect_eq "$(metric outboxd_latency_seconds_count)" 50 "latency observations"
t_expect_eq "$(metric 'outboxd_latency_seconds_bucket{le="+Inf"}')" 50 "latency +Inf bucket"
t_expect_eq "$(metric outboxd_pending_rows)" 0 "outboxd_pending_rows"
t_expect_eq "$(metric outboxd_failed_rows)" "$(t_sql "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")" "outboxd_failed_rows"
t_expect_eq "$(metric outboxd_postgres_up)" 1 "outboxd_postgres_up"
t_expect_eq "$(metric outboxd_kafka_up)" 1 "outboxd_kafka_up"
t_expect_eq "$(metric outboxd_buckets_owned)" 64 "outboxd_buckets_owned"
batches=$(metric outboxd_batches_total)
[ "$batches" -ge 3 ] || t_fail "outboxd_batches_total $batches: 51 rows in batches of 20 need at least 3"
t_expect_eq "$(metric outboxd_batch_seconds_count)" "$batches" "batch duration observations"
t_expect_eq "$(metric outboxd_buckets_total)" 64 "outboxd_buckets_total"
t_expect_eq "$(metric outboxd_ready)" 1 "outboxd_ready"
# Every metric that examples/monitoring's dashboard and alert rules name is one this endpoint serves.
names=$( { jq -r '.. | objects | (.expr?, .query?) // empty' examples/monitoring/outboxd-dashboard.json
	grep 'expr:' examples/monitoring/outboxd-alerts.yml; } | grep -o 'outboxd_[a-z_]*' | sort -u)
[ "$(echo "$names" | wc -l)" -ge 10 ] || t_fail "too few metric names read from examples/monitoring: $names"
for n in $names; do
	grep -q "^$n[ {]" "$T_DIR/metrics.txt" || t_fail "examples/monitoring names $n, which /metrics does not serve"
done
t_expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")" 404 "another path"
t_expect_eq "$(curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/healthz")" "ok
 200" "/healthz"
t_expect_eq "$(curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/readyz")" "ready
 200" "/readyz"
# A relay whose Kafka is a port nobody listens on: it serves, and says it is not ready, and why.
PORT2=$(h_free_port)
sed -e "s|127.0.0.1:$PORT|127.0.0.1:$PORT2|" -e "s|brokers = \"[^\"]*\"|brokers = \"127.0.0.1:$(h_free_port)\"|" \
	"$T_DIR/o.conf" >"$T_DIR/nokafka.conf"
"$OUTBOXD" run -c "$T_DIR/nokafka.conf" >"$T_DIR/nokafka.log" 2>&1 &
NOKAFKA=$!
T_BG_PIDS="$T_BG_PIDS $NOKAFKA"
readyz2() { curl -s "http://127.0.0.1:$PORT2/readyz"; }
not_ready_for_kafka() { readyz2 | grep -q '^not ready: the Kafka producer is not usable or its brokers are down$'; }
t_wait_until 30 not_ready_for_kafka || { readyz2; t_fail "/readyz of the relay without Kafka"; }
t_expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/readyz")" 503 "/readyz status without Kafka"
t_expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/healthz")" 200 "/healthz without Kafka"
kill -TERM "$NOKAFKA"
# The port is taken now: a second relay refuses to start.
rc=0
"$OUTBOXD" run -c "$T_DIR/o.conf" >"$T_DIR/second.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "exit status with the metrics address in use"
t_expect_grep "$T_DIR/second.log" "cannot listen on 127.0.0.1:$PORT"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
sed -i "s|listen = \"127.0.0.1:$PORT\"|listen = \"localhost:$PORT\"|" "$T_DIR/o.conf"
rc=0
"$OUTBOXD" check-config -c "$T_DIR/o.conf" >"$T_DIR/check.log" 2>&1 || rc=$?
t_expect_eq "$rc" 78 "check-config with a host name for metrics.listen"
t_expect_grep "$T_DIR/check.log" 'metrics.listen: "localhost:'
t_check --expect-failed 1
