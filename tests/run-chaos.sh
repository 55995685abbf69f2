#!/usr/bin/env bash
# The fault-injection suite: each tests/chaos/c_*.sh breaks something on purpose while the real daemon relays
# between the real PostgreSQL and Kafka (or librdkafka's mock cluster, for faults only it can inject), then the
# independent checker counts what arrived. Prints one table row per checked scenario.
# CHAOS_LONG=1 (make chaos) runs the long form. Usage: OUTBOXD=... FAULT_OUTBOXD=... TOOLS=... run-chaos.sh [FILTER]
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}" "${FAULT_OUTBOXD:?}" "${TOOLS:?}"
export OUTBOXD FAULT_OUTBOXD TOOLS CHAOS_LONG="${CHAOS_LONG:-}"
export H_BUILD=${H_BUILD:-$PWD/build}
. tests/harness/lib.sh
harness_start_all
[ -z "${H_KAFKA_MOCK:-}" ] || echo "note: no real broker: the scenarios that need one are skipped"
export CHAOS_TABLE=$H_TMP/chaos-table
: >"$CHAOS_TABLE"
: >"$CHAOS_TABLE.figures"

pass=0
fail=0
for t in tests/chaos/c_*.sh; do
	name=$(basename "$t" .sh)
	name=${name#c_}
	case "$name" in *"${1:-}"*) ;; *) continue ;; esac
	log=$H_TMP/chaos-$name.log
	start=$(date +%s)
	rows_before=$(wc -l <"$CHAOS_TABLE")
	# A plain command, not an `if` condition or an operand of || or &&: bash ignores set -e inside those, and
	# every failing command must fail the scenario.
	(set -e; . tests/integration/common.sh; . tests/chaos/lib.sh; . "$t") >"$log" 2>&1
	rc=$?
	harness_ensure_kafka
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-22s %4ss\n' "$name" $(($(date +%s) - start))
	else
		fail=$((fail + 1))
		printf 'FAIL %-22s %4ss\n' "$name" $(($(date +%s) - start))
		sed 's/^/    | /' "$log" | tail -n 40
		[ "$(wc -l <"$CHAOS_TABLE")" != "$rows_before" ] || echo "$name - - - - - - - FAIL" >>"$CHAOS_TABLE"
	fi
done
echo
printf '%-28s %8s %5s %6s %8s %6s %8s %10s  %s\n' scenario events LOST DUP REORDER STALE PHANTOM UNDRAINED result
while read -r sc ev lo du re st ph un res; do
	printf '%-28s %8s %5s %6s %8s %6s %8s %10s  %s\n' "$sc" "$ev" "$lo" "$du" "$re" "$st" "$ph" "$un" "$res"
done <"$CHAOS_TABLE"
cat "$CHAOS_TABLE.figures"
echo "chaos: $pass passed, $fail failed"
[ "$fail" = 0 ]
