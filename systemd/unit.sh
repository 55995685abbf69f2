#!/bin/sh
# Prints a unit from outboxd.service.in: `unit.sh BINDIR` gives outboxd.service, `unit.sh BINDIR @` the template
# outboxd@.service. Used by `make install`, the Debian package and t_systemd, so the two units cannot drift.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BINDIR [@]" >&2; exit 64; }
if [ "${2:-}" = @ ]; then conf=%i what=' (%i)'; else conf=outboxd what=; fi
sed -e "s|@BINDIR@|$1|g" -e "s|@CONF@|$conf|g" -e "s|@WHAT@|$what|g" "$(dirname "$0")/outboxd.service.in"
