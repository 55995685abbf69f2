# A crash (SIGKILL from a test-only hook in build/fault/outboxd, see include/fault.h) at each step of a
# transaction: after the claim, after produce, after some delivery reports, before COMMIT, after COMMIT. Then a
# normal relay drains. LOST 0 always. With one batch per transaction: DUP 0 when the crash precedes produce (and
# after COMMIT, when everything was marked), otherwise at most the batch. With a chain of C_CHAIN batches (the
# default), the crash lands in its third batch: DUP at most the chain's batches, 0 after COMMIT.
BATCH=100
for chain in 1 "$C_CHAIN"; do
	for point in after_claim after_produce after_some_reports before_commit after_commit; do
		name=$point-x$chain
		t_db "crash_${point}_$chain"
		T_TOPIC=crash-$name-$RANDOM
		t_conf "$T_DIR/$name.conf" "batch_size = $BATCH; batches_per_commit = $chain;"
		t_install "$T_DIR/$name.conf"
		c_backlog 1000 50
		rc=0
		# The third batch, or the 250th delivery report (in the third batch, with reports still outstanding);
		# before_commit and after_commit count transactions.
		nth=3
		[ $point = after_some_reports ] && nth=250
		[ "$chain" != 1 ] && { [ $point = before_commit ] || [ $point = after_commit ]; } && nth=1
		OUTBOXD_FAULT="$point:$nth" timeout 60 "$FAULT_OUTBOXD" run -c "$T_DIR/$name.conf" >"$T_DIR/$name-crash.log" 2>&1 || rc=$?
		t_expect_eq "$rc" 137 "exit status of the relay crashing at $point (killed by SIGKILL)"
		echo "$name: $(t_sql "$(t_delivered_sql)") rows marked sent before the crash"
		case $point-$chain in
		after_claim-1 | after_commit-*) maxdup=0 ;;
		*) maxdup=$((chain * BATCH)) ;;
		esac
		t_start_relay "$T_DIR/$name.conf" "$T_DIR/$name-drain.log"
		c_check_row "crash-$name" --max-dup $maxdup
		t_stop_relay
		t_expect_eq "$T_STOP_RC" 0 "relay exit status"
	done
done
