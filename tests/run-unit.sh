#!/usr/bin/env bash
# Runs each cmocka test binary given; prints cmocka's own summary lines and a closing total.
set -u
pass=0 fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $t"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
