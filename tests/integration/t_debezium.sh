# A Debezium-style outbox table (id uuid, aggregatetype, aggregateid, type, payload jsonb), relayed after
# `outboxd schema debezium` as Debezium's Outbox Event Router would publish it: topic outbox.event.<aggregatetype>,
# key aggregateid, header id = the row's id, value = the payload's JSON text. Rows deleted in their own
# transaction (the usual Debezium pattern) are relayed; rolled-back ones are not. Tables without the columns, or
# with a payload type the mapping cannot read, are refused with 65 and nothing is installed.
t_db
AGG=$(echo "$T_TOPIC" | tr -cd 'a-z0-9')
cat >"$T_DIR/o.conf" <<CONF
postgres: { conninfo = "${T_CONNINFO/user=app /user=relay }"; owner_conninfo = "$T_CONNINFO"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { batch_size = 50; };
debezium: { table = "outboxevent"; };
CONF
t_install "$T_DIR/o.conf"
t_sql "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
       aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb)"
"$OUTBOXD" schema debezium -c "$T_DIR/o.conf" | tee "$T_DIR/install.out"
t_expect_grep "$T_DIR/install.out" 'payload read as json'
# Two aggregate types, per-aggregate sequences; one transaction deletes its row at once, one rolls back.
t_sql "INSERT INTO outboxevent SELECT gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'Customer$AGG' ELSE 'Order$AGG' END,
       'agg-' || (g % 5), 'Changed', jsonb_build_object('seq', g, 'note', 'é')
       FROM generate_series(1, 30) g" >/dev/null
psql -qtAX -v ON_ERROR_STOP=1 "$T_CONNINFO" >/dev/null <<SQL
BEGIN;
INSERT INTO outboxevent VALUES ('00000000-0000-4000-8000-000000000031', 'Order$AGG', 'agg-1', 'Changed', '{"seq": 31}');
DELETE FROM outboxevent WHERE id = '00000000-0000-4000-8000-000000000031';
COMMIT;
BEGIN;
INSERT INTO outboxevent VALUES ('00000000-0000-4000-8000-000000000032', 'Order$AGG', 'agg-1', 'Changed', '{"seq": 32}');
ROLLBACK;
SQL
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not relayed"
t_stop_relay
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox")" 31 "rows copied into the outbox"
for t in "Order$AGG" "Customer$AGG"; do
	kcat -C -b "$H_KAFKA_BROKERS" -t "outbox.event.$t" -e -q -f '%k|%h|%s\n' >"$T_DIR/$t.txt"
	# Per aggregate (topic and key), the sequence numbers arrive in insertion order.
	awk -F'|' '{ match($3, /"seq": [0-9]+/); s = substr($3, RSTART + 7, RLENGTH - 7) + 0;
		if (s < last[$1]) { print "out of order: " $0; bad = 1 } last[$1] = s } END { exit bad }' "$T_DIR/$t.txt" ||
		t_fail "per-aggregate order on outbox.event.$t"
	cat "$T_DIR/$t.txt" >>"$T_DIR/consumed.txt"
done
t_expect_eq "$(wc -l <"$T_DIR/consumed.txt")" 31 "messages on outbox.event.*"
# Every source row (the deleted one included) arrived once with its id header, key and payload text.
t_sql "SELECT aggregateid || '|id=' || id || '|' || payload::text FROM outboxevent
       UNION ALL SELECT 'agg-1|id=00000000-0000-4000-8000-000000000031|{\"seq\": 31}' ORDER BY 1" >"$T_DIR/want.txt"
sort "$T_DIR/consumed.txt" >"$T_DIR/got.txt"
diff "$T_DIR/want.txt" "$T_DIR/got.txt" || t_fail "messages differ from the Debezium-style rows"
t_expect_no_grep "$T_DIR/consumed.txt" '"seq": 32'
t_check --topic "outbox.event.Order$AGG" --topic "outbox.event.Customer$AGG"

# Refusals: a missing column, and a payload type the mapping cannot read.
refused() { # table columns message what
	t_sql "CREATE TABLE $1 ($2)"
	sed "s/table = \"outboxevent\"/table = \"$1\"/" "$T_DIR/o.conf" >"$T_DIR/$1.conf"
	rc=0
	"$OUTBOXD" schema debezium -c "$T_DIR/$1.conf" >"$T_DIR/$1.out" 2>&1 || rc=$?
	t_expect_eq "$rc" 65 "exit status for $4"
	t_expect_grep "$T_DIR/$1.out" "$3"
}
refused nokey "id uuid, aggregatetype text, type text, payload jsonb" 'has no column "aggregateid"' \
	"a table without aggregateid"
refused binpayload "id uuid, aggregatetype text, aggregateid text, type text, payload bytea" \
	'the payload must be jsonb, json or text' "a bytea payload"
t_expect_eq "$(t_sql "SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('nokey'::regclass, 'binpayload'::regclass)")" 0 "triggers installed on refused tables"
