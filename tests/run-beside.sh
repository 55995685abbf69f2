#!/usr/bin/env bash
# Runs two suites at once, each with a harness of its own (its own PostgreSQL and broker on free ports): BESIDE in
# the background, its output kept and printed once both ended, and MAIN in the foreground. For make check, where
# the sanitized pass runs beside the fault suite, which mostly waits on the faults it injects: CI's minutes are
# counted. Fails if either failed. Usage: run-beside.sh "BESIDE COMMAND" MAIN COMMAND...
set -u
beside=$1
shift
log=$(mktemp /tmp/outboxd-beside.XXXXXX)
bash -c "$beside" >"$log" 2>&1 &
pid=$!
main_rc=0
"$@" || main_rc=$?
beside_rc=0
wait "$pid" || beside_rc=$?
echo
echo "== beside the fault suite: $beside (exit $beside_rc)"
cat "$log"
rm -f "$log"
[ "$main_rc" = 0 ] && [ "$beside_rc" = 0 ]
