# The command line: schema print/install (idempotent, and in step with `psql -f sql/`), status read from the
# database, check-config with secrets redacted, --version, --help, usage errors.
t_db
SENTINEL=Sentinel-Pw-93b1
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE cli_user LOGIN PASSWORD '$SENTINEL'" \
	-c "ALTER DATABASE \"$T_DB\" OWNER TO cli_user" >/dev/null
T_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=$T_DB user=cli_user password=$SENTINEL"
cat >"$T_DIR/o.conf" <<CONF
postgres: { conninfo = "$T_CONNINFO"; schema = "odd \"schema\""; table = "Events Outbox"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; properties = [ "linger.ms=2", "sasl.password=$SENTINEL" ]; };
CONF
# schema print needs no database, and quotes the names
"$OUTBOXD" schema print --schema 'a"b' --table 'T x' >"$T_DIR/print.sql"
t_expect_grep "$T_DIR/print.sql" 'CREATE TABLE IF NOT EXISTS "a""b"."T x"'
t_expect_no_grep "$T_DIR/print.sql" '^\\'
# install, twice
"$OUTBOXD" schema install -c "$T_DIR/o.conf" >"$T_DIR/install1.out"
t_expect_grep "$T_DIR/install1.out" "version 0 -> $(ls sql/[0-9]*.sql | wc -l)"
"$OUTBOXD" schema install -c "$T_DIR/o.conf" >"$T_DIR/install2.out"
t_expect_grep "$T_DIR/install2.out" 'nothing to do'
ODD='"odd ""schema"""'
t_expect_eq "$(t_sql "SELECT version FROM $ODD.outboxd_schema WHERE table_name = 'Events Outbox'")" "$(ls sql/[0-9]*.sql | wc -l)" "schema version row"
# the printed SQL, fed to psql, and the psql -f path both work and agree with the binary on the version
"$OUTBOXD" schema print --schema printed --table outbox | psql -qX -v ON_ERROR_STOP=1 "$T_CONNINFO" >/dev/null 2>&1
for f in sql/[0-9]*.sql; do
	psql -qX -v ON_ERROR_STOP=1 -v schema=viapsql -v table=outbox -1 -f "$f" "$T_CONNINFO" >/dev/null 2>&1
done
# an upgrade: a table at version 1 gets only the newer files
psql -qX -v ON_ERROR_STOP=1 -v schema=old -v table=outbox -1 -f sql/001_outbox.sql "$T_CONNINFO" >/dev/null 2>&1
cat >"$T_DIR/old.conf" <<CONF
postgres: { conninfo = "$T_CONNINFO"; schema = "old"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
"$OUTBOXD" schema install -c "$T_DIR/old.conf" >"$T_DIR/upgrade.out"
t_expect_grep "$T_DIR/upgrade.out" "version 1 -> $(ls sql/[0-9]*.sql | wc -l)"
t_sql "SELECT * FROM old.outbox_lag" >/dev/null
cat >"$T_DIR/p.conf" <<CONF
postgres: { conninfo = "$T_CONNINFO"; schema = "viapsql"; };
kafka: { brokers = "$H_KAFKA_BROKERS"; };
CONF
"$OUTBOXD" schema install -c "$T_DIR/p.conf" >"$T_DIR/install3.out"
t_expect_grep "$T_DIR/install3.out" 'nothing to do'
t_sql "SELECT printed.outbox_enqueue('t', 'k', 'v')" >/dev/null
# status counts pending and failed rows from the database
t_sql "SELECT $ODD.\"Events Outbox_enqueue\"('t', 'k', 'v') FROM generate_series(1, 3)" >/dev/null
t_sql "UPDATE $ODD.\"Events Outbox\" SET failed_at = now() WHERE id = 1" >/dev/null
"$OUTBOXD" status -c "$T_DIR/o.conf" >"$T_DIR/status.out"
t_expect_grep "$T_DIR/status.out" '^pending: *2$'
t_expect_grep "$T_DIR/status.out" '^failed: *1$'
# check-config prints the effective config, secrets redacted
"$OUTBOXD" check-config -c "$T_DIR/o.conf" >"$T_DIR/check.out" 2>&1
t_expect_grep "$T_DIR/check.out" "password='<redacted>'"
t_expect_grep "$T_DIR/check.out" 'sasl.password=<redacted>'
t_expect_grep "$T_DIR/check.out" 'batch_size = 1000;'
t_expect_no_grep "$T_DIR/check.out" "$SENTINEL"
# the daemon at debug level never logs the secrets either
cat "$T_DIR/o.conf" >"$T_DIR/d.conf"
echo 'log: { level = "debug"; stats_interval_ms = 1000; };' >>"$T_DIR/d.conf"
sed -i 's/"sasl.password=[^"]*"/"client.id=outboxd-test"/' "$T_DIR/d.conf"
t_start_relay "$T_DIR/d.conf" "$T_DIR/relay.log"
t_wait_log "$T_DIR/relay.log" 'msg=stats' 10
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_expect_no_grep "$T_DIR/relay.log" "$SENTINEL"
t_expect_grep "$T_DIR/relay.log" 'level=debug'
# schema grant as the owner, then: the sentinel is in no output or error of any command above
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE cli_relay" >/dev/null
"$OUTBOXD" schema grant cli_relay -c "$T_DIR/o.conf" >"$T_DIR/grant.out" 2>&1
t_expect_grep "$T_DIR/grant.out" '^granted cli_relay'
"$OUTBOXD" schema print -c "$T_DIR/o.conf" >"$T_DIR/print-c.out" 2>&1
for f in "$T_DIR"/*.out "$T_DIR"/*.log "$T_DIR"/*.sql; do t_expect_no_grep "$f" "$SENTINEL"; done
# version, help, usage
"$OUTBOXD" --version | grep -q '^outboxd [0-9]' || t_fail "--version"
"$OUTBOXD" --help | grep -q 'schema install' || t_fail "--help"
rc=0; "$OUTBOXD" frobnicate -c "$T_DIR/o.conf" 2>"$T_DIR/usage.err" || rc=$?
t_expect_eq "$rc" 64 "unknown command exit status"
t_expect_grep "$T_DIR/usage.err" 'unknown command'
rc=0; "$OUTBOXD" status extra -c "$T_DIR/o.conf" 2>"$T_DIR/usage.err" || rc=$?
t_expect_eq "$rc" 64 "extra argument exit status"
t_expect_grep "$T_DIR/usage.err" 'unexpected argument: extra'
rc=0; "$OUTBOXD" schema drop 2>/dev/null || rc=$?
t_expect_eq "$rc" 64 "bad schema sub-command exit status"
rc=0; "$OUTBOXD" --no-such-flag 2>/dev/null || rc=$?
t_expect_eq "$rc" 64 "unknown option exit status"
