# Test harness: a throwaway PostgreSQL cluster and a real single-node Kafka broker (KRaft), both on loopback,
# both on free ports, both in a temp dir that is removed when they stop. Sourced by the test runners
# (tests/run-*.sh), the demo and the bench.
#
# Exported after harness_start_pg:    PGHOST PGPORT PGUSER PGDATABASE H_PG_SUPER_URL H_PG_APP_CONNINFO
# Exported after harness_start_kafka: H_KAFKA_BROKERS  (or the mock cluster's, see harness_start_kafka)
# harness_start_all starts both and stops them on exit; otherwise call harness_stop_all from an EXIT trap.

H_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
H_BUILD=${H_BUILD:-$H_ROOT/build}
H_TMP=${H_TMP:-}
H_APP_PASSWORD=app-secret-pw

h_log() { printf 'harness: %s\n' "$*" >&2; }
h_die() { printf 'harness: error: %s\n' "$*" >&2; exit 1; }

h_tmp() {
	if [ -z "$H_TMP" ]; then
		H_TMP=$(mktemp -d /tmp/outboxd-test.XXXXXX)
		chmod 755 "$H_TMP"
	fi
}

# A port nothing listens on now, below the kernel's ephemeral range (32768 and up here) so that no outgoing
# connection takes it between this check and the bind.
h_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((RANDOM % 12000 + 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	h_die "no free port found"
}

# The one poll loop: runs the command every 0.1 s until it succeeds, for up to SECONDS (a whole number); returns 1
# if it never did. Every wait of the harness, the tests and the demo goes through it.
t_wait_until() { # seconds command [args...]
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

h_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
h_gone() { ! kill -0 "$1" 2>/dev/null; }

h_wait_port() { t_wait_until "$2" h_port_open "$1"; } # port seconds

# ---------------------------------------------------------------- PostgreSQL

H_PGBIN=
h_pgbin() {
	[ -n "$H_PGBIN" ] && return 0
	H_PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$H_PGBIN/initdb" ] || h_die "PostgreSQL server binaries not found (apt-get install postgresql)"
}

# PostgreSQL refuses to run as root: run the server as the postgres system user then, from / (root's own
# working directory, /root say, is closed to it).
h_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# A throwaway CA and a server certificate for "localhost" (and only that name, so connecting as 127.0.0.1 with
# verify-full must fail), plus an unrelated CA for the wrong-CA cases. Files in $H_TMP/tls.
h_tls() {
	local d=$H_TMP/tls
	H_TLS_DIR=$d
	export H_TLS_DIR
	[ -e "$d/server.crt" ] && return 0
	mkdir -p "$d"
	(
		cd "$d"
		for ca in ca otherca; do
			openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=outboxd test $ca" \
				-keyout $ca.key -out $ca.crt
		done
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
		printf 'subjectAltName=DNS:localhost\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.crt
	) >"$H_TMP/tls.log" 2>&1 || { cat "$H_TMP/tls.log" >&2; h_die "openssl could not make test certificates"; }
	chmod 600 "$d/server.key"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$d/server.key" "$d/server.crt"; fi
}

harness_start_pg() {
	h_tmp
	h_pgbin
	h_tls
	local dir=$H_TMP/pg
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	printf '%s\n' "postgres-super-pw" > "$H_TMP/pgpw"
	chmod 644 "$H_TMP/pgpw"
	h_as_pg "$H_PGBIN/initdb" -D "$dir/data" -U postgres --pwfile="$H_TMP/pgpw" -A scram-sha-256 \
		--auth-local=trust -E UTF8 --locale=C.UTF-8 >"$H_TMP/initdb.log" 2>&1 ||
		{ cat "$H_TMP/initdb.log" >&2; h_die "initdb failed"; }
	PGPORT=$(h_free_port)
	local opts="-p $PGPORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=${H_PG_FSYNC:-off}"
	# Prepared transactions: t_keep proves that a row of one is delivered once it is committed.
	opts="$opts -c full_page_writes=off -c max_connections=100 -c shared_buffers=128MB -c max_prepared_transactions=10"
	# TLS is on, so tests can connect with sslmode=verify-full; plain connections still work (sslmode=prefer).
	opts="$opts -c ssl=on -c ssl_cert_file=$H_TLS_DIR/server.crt -c ssl_key_file=$H_TLS_DIR/server.key"
	opts="$opts ${H_PG_EXTRA_OPTS:-}"
	h_as_pg "$H_PGBIN/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/log" -w -t 60 start >/dev/null ||
		{ cat "$dir/log" >&2; h_die "PostgreSQL did not start"; }
	H_PG_DIR=$dir
	export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=app PGPASSWORD=postgres-super-pw
	psql -qX -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE ROLE app LOGIN PASSWORD '$H_APP_PASSWORD'" \
		-c "CREATE ROLE relay LOGIN PASSWORD '$H_APP_PASSWORD'" \
		-c "CREATE DATABASE app OWNER app" >/dev/null || h_die "could not create the app database"
	H_PG_APP_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=app user=app password=$H_APP_PASSWORD"
	export H_PG_APP_CONNINFO H_PG_DIR
	h_log "PostgreSQL $("$H_PGBIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$PGPORT ($dir)"
}

harness_restart_pg() { # mode: fast|immediate
	h_as_pg "$H_PGBIN/pg_ctl" -D "$H_PG_DIR/data" -m "${1:-fast}" -w -t 60 restart >/dev/null
}

harness_stop_pg() {
	[ -n "${H_PG_DIR:-}" ] || return 0
	h_as_pg "$H_PGBIN/pg_ctl" -D "$H_PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		h_as_pg "$H_PGBIN/pg_ctl" -D "$H_PG_DIR/data" -m immediate stop >/dev/null 2>&1
	H_PG_DIR=
}

# ---------------------------------------------------------------- Kafka

# Fetch the broker's jars once into build/kafka/lib (Maven caches them in ~/.m2 across runs).
h_kafka_jars() {
	local lib=$H_BUILD/kafka/lib
	if [ -f "$lib/.complete" ]; then return 0; fi
	command -v mvn >/dev/null || return 1
	command -v java >/dev/null || return 1
	mkdir -p "$lib"
	h_log "fetching Kafka broker jars with Maven (once)"
	mvn -B -q -f "$H_ROOT/tests/harness/kafka-pom.xml" \
		org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$lib" >"$H_BUILD/kafka/mvn.log" 2>&1 ||
		{ tail -n 20 "$H_BUILD/kafka/mvn.log" >&2; return 1; }
	touch "$lib/.complete"
}

h_java_version_ok() {
	local v
	v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
	[ "${v%%.*}" -ge 17 ] 2>/dev/null
}

# Starts the real broker. Without Java the caller may fall back to librdkafka's mock cluster
# (H_KAFKA_MOCK=1); under CI=true the real broker is required.
harness_start_kafka() {
	h_tmp
	if ! command -v java >/dev/null || ! h_java_version_ok || ! h_kafka_jars; then
		if [ "${CI:-}" = true ]; then h_die "CI=true requires the real Kafka broker (Java 17+ and mvn)"; fi
		h_log "WARNING: no Java 17 or Maven: using librdkafka's mock cluster instead of a real broker"
		h_start_mock
		return 0
	fi
	local attempt
	# A port can still be lost to a race between choosing it and the JVM binding it: start afresh then.
	for attempt in 1 2 3; do
		h_kafka_try_start && break
		[ "$attempt" = 3 ] && { tail -n 50 "$H_KAFKA_DIR/broker.log" >&2; h_die "Kafka broker did not start"; }
		h_log "Kafka broker did not start (attempt $attempt), retrying on other ports"
		harness_stop_kafka
	done
	H_KAFKA_BROKERS=127.0.0.1:$H_KAFKA_PORT
	# The same broker over TLS: its certificate names only "localhost" (the CA file is the certificate itself).
	H_KAFKA_SSL_BROKERS=localhost:$H_KAFKA_SSL_PORT
	H_KAFKA_SSL_CA=$H_TMP/kafka-tls/broker.crt
	export H_KAFKA_BROKERS H_KAFKA_DIR H_KAFKA_PORT H_KAFKA_SSL_PORT H_KAFKA_SSL_BROKERS H_KAFKA_SSL_CA
	h_log "Kafka $(ls "$H_BUILD/kafka/lib" | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p') (KRaft) on $H_KAFKA_BROKERS"
}

# The broker's TLS key and certificate, made with the JDK's keytool: a self-signed certificate for "localhost",
# exported as PEM for librdkafka's ssl.ca.location.
h_kafka_tls() {
	local d=$H_TMP/kafka-tls
	H_KAFKA_TLS_PW=broker-keystore-pw
	[ -e "$d/broker.crt" ] && return 0
	mkdir -p "$d"
	keytool -genkeypair -keystore "$d/broker.p12" -storetype PKCS12 -storepass "$H_KAFKA_TLS_PW" \
		-keypass "$H_KAFKA_TLS_PW" -alias broker -keyalg RSA -keysize 2048 -validity 2 -dname CN=localhost \
		-ext SAN=dns:localhost >"$d/keytool.log" 2>&1 &&
		keytool -exportcert -rfc -keystore "$d/broker.p12" -storepass "$H_KAFKA_TLS_PW" -alias broker \
			-file "$d/broker.crt" >>"$d/keytool.log" 2>&1 ||
		{ cat "$d/keytool.log" >&2; h_die "keytool could not make the broker's keystore"; }
}

# One attempt: fresh ports, a freshly formatted data dir, launch, then wait until the client port accepts (the
# broker is unfenced by then) or the JVM exits.
h_kafka_try_start() {
	local dir=$H_TMP/kafka port cport sport cid cp="$H_BUILD/kafka/lib/*"
	rm -rf "$dir"
	mkdir -p "$dir/data"
	# H_KAFKA_LOG_DIR: the log directory elsewhere (a small tmpfs in c_kafka_disk_full), emptied for each attempt.
	[ -z "${H_KAFKA_LOG_DIR:-}" ] || find "$H_KAFKA_LOG_DIR" -mindepth 1 -delete
	port=$(h_free_port)
	cport=$(h_free_port)
	while [ "$cport" = "$port" ]; do cport=$(h_free_port); done
	sport=$(h_free_port)
	while [ "$sport" = "$port" ] || [ "$sport" = "$cport" ]; do sport=$(h_free_port); done
	h_kafka_tls
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,SSL://127.0.0.1:$sport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SSL://localhost:$sport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL
ssl.keystore.type=PKCS12
ssl.keystore.location=$H_TMP/kafka-tls/broker.p12
ssl.keystore.password=$H_KAFKA_TLS_PW
ssl.key.password=$H_KAFKA_TLS_PW
log.dirs=${H_KAFKA_LOG_DIR:-$dir/data}
num.partitions=${H_KAFKA_PARTITIONS:-4}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=1
num.io.threads=2
log.cleaner.dedupe.buffer.size=16777216
message.max.bytes=${H_KAFKA_MESSAGE_MAX_BYTES:-1048588}
${H_KAFKA_EXTRA_PROPS:-}
EOF
	cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRefs = stdout
rootLogger.appenderRef.stdout.ref = STDOUT
EOF
	cid=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
	java -Xmx256m -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
		>"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; h_die "kafka storage format failed"; }
	H_KAFKA_DIR=$dir
	H_KAFKA_PORT=$port
	H_KAFKA_SSL_PORT=$sport
	h_kafka_launch
	# Up, or the JVM gave up: which one, the port says.
	t_wait_until 90 h_kafka_up_or_gone "$port" "$(cat "$dir/pid")"
	h_port_open "$port"
}

h_kafka_up_or_gone() { h_port_open "$1" || h_gone "$2"; } # port pid

# The bootstrap address a mockbroker writes as its first line, once it has (up to 5 s).
h_mock_address() {
	t_wait_until 5 test -s "$1"
	head -n 1 "$1"
}

# librdkafka's mock cluster in a process of its own (tests/tools/mockbroker.c), so every client can reach it.
h_start_mock() {
	local bin=$H_BUILD/tests/mockbroker
	[ -x "$bin" ] || h_die "$bin not built (make tools)"
	mkdir -p "$H_TMP/mock"
	H_KAFKA_DIR=$H_TMP/mock
	"$bin" >"$H_KAFKA_DIR/bootstraps" 2>"$H_KAFKA_DIR/broker.log" </dev/null &
	echo $! >"$H_KAFKA_DIR/pid"
	H_KAFKA_BROKERS=$(h_mock_address "$H_KAFKA_DIR/bootstraps")
	[ -n "$H_KAFKA_BROKERS" ] || h_die "mock cluster did not start"
	H_KAFKA_MOCK=1
	export H_KAFKA_MOCK H_KAFKA_BROKERS H_KAFKA_DIR
	h_log "librdkafka mock cluster on $H_KAFKA_BROKERS (not a real broker)"
}

# Tests want a quick start (C1 only, small heap); make bench sets H_KAFKA_JVM_OPTS for the broker's full speed.
h_kafka_launch() {
	# shellcheck disable=SC2086
	java ${H_KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$H_KAFKA_DIR/log4j2.properties" -cp "$H_BUILD/kafka/lib/*" \
		kafka.Kafka "$H_KAFKA_DIR/server.properties" >>"$H_KAFKA_DIR/broker.log" 2>&1 </dev/null &
	echo $! >"$H_KAFKA_DIR/pid"
}

# Stop (SIGTERM, bounded wait, then SIGKILL) only the pid we started. The pid lives in a file because tests
# stop and start the broker from subshells.
harness_stop_kafka() {
	local pid
	[ -n "${H_KAFKA_DIR:-}" ] && [ -f "$H_KAFKA_DIR/pid" ] || return 0
	pid=$(cat "$H_KAFKA_DIR/pid")
	kill -TERM "$pid" 2>/dev/null || true
	t_wait_until 30 h_gone "$pid" || true
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$H_KAFKA_DIR/pid"
}

# Between tests: a test that stopped the broker and failed before starting it again must not break the next.
harness_ensure_kafka() {
	[ -n "${H_KAFKA_MOCK:-}" ] && return 0
	[ -f "$H_KAFKA_DIR/pid" ] && kill -0 "$(cat "$H_KAFKA_DIR/pid")" 2>/dev/null && return 0
	h_log "the broker was left stopped: starting it again"
	harness_stop_kafka
	harness_resume_kafka
}

# Restart the same broker (same data dir and ports) after harness_stop_kafka.
harness_resume_kafka() {
	h_kafka_launch
	h_wait_port "$H_KAFKA_PORT" 90 || h_die "Kafka broker did not come back"
}

# Both services, stopped (and the temp dir removed) when the calling script exits or is interrupted.
harness_start_all() {
	trap harness_stop_all EXIT
	trap 'exit 130' INT TERM
	harness_start_pg
	harness_start_kafka
}

harness_stop_all() {
	harness_stop_kafka
	harness_stop_pg
	if [ -n "$H_TMP" ] && [ -z "${H_KEEP_TMP:-}" ]; then rm -rf "$H_TMP"; fi
}
