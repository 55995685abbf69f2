# Kafka over TLS: the broker's SSL listener (keytool keystore) with librdkafka's ssl.ca.location. The wrong CA
# and the wrong host name are refused with a clear log line and nothing is marked sent; the right settings
# deliver everything. A sentinel secret in the Kafka properties appears in no output, even with librdkafka's
# own configuration and security debugging on.
if [ -n "${H_KAFKA_MOCK:-}" ]; then echo "skipped: the mock cluster has no TLS listener"; exit 0; fi
t_db
t_conf "$T_DIR/base.conf"
t_install "$T_DIR/base.conf"
RELAY_CONNINFO="${T_CONNINFO/user=app /user=relay }"
SENTINEL=Kafka-Sentinel-Pw-51c7
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 5), convert_to('v' || i, 'UTF8')) FROM generate_series(1, 200) i" >/dev/null
tls_conf() { # file brokers ca
	cat >"$1" <<CONF
postgres: { conninfo = "$RELAY_CONNINFO"; };
kafka: { brokers = "$2";
  properties = [ "security.protocol=ssl", "ssl.ca.location=$3", "ssl.key.password=$SENTINEL",
                 "debug=conf,security" ]; };
relay: { delivery_timeout_ms = 3000; };
log: { level = "debug"; stats_interval_ms = 1000; };
CONF
}
refused() { # name brokers ca log-pattern
	tls_conf "$T_DIR/$1.conf" "$2" "$3"
	t_start_relay "$T_DIR/$1.conf" "$T_DIR/$1.log"
	t_wait_log "$T_DIR/$1.log" "$4" 20 || { tail -n 30 "$T_DIR/$1.log"; t_fail "$1: no '$4' in the log"; }
	t_wait_log "$T_DIR/$1.log" 'batch not fully delivered' 20 || t_fail "$1: the batch was not given up"
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "$1: exit status"
	t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")" 0 "$1: nothing marked sent"
	echo "refused: $1: $(grep -m1 -o "$4.\{0,80\}" "$T_DIR/$1.log")"
}
refused wrongca "$H_KAFKA_SSL_BROKERS" "$H_TLS_DIR/otherca.crt" 'certificate verify failed'
refused wronghost "127.0.0.1:$H_KAFKA_SSL_PORT" "$H_KAFKA_SSL_CA" 'certificate verify failed\|hostname'

tls_conf "$T_DIR/good.conf" "$H_KAFKA_SSL_BROKERS" "$H_KAFKA_SSL_CA"
t_start_relay "$T_DIR/good.conf" "$T_DIR/good.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || { tail -n 30 "$T_DIR/good.log"; t_fail "not relayed over TLS"; }
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_expect_grep "$T_DIR/good.log" 'ssl.key.password'   # librdkafka's conf debug did list the property...
"$OUTBOXD" check-config -c "$T_DIR/good.conf" >"$T_DIR/check.out"
"$OUTBOXD" status -c "$T_DIR/good.conf" >>"$T_DIR/check.out"
for f in "$T_DIR"/*.log "$T_DIR/check.out"; do t_expect_no_grep "$f" "$SENTINEL"; done   # ...never its value
t_check
