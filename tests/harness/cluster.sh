# A replicated Kafka cluster on loopback for the production-topology scenarios (sourced after lib.sh): one KRaft
# controller (a quorum of one, so that losing brokers never costs the metadata quorum) and three brokers, from
# the same Maven jars as the single broker. Topics are created with replication factor 3 and
# min.insync.replicas=2, unclean leader election off: two brokers down means NOT_ENOUGH_REPLICAS for acks=all.
# The controller fences a broker whose heartbeats stop for 4 s; a follower that stops fetching for 4 s leaves
# the ISR. Small heaps (256 MB each), so the four JVMs fit beside everything else.
#
#   cluster_start                 formats and starts all four; sets CL_BROKERS (bootstrap list of the three)
#   cluster_kill N / cluster_stop N / cluster_pause N / cluster_resume N / cluster_launch N
#                                 SIGKILL, controlled shutdown (SIGTERM, waits), SIGSTOP, SIGCONT, start again
#   cluster_leader TOPIC PART     the broker id leading a partition (from metadata, through a live broker)
#   cluster_wait_isr TOPIC N S    waits up to S seconds until every partition of TOPIC has N in-sync replicas
#   cluster_stop_all              stops everything (also on the caller's exit, through CL_PIDS in T_BG_PIDS)

cluster_node_dir() { echo "$CL_DIR/node$1"; }

cluster_write_props() { # id roles
	local d
	d=$(cluster_node_dir "$1")
	mkdir -p "$d/data"
	{
		echo "process.roles=$2"
		echo "node.id=$1"
		echo "controller.quorum.voters=100@127.0.0.1:$CL_CPORT"
		echo "controller.listener.names=CONTROLLER"
		if [ "$2" = controller ]; then
			echo "listeners=CONTROLLER://127.0.0.1:$CL_CPORT"
			echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT"
			echo "broker.session.timeout.ms=4000"
			echo "broker.heartbeat.interval.ms=500"
		else
			echo "listeners=PLAINTEXT://127.0.0.1:${CL_PORT[$1]}"
			echo "advertised.listeners=PLAINTEXT://127.0.0.1:${CL_PORT[$1]}"
			echo "inter.broker.listener.name=PLAINTEXT"
			echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
			echo "broker.heartbeat.interval.ms=500"
			echo "replica.lag.time.max.ms=4000"
			echo "default.replication.factor=3"
			echo "min.insync.replicas=2"
			echo "unclean.leader.election.enable=false"
			echo "num.partitions=4"
			echo "auto.create.topics.enable=true"
			echo "offsets.topic.replication.factor=3"
			echo "offsets.topic.num.partitions=1"
			echo "transaction.state.log.replication.factor=3"
			echo "transaction.state.log.min.isr=2"
			echo "transaction.state.log.num.partitions=1"
			echo "share.coordinator.state.topic.replication.factor=3"
			echo "share.coordinator.state.topic.min.isr=2"
			echo "group.initial.rebalance.delay.ms=0"
			echo "num.network.threads=1"
			echo "num.io.threads=2"
			echo "num.replica.fetchers=1"
			echo "log.cleaner.dedupe.buffer.size=16777216"
		fi
		echo "log.dirs=$d/data"
	} >"$d/server.properties"
	# The harness's single broker's logging, quieter.
	sed 's/^rootLogger.level = info/rootLogger.level = warn/' "$H_KAFKA_DIR/log4j2.properties" >"$d/log4j2.properties"
}

# Starts node id with the harness's own launcher (h_kafka_launch), smaller heaps; brokers are waited for.
cluster_launch() { # id
	local d
	d=$(cluster_node_dir "$1")
	H_KAFKA_DIR=$d H_KAFKA_JVM_OPTS="-Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" h_kafka_launch
	T_BG_PIDS="$T_BG_PIDS $(cat "$d/pid")"
	[ "$1" = 100 ] && return 0
	t_wait_until 90 h_kafka_up_or_gone "${CL_PORT[$1]}" "$(cat "$d/pid")" && h_port_open "${CL_PORT[$1]}" ||
		{ tail -n 30 "$d/broker.log"; t_fail "broker $1 did not start"; }
}

cluster_pid() { cat "$(cluster_node_dir "$1")/pid"; }

cluster_start() {
	local cid n cp="$H_BUILD/kafka/lib/*"
	[ -z "${H_KAFKA_MOCK:-}" ] || t_fail "the cluster needs the real broker's jars"
	CL_DIR=$T_DIR/cluster
	rm -rf "$CL_DIR"
	declare -g -A CL_PORT
	CL_CPORT=$(h_free_port)
	for n in 1 2 3; do
		CL_PORT[$n]=$(h_free_port)
	done
	cid=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
	cluster_write_props 100 controller
	for n in 1 2 3; do cluster_write_props "$n" broker; done
	for n in 100 1 2 3; do
		java -Xmx128m -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$(cluster_node_dir $n)/server.properties" \
			>"$(cluster_node_dir $n)/format.log" 2>&1 || { cat "$(cluster_node_dir $n)/format.log"; t_fail "format node $n"; }
	done
	cluster_launch 100
	h_wait_port "$CL_CPORT" 60 || { tail -n 30 "$(cluster_node_dir 100)/broker.log"; t_fail "controller did not start"; }
	for n in 1 2 3; do cluster_launch "$n"; done
	CL_BROKERS="127.0.0.1:${CL_PORT[1]},127.0.0.1:${CL_PORT[2]},127.0.0.1:${CL_PORT[3]}"
	echo "cluster: controller 127.0.0.1:$CL_CPORT, brokers $CL_BROKERS"
}

cluster_kill() { kill -KILL "$(cluster_pid "$1")"; t_wait_until 10 h_gone "$(cluster_pid "$1")" || true; }
cluster_pause() { kill -STOP "$(cluster_pid "$1")"; }
cluster_resume() { kill -CONT "$(cluster_pid "$1")"; }

# Controlled shutdown: the broker hands its leaderships over before it exits.
cluster_stop() {
	kill -TERM "$(cluster_pid "$1")"
	t_wait_until 60 h_gone "$(cluster_pid "$1")" || { kill -KILL "$(cluster_pid "$1")"; t_fail "broker $1 did not stop in 60 s"; }
}

cluster_stop_all() {
	local n
	for n in 1 2 3 100; do
		[ -f "$(cluster_node_dir $n)/pid" ] || continue
		kill -CONT "$(cluster_pid $n)" 2>/dev/null || true
		kill -TERM "$(cluster_pid $n)" 2>/dev/null || true
	done
	for n in 1 2 3 100; do
		[ -f "$(cluster_node_dir $n)/pid" ] || continue
		t_wait_until 30 h_gone "$(cluster_pid $n)" || kill -KILL "$(cluster_pid $n)" 2>/dev/null || true
	done
}

# kcat's metadata lines: "    partition 0, leader 2, replicas: 2,3,1, isrs: 2,3,1"
cluster_metadata() { kcat -L -m 5 -b "$CL_BROKERS" -t "$1" 2>/dev/null | grep -E '^ +partition '; }

cluster_leader() { # topic partition
	cluster_metadata "$1" | sed -n "s/^ *partition $2, leader \([0-9-]*\),.*/\1/p"
}

cluster_isr_ok() { # topic n
	local md
	md=$(cluster_metadata "$1")
	[ -n "$md" ] || return 1
	! echo "$md" | awk -v n="$2" '{ sub(/.*isrs: /, ""); if (split($0, a, ",") != n) bad = 1 } END { exit !bad }'
}

cluster_wait_isr() { t_wait_until "$3" cluster_isr_ok "$1" "$2"; } # topic n seconds
