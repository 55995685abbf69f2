# A crash (SIGKILL from a test-only hook in build/fault/outboxd, see include/fault.h) at each step of a batch: after the claim, after
# produce, after some delivery reports, before COMMIT, after COMMIT. Then a normal relay drains. LOST 0 always;
# DUP 0 when the crash precedes produce (and after COMMIT, when everything was marked); otherwise at most a batch.
BATCH=100
for point in after_claim after_produce after_some_reports before_commit after_commit; do
	t_db "crash_$point"
	T_TOPIC=crash-$point-$RANDOM
	t_conf "$T_DIR/$point.conf" "batch_size = $BATCH;"
	t_install "$T_DIR/$point.conf"
	c_backlog 1000 50
	rc=0
	# The third batch, or the 250th delivery report (in the third batch, with reports still outstanding).
	nth=3
	[ $point = after_some_reports ] && nth=250
	OUTBOXD_FAULT="$point:$nth" timeout 60 "$FAULT_OUTBOXD" run -c "$T_DIR/$point.conf" >"$T_DIR/$point-crash.log" 2>&1 || rc=$?
	t_expect_eq "$rc" 137 "exit status of the relay crashing at $point (killed by SIGKILL)"
	echo "$point: $(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") rows marked sent before the crash"
	case $point in after_claim | after_commit) maxdup=0 ;; *) maxdup=$BATCH ;; esac
	t_start_relay "$T_DIR/$point.conf" "$T_DIR/$point-drain.log"
	c_check_row "crash-$point" --max-dup $maxdup
	t_stop_relay
	t_expect_eq "$T_STOP_RC" 0 "relay exit status"
done
