# The test runners' one loop (sourced by tests/run-integration.sh and tests/run-chaos.sh, after lib.sh): each
# script runs in a subshell of its own with set -e, after the helpers it needs, its output in a log; the broker is
# started again if a script left it stopped; the runner's run_report prints the outcome.
#
#   run_each FILTER PREFIX "HELPERS..." SCRIPT...
# runs each SCRIPT whose name, less .sh and PREFIX, contains FILTER. For each, $name is that name (the helpers
# name the test's database and topic after it) and run_report is called as: run_report NAME RC SECONDS LOG.
# Totals: R_PASS, R_FAIL, R_FAILED (the names that failed).
R_PASS=0
R_FAIL=0
R_FAILED=

run_each() {
	local filter=$1 prefix=$2 helpers=$3 t log start rc
	shift 3
	for t in "$@"; do
		name=$(basename "$t" .sh)
		name=${name#"$prefix"}
		case "$name" in *"$filter"*) ;; *) continue ;; esac
		log=$H_TMP/$prefix$name.log
		start=$(date +%s)
		# A plain command, not an `if` condition or an operand of || or &&: bash ignores set -e inside those,
		# and every failing command must fail the test.
		(
			set -e
			for h in $helpers; do . "$h"; done
			. "$t"
		) >"$log" 2>&1
		rc=$?
		harness_ensure_kafka
		if [ "$rc" = 0 ]; then R_PASS=$((R_PASS + 1)); else R_FAIL=$((R_FAIL + 1)) R_FAILED="$R_FAILED $name"; fi
		run_report "$name" "$rc" $(($(date +%s) - start)) "$log"
	done
}
