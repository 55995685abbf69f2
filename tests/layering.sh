#!/usr/bin/env bash
# The house's rules, checked by reading includes and grepping (make check runs it):
#  1. a module includes only modules on its own floor or below, never one above (the floors are listed here);
#  2. library-like modules (config, pg*, kafka, batch, message, schema, backoff, clock) never exit and never
#     print: they return a result and fill the caller's error buffer, and main, commands or relay decide what is
#     fatal and what is said. (log prints, as its job; signals leaves at once on a second SIGTERM, from its handler,
#     where nothing else may run.)
# Prints each breach as FILE: what; exits 1 if there is one.
set -u
cd "$(dirname "$0")/.."

floor_of() {
	case "$1" in
	version | clock | log | fault | kafka_defaults | backoff | message | batch | schema | signals | service | cli) echo 0 ;;
	config | config_*) echo 1 ;;
	pg | pg_* | kafka) echo 2 ;;
	owner | stats | metrics | delivery) echo 3 ;;
	relay) echo 4 ;;
	commands) echo 5 ;;
	main) echo 6 ;;
	*) echo unknown ;;
	esac
}

library_like() { case "$1" in config | config_* | pg | pg_* | kafka | batch | message | schema | backoff | clock) return 0 ;; esac; return 1; }

bad=0
breach() { echo "layering: $1: $2"; bad=1; }

for f in src/*.c src/*.h include/*.h; do
	mod=$(basename "$f")
	mod=${mod%.*}
	mod=${mod%_private}
	floor=$(floor_of "$mod")
	[ "$floor" = unknown ] && { breach "$f" "no floor: add the module to tests/layering.sh"; continue; }
	for inc in $(sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$f"); do
		inc=${inc%_private}
		want=$(floor_of "$inc")
		[ "$want" = unknown ] && { breach "$f" "includes $inc.h, which has no floor"; continue; }
		[ "$want" -gt "$floor" ] && breach "$f" "includes $inc.h (floor $want) from floor $floor"
	done
	if library_like "$mod" && [ "${f%.c}" != "$f" ]; then
		# Comments and strings aside, no exit and no printing to stdout or stderr.
		grep -nE '\b(exit|_exit|abort)\(|\b(printf|puts|putchar|perror)\(|f(printf|puts)\([^;]*\b(stdout|stderr)\b' "$f" |
			grep -vE '^\s*[0-9]+:\s*(/\*|\*)' | while read -r line; do
			echo "layering: $f: a library-like module must not exit or print: $line"
		done | grep . && bad=1
	fi
done
[ "$bad" = 0 ] && echo "layering: every module includes only its floor and below; library-like modules neither exit nor print"
exit "$bad"
