# A full disk under the broker's log directory: a broker of its own (the harness's launcher, in a temp dir of
# this scenario) with log.dirs on a 64 MB tmpfs, 1 KB events written steadily. A filler file leaves the broker a
# few MB; it fills them, gets "No space left on device", takes its only log directory offline and stops (Kafka
# halts a broker none of whose log directories is left). The relay's batches time out and are retried; it stays
# up, marks nothing while the broker is away, and logs the outage once (and its end as msg=recovered). The filler
# removed and the broker started again (as its service manager would), the relay delivers the rest: LOST 0,
# REORDER 0, DUP at most what was produced but not acknowledged.
[ "$(id -u)" = 0 ] || { [ "${CI:-}" != true ] && { echo "skipped: mounting a tmpfs needs root"; exit 0; }; t_fail "needs root"; }
[ -z "${H_KAFKA_MOCK:-}" ] || { echo "skipped: needs the real broker"; exit 0; }
KD=$T_DIR/klog
mkdir -p "$KD"
mount -t tmpfs -o size=64m tmpfs "$KD"
kdisk_cleanup() {
	local rc=$?
	set +e
	harness_stop_kafka
	umount "$KD" 2>/dev/null || umount -l "$KD"
	(exit "$rc")
	t_cleanup
}
trap kdisk_cleanup EXIT
# This broker's files under the scenario's directory; the harness's own broker is untouched (the runner's).
H_TMP=$T_DIR/broker
mkdir -p "$H_TMP"
H_KAFKA_LOG_DIR=$KD harness_start_kafka

t_db
t_conf "$T_DIR/o.conf" "batch_size = 100; delivery_timeout_ms = 5000; backoff_max_ms = 2000;"
t_install "$T_DIR/o.conf"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
# 1 KB events, 200 at a time, one statement after the other: each key's ids in commit order.
rm -f "$T_DIR/w.stop"
(
	n=0
	while [ ! -e "$T_DIR/w.stop" ]; do
		n=$((n + 1))
		t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k' || (g % 50), convert_to(repeat('x', 1000) || '$n.' || g, 'UTF8'))
			FROM generate_series(1, 200) g" >/dev/null
		sleep 0.2
	done
) &
WPID=$!
T_BG_PIDS="$T_BG_PIDS $WPID"
sleep 3
free_mb=$(df -m --output=avail "$KD" | tail -n 1)
dd if=/dev/zero of="$KD/filler" bs=1M count=$((free_mb - 4)) status=none 2>/dev/null || true
echo "filler: $((free_mb - 4)) MB; $(df -h "$KD" | tail -n 1)"
BPID=$(cat "$H_KAFKA_DIR/pid")
t_wait_until 60 h_gone "$BPID" || { tail -n 20 "$H_KAFKA_DIR/broker.log"; t_fail "the broker did not stop on a full log directory"; }
grep -m 1 -o 'No space left on device' "$H_KAFKA_DIR/broker.log" || { tail -n 30 "$H_KAFKA_DIR/broker.log"; t_fail "the broker stopped, but not for the full disk"; }
grep -m 1 -o 'Shutdown broker because all log dirs in [^ ]* have failed' "$H_KAFKA_DIR/broker.log" || true
sleep 7 # the batch produced last times out (delivery_timeout_ms 5 s)
before=$(t_sql "$(t_delivered_sql)")
sleep 10
kill -0 "$T_RELAY_PID" || t_fail "the relay exited while the broker was away"
t_expect_eq "$(t_sql "$(t_delivered_sql)")" "$before" "rows marked sent while the broker was away"
warned=$(grep -c 'level=warn' "$T_DIR/relay.log" || true)
echo "broker away: the relay logged $warned warn lines in all so far (librdkafka's own among them)"

rm -f "$KD/filler"
harness_resume_kafka
echo "broker started again: $(df -h "$KD" | tail -n 1)"
sleep 3
touch "$T_DIR/w.stop"
wait "$WPID" || true
c_drained_within 90
# The outage, logged once: one warn when it began (and one more if librdkafka's reason changed: the first batch
# times out, the next ones may be purged from the queue), its repeats at debug, and its end.
grep 'level=warn' "$T_DIR/relay.log" | grep 'batch not fully delivered' | sed 's/^ts=[^ ]* //' >"$T_DIR/outage.warns"
t_expect_eq "$(sort -u "$T_DIR/outage.warns" | wc -l)" "$(wc -l <"$T_DIR/outage.warns")" "a warn line repeated for the outage"
[ "$(wc -l <"$T_DIR/outage.warns")" -ge 1 ] && [ "$(wc -l <"$T_DIR/outage.warns")" -le 2 ] ||
	{ cat "$T_DIR/outage.warns"; t_fail "$(wc -l <"$T_DIR/outage.warns") warn lines for the outage, not 1 or 2"; }
t_expect_grep "$T_DIR/relay.log" 'msg=recovered after="batch not fully delivered, will retry"'
grep -m 1 'msg=recovered' "$T_DIR/relay.log"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
c_check_row "kafka-disk-full" --max-dup 20000
