# Scale-out with per-key order (relay.ordering = "key"): relays share the table by buckets while writers run.
# One relay is SIGKILLed, one SIGSTOPped past its lease and then resumed, a fourth joins, one stops with
# SIGTERM. After each change every bucket must be owned and the shares must be the fair ones (64 buckets over N
# live relays: they differ by at most one). Then the checker requires LOST 0 and REORDER 0 (first deliveries of
# each key in id order, across every owner change). STALE counts messages of a key carrying an older ownership
# epoch than one already delivered: a relay frozen with messages in its producer's queue sends them when it
# wakes, after its successor re-sent the same rows. They are always duplicates (STALE_FIRST must be 0), at most
# one batch per freeze, and a consumer drops them by the epoch header (README, "Scale-out"). Takeover times,
# from the fault to the fair shares, are printed and added to the figures.
ROUNDS=$(c_times 1 5)
t_db
for i in 1 2 3 4; do
	t_conf "$T_DIR/r$i.conf" "batch_size = 100; instance = \"r$i\"; epoch_header = \"outboxd-epoch\";"
done
t_install "$T_DIR/r1.conf"

declare -A PID
ha_start() { # name
	"$OUTBOXD" run -c "$T_DIR/$1.conf" >>"$T_DIR/$1.log" 2>&1 &
	PID[$1]=$!
	T_BG_PIDS="$T_BG_PIDS $!"
	t_wait_log "$T_DIR/$1.log" 'msg=relaying' 30 || { cat "$T_DIR/$1.log"; t_fail "relay $1 did not start"; }
}

# "name:buckets ..." of the relays holding bucket locks now, by name.
ha_shares() {
	t_sql "SELECT coalesce(string_agg(instance || ':' || n, ' ' ORDER BY instance), '') FROM
	  (SELECT r.instance, count(*) AS n FROM pg_locks l JOIN outbox_relays r ON r.pid = l.pid
	   WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND l.classid = 'outbox'::regclass
	   GROUP BY 1) s"
}

# The fair shares for these live relays: sorted by name, the first 64 % N get one more.
ha_fair() { # names...
	local n=$# q r i=0 out=
	q=$((64 / n)) r=$((64 % n))
	for name in $(printf '%s\n' "$@" | sort); do
		out="$out $name:$((q + (i < r ? 1 : 0)))"
		i=$((i + 1))
	done
	echo "${out# }"
}

# Waits up to 30 s for the fair shares; prints the milliseconds it took since $2 (ms since the epoch).
ha_shares_are() { [ "$(ha_shares)" = "$1" ]; }
ha_wait_fair() { # "names" since_ms what
	local want
	want=$(ha_fair $1)
	if t_wait_until 30 ha_shares_are "$want"; then
		echo $(($(date +%s%3N) - $2))
		return 0
	fi
	t_sql "SELECT * FROM outbox_relays" >&2
	for f in "$T_DIR"/r*.log; do
		echo "== $f" >&2
		grep -E 'bucket|membership|lease|heartbeat|level=(warn|error)' "$f" | tail -n 20 >&2
	done
	t_fail "$3: shares '$(ha_shares)', expected '$want' within 30 s"
}

c_backlog 3000 200
c_writers_start 100
for r in r1 r2 r3; do ha_start $r; done
ha_wait_fair "r1 r2 r3" "$(date +%s%3N)" "three relays" >/dev/null
live="r1 r2 r3"
# status names each relay and sums the buckets up per owner (the one holding their locks): shares of 22, 21, 21;
# --buckets adds each bucket's owner, epoch and lag.
"$OUTBOXD" status -c "$T_DIR/r1.conf" >"$T_DIR/status.out"
t_expect_grep "$T_DIR/status.out" '^relays: *3$'
t_expect_eq "$(grep -c '^  relay instance=r[123] .* session=alive' "$T_DIR/status.out")" 3 "live relays in status"
t_expect_eq "$(sed -n 's/^  owner=r[123] buckets=\([0-9]*\) .*/\1/p' "$T_DIR/status.out" | sort -n | tr '\n' ' ')" "21 21 22 " \
	"buckets per owner in status"
t_expect_eq "$(grep -c '^  bucket=' "$T_DIR/status.out")" 0 "bucket lines without --buckets"
"$OUTBOXD" status --buckets -c "$T_DIR/r1.conf" >"$T_DIR/status.out"
t_expect_eq "$(grep -c '^  bucket=.* owner=r[123] epoch=[1-9]' "$T_DIR/status.out")" 64 "buckets owned in status --buckets"
kill_ms= stop_ms=
for round in $(seq 1 "$ROUNDS"); do
	# Each fault lands while the relays drain a backlog, so it can hit one in the middle of a batch.
	c_backlog 20000 200 "bk$round-"
	sleep 0.$((RANDOM % 5 + 1))
	# SIGKILL: the session ends with the process, so its buckets are free at once; peers see it at their next
	# heartbeat.
	victim=${live%% *}
	t0=$(date +%s%3N)
	kill -KILL "${PID[$victim]}"
	wait "${PID[$victim]}" 2>/dev/null || true
	live=${live#"$victim "}
	ms=$(ha_wait_fair "$live" "$t0" "after SIGKILL of $victim")
	kill_ms="$kill_ms $ms"
	echo "round $round: SIGKILL $victim: fair shares after $ms ms"
	# SIGSTOP: the session lives on, holding the locks; a peer ends it once the heartbeat is lease_ttl_ms old.
	frozen=${live%% *}
	c_backlog 20000 200 "bs$round-"
	sleep 0.$((RANDOM % 5 + 1))
	t0=$(date +%s%3N)
	kill -STOP "${PID[$frozen]}"
	ms=$(ha_wait_fair "${live#"$frozen "}" "$t0" "after SIGSTOP of $frozen")
	stop_ms="$stop_ms $ms"
	echo "round $round: SIGSTOP $frozen: fair shares after $ms ms"
	sleep 1
	kill -CONT "${PID[$frozen]}"
	ha_wait_fair "$live" "$(date +%s%3N)" "after SIGCONT of $frozen" >/dev/null
	# The killed relay comes back (under its name), as systemd would restart it.
	ha_start "$victim"
	live="$live $victim"
	ha_wait_fair "$live" "$(date +%s%3N)" "after $victim restarted" >/dev/null
done
ha_start r4
live="$live r4"
ha_wait_fair "$live" "$(date +%s%3N)" "after r4 joined" >/dev/null
# SIGTERM: a clean stop leaves the membership and closes the session.
leaver=${live%% *}
kill -TERM "${PID[$leaver]}"
rc=0
wait "${PID[$leaver]}" || rc=$?
t_expect_eq "$rc" 0 "exit status of $leaver after SIGTERM"
live=${live#"$leaver "}
ha_wait_fair "$live" "$(date +%s%3N)" "after SIGTERM of $leaver" >/dev/null
t_expect_no_grep "$T_DIR/$leaver.log" 'level=error'
c_writers_stop

max_of() { printf '%s\n' "$@" | sort -n | tail -n 1; }
echo "figure: ha takeover after SIGKILL ms:$kill_ms (max $(max_of $kill_ms)); after SIGSTOP past the lease ms:$stop_ms (max $(max_of $stop_ms))" |
	tee -a "$CHAOS_TABLE.figures"
c_check_row "ha-3relays-x$ROUNDS" --epoch-header outboxd-epoch --max-dup 100000 --max-stale $((100 * ROUNDS))
for r in $live; do kill -TERM "${PID[$r]}"; done
for r in $live; do wait "${PID[$r]}" || t_fail "relay $r did not stop cleanly"; done
