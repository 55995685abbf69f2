#!/usr/bin/env bash
# Integration tests against a real PostgreSQL and a real Kafka broker started here (tests/harness/lib.sh).
# Each tests/integration/t_*.sh runs in a subshell with its own database and topics; a failing command fails it.
# Usage: OUTBOXD=build/outboxd TOOLS=build/tests tests/run-integration.sh [NAME-FILTER]
set -u
cd "$(dirname "$0")/.."
: "${OUTBOXD:?}" "${TOOLS:?}"
export OUTBOXD TOOLS
export H_BUILD=${H_BUILD:-$PWD/build}
. tests/harness/lib.sh
harness_start_all

pass=0
fail=0
failed=
for t in tests/integration/t_*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in *"${1:-}"*) ;; *) continue ;; esac
	log=$H_TMP/$name.log
	start=$(date +%s)
	# A plain command, not an `if` condition or an operand of || or &&: bash ignores set -e inside those, and
	# every failing command must fail the test.
	(set -e; . tests/integration/common.sh; . "$t") >"$log" 2>&1
	rc=$?
	harness_ensure_kafka
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-24s %3ss  %s\n' "$name" $(($(date +%s) - start)) "$(grep -h '^checker:' "$log" | tail -n 1 | cut -c10-)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		printf 'FAIL %-24s %3ss\n' "$name" $(($(date +%s) - start))
		sed 's/^/    | /' "$log" | tail -n 60
	fi
done
[ -n "${H_KAFKA_MOCK:-}" ] && echo "note: ran against librdkafka's mock cluster, not a real broker"
[ -n "$failed" ] && echo "failed:$failed"
echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
