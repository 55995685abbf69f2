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
. tests/harness/runner.sh
harness_start_all

run_report() { # name rc seconds log
	if [ "$2" = 0 ]; then
		printf 'PASS %-24s %3ss  %s\n' "$1" "$3" "$(grep -h '^checker:' "$4" | tail -n 1 | cut -c10-)"
	else
		printf 'FAIL %-24s %3ss\n' "$1" "$3"
		sed 's/^/    | /' "$4" | tail -n 60
	fi
}
run_each "${1:-}" "" tests/integration/common.sh tests/integration/t_*.sh
[ -n "${H_KAFKA_MOCK:-}" ] && echo "note: ran against librdkafka's mock cluster, not a real broker"
[ -n "$R_FAILED" ] && echo "failed:$R_FAILED"
echo "integration: $R_PASS passed, $R_FAIL failed"
[ "$R_FAIL" = 0 ]
