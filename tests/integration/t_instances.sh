# Many outboxes on one host, as outboxd@.service runs them: three instances started with the template unit's own
# ExecStart (%i filled in, /etc/outboxd moved to the test's directory), two databases and a second table in one of
# them, each relaying to its own topic. One instance is killed and the other two relay on undisturbed; started
# again, it catches up. The checker then reads each table against its topic.
t_db "${T_NAME}_orders"
ORDERS=$T_CONNINFO
t_db "${T_NAME}_billing"
BILLING=$T_CONNINFO
ETC=$T_DIR/etc
mkdir -p "$ETC"
conf() { # instance conninfo table
	cat >"$ETC/$1.conf" <<CONF
postgres: { conninfo = "${2/user=app /user=relay }"; owner_conninfo = "$2"; table = "$3"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
relay: { batch_size = 50; };
log: { stats_interval_ms = 1000; };
CONF
	t_install "$ETC/$1.conf"
}
conf orders "$ORDERS" outbox
conf billing "$BILLING" outbox
conf audit "$ORDERS" audit_outbox

# The template's command line, as systemd would run it for instance $1.
exec_start() {
	systemd/unit.sh "$(dirname "$OUTBOXD")" @ | sed -n 's/^ExecStart=//p' | sed -e "s|%i|$1|g" -e "s|/etc/outboxd|$ETC|g"
}
t_expect_eq "$(exec_start orders)" "$OUTBOXD run -c $ETC/orders.conf" "the template's ExecStart"
declare -A PID
start() {
	# shellcheck disable=SC2046
	$(exec_start "$1") >>"$T_DIR/$1.log" 2>&1 &
	PID[$1]=$!
	T_BG_PIDS="$T_BG_PIDS $!"
	t_wait_log "$T_DIR/$1.log" 'msg=relaying' 30 || { cat "$T_DIR/$1.log"; t_fail "instance $1 did not start"; }
}
enqueue() { # conninfo table topic n
	psql -qtAX -v ON_ERROR_STOP=1 "$1" -c "SELECT $2_enqueue('$3', 'k' || (g % 7), convert_to('$2 ' || g, 'UTF8'))
		FROM generate_series(1, $4) g" >/dev/null
}
pending() { psql -qtAX "$1" -c "SELECT count(*) FROM $2 WHERE sent_at IS NULL AND failed_at IS NULL"; }
drained() { [ "$(pending "$1" "$2")" = 0 ]; }

for i in orders billing audit; do start "$i"; done
enqueue "$ORDERS" outbox "$T_TOPIC-orders" 300
enqueue "$BILLING" outbox "$T_TOPIC-billing" 300
enqueue "$ORDERS" audit_outbox "$T_TOPIC-audit" 300
t_wait_until 30 drained "$ORDERS" outbox || t_fail "orders not relayed"
t_wait_until 30 drained "$BILLING" outbox || t_fail "billing not relayed"
t_wait_until 30 drained "$ORDERS" audit_outbox || t_fail "audit not relayed"

# Instance billing dies; the others relay on and its own rows wait for it.
kill -KILL "${PID[billing]}"
wait "${PID[billing]}" 2>/dev/null || true
enqueue "$ORDERS" outbox "$T_TOPIC-orders" 200
enqueue "$BILLING" outbox "$T_TOPIC-billing" 200
enqueue "$ORDERS" audit_outbox "$T_TOPIC-audit" 200
t_wait_until 30 drained "$ORDERS" outbox || t_fail "orders stopped with billing"
t_wait_until 30 drained "$ORDERS" audit_outbox || t_fail "audit stopped with billing"
t_expect_eq "$(pending "$BILLING" outbox)" 200 "billing's rows while its instance is down"
start billing
t_wait_until 30 drained "$BILLING" outbox || t_fail "billing did not catch up"

for i in orders billing audit; do
	kill -TERM "${PID[$i]}"
	wait "${PID[$i]}" || t_fail "instance $i exited $?"
done
"$TOOLS/checker" --pg "$ORDERS" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC-orders"
"$TOOLS/checker" --pg "$BILLING" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC-billing"
"$TOOLS/checker" --pg "$ORDERS" --brokers "$H_KAFKA_BROKERS" --topic "$T_TOPIC-audit" --table audit_outbox
for i in orders billing audit; do t_expect_no_grep "$T_DIR/$i.log" 'level=error'; done
