# Conventions of event platforms, read back with kcat. CloudEvents binary content mode (cloudevents.source set):
# each message carries ce_specversion 1.0, ce_id = the event id, ce_source from the config, ce_type from the row's
# own ce_type header or else cloudevents.type, ce_time = the row's created_at (RFC 3339, UTC, microseconds, as
# PostgreSQL formats it), content-type from the row or else cloudevents.content_type. A row that sets an
# attribute outboxd owns (ce_id) is failed with the reason, and nothing else is held up. W3C trace context: a
# row's traceparent and tracestate headers arrive unchanged; from a Debezium-style table, Debezium's
# tracingspancontext column (java.util.Properties text) becomes those two headers and the type column ce_type.
# (A row's headers come in jsonb's key order: shorter names first.)
t_db
AGG=$(echo "$T_TOPIC" | tr -cd 'a-z0-9')
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
TS='rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'
cat >"$T_DIR/o.conf" <<CONF
postgres: { conninfo = "${T_CONNINFO/user=app /user=relay }"; owner_conninfo = "$T_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
cloudevents: { source = "/outboxd/$T_NAME"; type = "test.default"; };
debezium: { table = "outboxevent"; table_field_event_type = "type"; };
CONF
t_install "$T_DIR/o.conf"
t_sql "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
       aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb, tracingspancontext text)"
"$OUTBOXD" schema debezium -c "$T_DIR/o.conf" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'plain', convert_to('{}', 'UTF8'))" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'typed', convert_to('hi', 'UTF8'),
       jsonb_build_object('ce_type', 'order.paid', 'content-type', 'text/plain', 'traceparent', '$TP', 'tracestate', '$TS'))" >/dev/null
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'owns-id', convert_to('x', 'UTF8'), '{\"ce_id\": \"mine\"}')" >/dev/null
# Debezium writes the span context with java.util.Properties.store: a comment line, and '=' in values escaped.
t_sql "INSERT INTO outboxevent VALUES ('00000000-0000-4000-8000-0000000000d1', 'Order$AGG', 'agg-1', 'OrderCreated',
       '{\"n\": 1}', E'#Thu Dec 03 07:30:00 UTC 2026\\ntracestate=rojo\\\\=00f067aa0ba902b7,congo\\\\=t61rcWkgMzE\\ntraceparent=$TP\\n')" >/dev/null
t_sql "INSERT INTO outboxevent VALUES ('00000000-0000-4000-8000-0000000000d2', 'Order$AGG', 'agg-2', 'OrderShipped',
       '{\"n\": 2}', NULL)" >/dev/null
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL" 0 30 || t_fail "not relayed"
t_stop_relay

ce_time() { # key: the row's created_at as CloudEvents carries it
	t_sql "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM outbox WHERE key = '$1'"
}
event_id() { t_sql "SELECT event_id FROM outbox WHERE key = '$1'"; }
kcat -C -b "$H_KAFKA_BROKERS" -t "$T_TOPIC" -e -q -f '%k|%h\n' >"$T_DIR/topic.txt"
kcat -C -b "$H_KAFKA_BROKERS" -t "outbox.event.Order$AGG" -e -q -f '%k|%h\n' >>"$T_DIR/topic.txt"
cat "$T_DIR/topic.txt"
t_expect_eq "$(wc -l <"$T_DIR/topic.txt")" 4 "messages (the row that sets ce_id is failed)"
headers() { grep "^$1|" "$T_DIR/topic.txt" | cut -d'|' -f2; }
t_expect_eq "$(headers plain)" "id=$(event_id plain),ce_specversion=1.0,ce_id=$(event_id plain),ce_source=/outboxd/$T_NAME,ce_time=$(ce_time plain),ce_type=test.default,content-type=application/json" "headers of a row without any"
t_expect_eq "$(headers typed)" "id=$(event_id typed),ce_type=order.paid,tracestate=$TS,traceparent=$TP,content-type=text/plain,ce_specversion=1.0,ce_id=$(event_id typed),ce_source=/outboxd/$T_NAME,ce_time=$(ce_time typed)" "headers of a row with its own type, content type and trace context"
t_expect_eq "$(headers agg-1)" "id=00000000-0000-4000-8000-0000000000d1,ce_type=OrderCreated,tracestate=$TS,traceparent=$TP,ce_specversion=1.0,ce_id=00000000-0000-4000-8000-0000000000d1,ce_source=/outboxd/$T_NAME,ce_time=$(ce_time agg-1),content-type=application/json" "headers of a Debezium row with a span context"
t_expect_eq "$(headers agg-2)" "id=00000000-0000-4000-8000-0000000000d2,ce_type=OrderShipped,ce_specversion=1.0,ce_id=00000000-0000-4000-8000-0000000000d2,ce_source=/outboxd/$T_NAME,ce_time=$(ce_time agg-2),content-type=application/json" "headers of a Debezium row without one"
t_expect_eq "$(t_sql "SELECT key || ': ' || last_error FROM outbox WHERE failed_at IS NOT NULL")" \
	'owns-id: headers: "ce_id" is set by outboxd in cloudevents mode' "the failed row and its reason"
t_check --expect-failed 1 --cloudevents --topic "outbox.event.Order$AGG"
