# The shipped units (outboxd.service and the template outboxd@.service): `systemd-analyze verify` passes and `systemd-analyze security --offline=yes` gives an
# exposure of 2.0 or lower. Then the daemon runs the way the unit runs it, as far as a machine without systemd as
# PID 1 allows: an unprivileged user, no capabilities, no_new_privs, umask 0077, the PostgreSQL password from a
# credentials directory through PGPASSFILE=$CREDENTIALS_DIRECTORY/pgpass and a Kafka secret through
# kafka.credentials. (Namespaces, the system-call filter and the other sandboxing need systemd itself.)
command -v systemd-analyze >/dev/null || { [ "${CI:-}" != true ] && { echo "skipped: no systemd-analyze"; exit 0; }; t_fail "systemd-analyze missing"; }
# Both units, outboxd.service and the template outboxd@.service, as systemd/unit.sh writes them (--man=no: the
# man pages are not installed here; the fresh-root check verifies them installed by the package).
for unit in outboxd.service outboxd@.service; do
	systemd/unit.sh "$(dirname "$OUTBOXD")" "$([ "$unit" = outboxd@.service ] && echo @)" >"$T_DIR/$unit"
	systemd-analyze verify --man=no "$T_DIR/$unit" >"$T_DIR/verify.out" 2>&1 || { cat "$T_DIR/verify.out"; t_fail "systemd-analyze verify $unit"; }
	t_expect_no_grep "$T_DIR/verify.out" '.'
done
cp "$T_DIR/outboxd@.service" "$T_DIR/outboxd@orders.service" # an instance, for the offline security rating
for unit in outboxd.service outboxd@orders.service; do
	systemd-analyze security --offline=yes "$T_DIR/$unit" >"$T_DIR/security.out" 2>&1 || true
	exposure=$(sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p" "$T_DIR/security.out")
	echo "$unit exposure: $exposure"
	[ -n "$exposure" ] || { cat "$T_DIR/security.out"; t_fail "no exposure score for $unit"; }
	awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || t_fail "$unit: exposure $exposure is above 2.0"
done

[ "$(id -u)" = 0 ] || { echo "skipped the privilege-dropping part: needs root to switch users"; exit 0; }
t_db
t_conf "$T_DIR/owner.conf"
t_install "$T_DIR/owner.conf"
creds=$T_DIR/credentials
mkdir -p "$creds"
printf '127.0.0.1:%s:%s:relay:%s\n' "$PGPORT" "$T_DB" "$H_APP_PASSWORD" >"$creds/pgpass"
printf 'Kafka-Cred-Sentinel-77\n' >"$creds/kafka-secret"
chown -R nobody: "$creds"
chmod 0500 "$creds"
chmod 0400 "$creds/pgpass" "$creds/kafka-secret"
cat >"$T_DIR/unit.conf" <<CONF
postgres: { conninfo = "host=127.0.0.1 port=$PGPORT dbname=$T_DB user=relay"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; credentials = [ "ssl.key.password=kafka-secret" ]; };
log: { level = "debug"; stats_interval_ms = 1000; };
CONF
chmod 0644 "$T_DIR/unit.conf"
chmod 0755 "$T_DIR"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (i % 3), convert_to('v' || i, 'UTF8')) FROM generate_series(1, 100) i" >/dev/null
(
	umask 0077
	cd /
	# A clean environment as systemd gives (HOME=/), so no PGPASSWORD from the harness can stand in.
	exec env -i PATH=/usr/bin:/bin HOME=/ LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
		CREDENTIALS_DIRECTORY="$creds" PGPASSFILE="$creds/pgpass" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all \
		"$OUTBOXD" run -c "$T_DIR/unit.conf"
) >"$T_DIR/relay.log" 2>&1 &
T_RELAY_PID=$!
t_wait_log "$T_DIR/relay.log" 'msg=relaying' 30 || { cat "$T_DIR/relay.log"; t_fail "relay did not start as nobody"; }
t_expect_eq "$(awk '/^Uid:/ {print $2}' "/proc/$T_RELAY_PID/status")" "$(id -u nobody)" "relay uid"
t_expect_eq "$(awk '/^CapEff:/ {print $2}' "/proc/$T_RELAY_PID/status")" 0000000000000000 "relay capabilities"
t_expect_eq "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$T_RELAY_PID/status")" 1 "no_new_privs"
t_wait_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL" 0 30 || t_fail "not relayed under the unit's settings"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
t_expect_no_grep "$T_DIR/relay.log" 'Kafka-Cred-Sentinel-77'
t_expect_no_grep "$T_DIR/relay.log" "$H_APP_PASSWORD"
t_check
