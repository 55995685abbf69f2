# The peer for make bench (workload 6), sourced by bench/run.sh: Debezium's PostgreSQL connector with its Outbox
# Event Router on Kafka Connect standalone, against the same PostgreSQL and broker. Jars from Maven Central
# (bench/debezium/pom.xml) into build/debezium/lib, once.
#
# dbz_fetch                  fetch the jars; non-zero when Maven cannot
# dbz_prepare                slot and publication, made before the backlog is written
# dbz_start / dbz_stop       the Connect JVM (stock connect-standalone.sh heap and GC settings)
# dbz_rss_kb                 its peak RSS so far

DBZ_LIB=$H_BUILD/debezium/lib
DBZ_PID=

dbz_fetch() {
	[ -f "$DBZ_LIB/.complete" ] && return 0
	command -v java >/dev/null && command -v mvn >/dev/null || return 1
	echo "bench: fetching Kafka Connect and Debezium jars with Maven (once)"
	mkdir -p "$DBZ_LIB"
	mvn -B -q -f bench/debezium/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$DBZ_LIB" >"$H_TMP/dbz-mvn.log" 2>&1 ||
		{ tail -n 20 "$H_TMP/dbz-mvn.log" >&2; return 1; }
	touch "$DBZ_LIB/.complete"
}

# Made by us rather than by the connector so that the slot exists before the backlog is written: Debezium then
# streams the backlog from the slot as it would after downtime, with no snapshot.
dbz_prepare() {
	psql -qtAX -v ON_ERROR_STOP=1 -d app -c "SELECT pg_create_logical_replication_slot('outboxd_bench', 'pgoutput')" \
		-c "CREATE PUBLICATION outboxd_bench FOR TABLE outbox" >/dev/null
}

dbz_start() {
	local d=$H_TMP/debezium
	mkdir -p "$d"
	sed "s|@BROKERS@|$H_KAFKA_BROKERS|; s|@DIR@|$d|; s|@REST_PORT@|$(h_free_port)|" \
		bench/debezium/worker.properties >"$d/worker.properties"
	sed "s|@PGPORT@|$PGPORT|; s|@PGPASSWORD@|$PGPASSWORD|" bench/debezium/connector.properties >"$d/connector.properties"
	java -Xms256M -Xmx2G -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$PWD/bench/debezium/log4j2.properties" -cp "$DBZ_LIB/*" \
		org.apache.kafka.connect.cli.ConnectStandalone "$d/worker.properties" "$d/connector.properties" \
		>"$d/connect.log" 2>&1 </dev/null &
	DBZ_PID=$!
}

dbz_rss_kb() {
	awk '/VmHWM/ {print $2}' "/proc/$DBZ_PID/status" 2>/dev/null || echo 0
}

dbz_stop() {
	local i
	[ -n "$DBZ_PID" ] || return 0
	kill -TERM "$DBZ_PID" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DBZ_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DBZ_PID" 2>/dev/null
	wait "$DBZ_PID" 2>/dev/null
	DBZ_PID=
	psql -qtAX -d app -c "SELECT pg_drop_replication_slot('outboxd_bench')" -c "DROP PUBLICATION outboxd_bench" \
		>/dev/null 2>&1
}
