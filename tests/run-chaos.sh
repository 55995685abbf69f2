#!/usr/bin/env bash
# The fault-injection suite: each tests/chaos/c_*.sh breaks something on purpose while the real daemon relays
# between the real PostgreSQL and Kafka (or librdkafka's mock cluster, for faults only it can inject), then the
# independent checker counts what arrived. Prints one table row per checked scenario.
# CHAOS_LONG=1 (make chaos) runs the long form; CHAOS_MODES below. Usage: OUTBOXD=... FAULT_OUTBOXD=... TOOLS=... run-chaos.sh [FILTER]
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}" "${FAULT_OUTBOXD:?}" "${TOOLS:?}"
export OUTBOXD FAULT_OUTBOXD TOOLS CHAOS_LONG="${CHAOS_LONG:-}"
export H_BUILD=${H_BUILD:-$PWD/build}
. tests/harness/lib.sh
. tests/harness/runner.sh
harness_start_all
[ -z "${H_KAFKA_MOCK:-}" ] || echo "note: no real broker: the scenarios that need one are skipped"
export CHAOS_TABLE=$H_TMP/chaos-table
: >"$CHAOS_TABLE"
: >"$CHAOS_TABLE.figures"

run_report() { # name rc seconds log
	if [ "$2" = 0 ]; then
		printf 'PASS %-22s %4ss\n' "$1${T_ON_SENT:+@$T_ON_SENT}" "$3"
	else
		printf 'FAIL %-22s %4ss\n' "$1${T_ON_SENT:+@$T_ON_SENT}" "$3"
		sed 's/^/    | /' "$4" | tail -n 40
		# A scenario that failed before its checker ran still gets a row.
		[ "$(wc -l <"$CHAOS_TABLE")" != "$rows_before" ] || echo "$1 - - - - - - - FAIL" >>"$CHAOS_TABLE"
	fi
	rows_before=$(wc -l <"$CHAOS_TABLE")
}
rows_before=0
# CHAOS_MODES: the relay.on_sent modes to run. "keep" (schema version 7) runs the scenarios again, each row named
# scenario@keep, all but ha (its subject is the buckets, which keep does not use: one relay delivers at a time);
# CHAOS_KEEP lists them. In the short form some run fewer cases in the keep pass (c_case).
CHAOS_MODES=${CHAOS_MODES:-mark keep}
CHAOS_KEEP=${CHAOS_KEEP:-sigkill sigterm crash_steps commit_cut pg_faults mock_faults kafka_outage poison disk_full kafka_disk_full pg_failover partition kafka_cluster nemesis ha_none}
case " $CHAOS_MODES " in *" mark "*)
	run_each "${1:-}" c_ "tests/integration/common.sh tests/chaos/lib.sh" tests/chaos/c_*.sh ;;
esac
case " $CHAOS_MODES " in *" keep "*)
	T_ON_SENT=keep
	for k in $CHAOS_KEEP; do
		run_each "${1:-}" c_ "tests/integration/common.sh tests/chaos/lib.sh" "tests/chaos/c_$k.sh"
	done
	T_ON_SENT= ;;
esac
echo
printf '%-28s %8s %5s %6s %8s %6s %8s %10s  %s\n' scenario events LOST DUP REORDER STALE PHANTOM UNDRAINED result
while read -r sc ev lo du re st ph un res; do
	printf '%-28s %8s %5s %6s %8s %6s %8s %10s  %s\n' "$sc" "$ev" "$lo" "$du" "$re" "$st" "$ph" "$un" "$res"
done <"$CHAOS_TABLE"
cat "$CHAOS_TABLE.figures"
echo "chaos: $R_PASS passed, $R_FAIL failed"
[ "$R_FAIL" = 0 ]
