# A new event leaves on NOTIFY, not on the poll timer: with a 60 s poll interval it must still arrive at once.
t_db
t_conf "$T_DIR/o.conf" "poll_interval_ms = 60000;"
t_install "$T_DIR/o.conf"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
sleep 1 # let the relay go idle in poll()
for i in 1 2 3; do
	t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', 'v$i'::bytea)" >/dev/null
	t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 10 || t_fail "event $i not sent within 10 s: NOTIFY did not wake the relay"
	t_sql "SELECT 'event $i sent after ' || round(extract(epoch FROM sent_at - created_at) * 1000) || ' ms' FROM outbox WHERE id = (SELECT max(id) FROM outbox)"
done
t_check
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
