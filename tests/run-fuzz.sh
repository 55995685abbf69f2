#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its checked-in seeds (tests/fuzz/corpus/NAME) and regression
# inputs (tests/fuzz/regress/NAME); new inputs it finds go to build/fuzz/corpus/NAME, crashes to build/fuzz/.
# Any crash, leak, timeout or out-of-memory fails. Usage: tests/run-fuzz.sh SECONDS NAME...
set -u
cd "$(dirname "$0")/.."
secs=$1
shift
if ! command -v clang >/dev/null; then
	if [ "${CI:-}" = true ]; then echo "fuzz: clang not installed (required under CI)"; exit 1; fi
	echo "fuzz: clang not installed, skipped (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
make --no-print-directory fuzz-build >build/fuzz-build.log 2>&1 || { cat build/fuzz-build.log; echo "fuzz: build failed"; exit 1; }
fail=0
printf '%-10s %12s %8s %s\n' target executions corpus result
for t in "$@"; do
	bin=build/fuzz/tests/fuzz_$t
	work=build/fuzz/corpus/$t
	log=build/fuzz/$t.log
	mkdir -p "$work" "tests/fuzz/regress/$t"
	rc=0
	# 2 GB and 10 s per input are far above what any input needs: hitting either is a finding.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/$t-" "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" \
		>"$log" 2>&1 </dev/null || rc=$?
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
	units=$(ls "$work" | wc -l)
	if [ "$rc" = 0 ]; then
		printf '%-10s %12s %8s %s\n' "$t" "${execs:-?}" "$units" ok
	else
		fail=$((fail + 1))
		printf '%-10s %12s %8s %s\n' "$t" "${execs:-?}" "$units" "FAILED (exit $rc)"
		grep -A30 -m1 'ERROR\|==ERROR\|runtime error\|Test unit written' "$log" | head -n 40
		ls build/fuzz/"$t"-* 2>/dev/null | sed 's/^/  reproducer: /'
	fi
done
echo "fuzz: $(($# - fail)) passed, $fail failed (${secs}s each)"
[ "$fail" = 0 ]
