# PostgreSQL over TLS with sslmode=verify-full against the harness's throwaway CA; the wrong CA and the wrong
# host name are refused with a clear line and the documented exit status, and nothing is marked sent.
t_db
t_conf "$T_DIR/base.conf"
t_install "$T_DIR/base.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', convert_to('v' || i, 'UTF8')) FROM generate_series(1, 50) i" >/dev/null
tls_conf() { # file host rootcert
	cat >"$1" <<CONF
postgres: { conninfo = "host=$2 port=$PGPORT dbname=$T_DB user=relay password=$H_APP_PASSWORD sslmode=verify-full sslrootcert=$3"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
log: { stats_interval_ms = 1000; };
CONF
}
tls_conf "$T_DIR/wrongca.conf" localhost "$H_TLS_DIR/otherca.crt"
rc=0; "$OUTBOXD" run -c "$T_DIR/wrongca.conf" >"$T_DIR/wrongca.log" 2>&1 || rc=$?
t_expect_eq "$rc" 69 "wrong CA exit status"
t_expect_grep "$T_DIR/wrongca.log" 'cannot connect to PostgreSQL.*certificate verify failed'
tls_conf "$T_DIR/wronghost.conf" 127.0.0.1 "$H_TLS_DIR/ca.crt"
rc=0; "$OUTBOXD" run -c "$T_DIR/wronghost.conf" >"$T_DIR/wronghost.log" 2>&1 || rc=$?
t_expect_eq "$rc" 69 "wrong host exit status"
t_expect_grep "$T_DIR/wronghost.log" 'cannot connect to PostgreSQL.*does not match host name'
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL OR attempts > 0")" 0 "nothing marked"

tls_conf "$T_DIR/good.conf" localhost "$H_TLS_DIR/ca.crt"
t_start_relay "$T_DIR/good.conf" "$T_DIR/relay.log"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not relayed over TLS"
# The relay's own session is the encrypted one.
t_expect_eq "$(psql -qtAX -d "$T_DB" -c "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'relay' AND a.application_name = 'outboxd'")" t "relay session uses TLS"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_check
