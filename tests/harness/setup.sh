#!/usr/bin/env bash
# Installs what building, `make check` and `make demo` need, from Debian packages. As root it installs what is
# missing; otherwise it prints the exact command to run and exits 1. Nothing is downloaded outside apt and Maven.
#
#   setup.sh [check]         everything: make check, make bench
#   setup.sh demo            what make demo needs: the build, PostgreSQL, Java and Maven for the broker, kcat
#   setup.sh --check-build   installs nothing: names what the build lacks and how to get it (a plain `make`)
set -u

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# What the daemon is built from (the -dev packages carry the headers and the pkg-config files).
build=(gcc make pkgconf libpq-dev librdkafka-dev libconfig-dev libjansson-dev libsystemd-dev libmicrohttpd-dev)
# What the demo adds: kcat as its consumer (PostgreSQL, Java and Maven are checked below).
demo=(kcat)
# What the tests and the bench add: cmocka, curl for the metrics endpoint, valgrind, clang and its runtime for the
# fuzzers and LeakSanitizer, openssl and groff for TLS and man-page tests, systemd for systemd-analyze,
# debootstrap for the fresh-root check, jq for reading the shipped Grafana dashboard.
tests=(libcmocka-dev curl valgrind clang libclang-rt-14-dev openssl systemd groff-base ca-certificates debootstrap jq)

need=()
if [ "${1:-}" = --check-build ]; then
	if ! command -v dpkg-query >/dev/null; then
		# Not Debian: ask pkg-config, which is what the build asks.
		command -v pkg-config >/dev/null || { echo "outboxd: pkg-config is not installed" >&2; exit 1; }
		for m in libpq rdkafka libconfig jansson libsystemd libmicrohttpd; do
			pkg-config --exists "$m" || need+=("$m")
		done
		[ ${#need[@]} -eq 0 ] && exit 0
		echo "outboxd: missing libraries (pkg-config names): ${need[*]}; install their development packages" >&2
		exit 1
	fi
	for p in "${build[@]}"; do have_pkg "$p" || need+=("$p"); done
	[ ${#need[@]} -eq 0 ] && exit 0
	echo "outboxd: cannot build: missing ${need[*]}" >&2
	echo "  run 'make setup' as root (it installs them and what the tests need), or:" >&2
	echo "  sudo apt-get install --no-install-recommends ${need[*]}" >&2
	exit 1
fi

case "${1:-check}" in
demo) want=("${build[@]}" "${demo[@]}") ;;
check) want=("${build[@]}" "${demo[@]}" "${tests[@]}") ;;
*) echo "usage: setup.sh [check|demo|--check-build]" >&2; exit 64 ;;
esac
for p in "${want[@]}"; do
	have_pkg "$p" || need+=("$p")
done
# The test harness runs its own throwaway server from these binaries (and the psql client with it).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
# The real Kafka broker runs on Java 17+ with jars fetched by Maven.
jv=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
[ "${jv%%.*}" -ge 17 ] 2>/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)

# promtool checks examples/monitoring/. It comes only in Debian's prometheus package, and installing that would
# start a Prometheus server: unpack the package's promtool into $PROMTOOL_DIR instead (the tests look there).
PROMTOOL_DIR=${PROMTOOL_DIR:-/var/cache/outboxd/promtool}
unpack_promtool() {
	[ "${1:-check}" = check ] || return 0
	if command -v promtool >/dev/null || [ -x "$PROMTOOL_DIR/usr/bin/promtool" ]; then return 0; fi
	if [ "$(id -u)" != 0 ]; then
		echo "setup: promtool missing; run as root: make setup (it unpacks Debian's prometheus package into $PROMTOOL_DIR)" >&2
		return 1
	fi
	local tmp
	tmp=$(mktemp -d /tmp/outboxd-promtool.XXXXXX)
	echo "setup: unpacking promtool from Debian's prometheus package into $PROMTOOL_DIR"
	(cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && apt-get download -q prometheus >/dev/null; }) &&
		mkdir -p "$PROMTOOL_DIR" && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x" &&
		install -D -m 755 "$tmp/x/usr/bin/promtool" "$PROMTOOL_DIR/usr/bin/promtool"
	local rc=$?
	rm -rf "$tmp"
	[ $rc = 0 ] || echo "setup: could not unpack promtool" >&2
	return $rc
}

if [ ${#need[@]} -eq 0 ]; then
	unpack_promtool "${1:-check}" || exit 1
	echo "setup: all dependencies present"
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "setup: missing: ${need[*]} (Debian package names); install their equivalents and re-run" >&2
	exit 1
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${need[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "setup: missing packages; run:" >&2
	echo "  sudo sh -c '$cmd'" >&2
	exit 1
fi
echo "setup: installing ${need[*]}"
log=$(mktemp /tmp/outboxd-setup.XXXXXX)
sh -c "$cmd" </dev/null >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "setup: apt-get failed (log: $log)" >&2; exit 1; }
rm -f "$log"
unpack_promtool "${1:-check}" || exit 1
echo "setup: done"
