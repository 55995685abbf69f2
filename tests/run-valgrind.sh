#!/usr/bin/env bash
# The unit tests again under valgrind's memcheck: any error or definite leak fails.
set -u
if ! command -v valgrind >/dev/null; then
	if [ "${CI:-}" = true ]; then echo "valgrind: not installed (required under CI)"; exit 1; fi
	echo "valgrind: not installed, skipped"
	exit 0
fi
pass=0 fail=0
for t in "$@"; do
	if valgrind -q --suppressions=tests/valgrind.supp --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t" >/dev/null 2>"$t.valgrind"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL (valgrind) $t"
		tail -n 40 "$t.valgrind"
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" = 0 ]
