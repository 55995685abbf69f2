#!/usr/bin/env bash
# Installs what building, `make check` and `make demo` need, from Debian packages. As root it installs what is
# missing; otherwise it prints the exact command to run and exits 1. Nothing is downloaded outside apt and Maven.
set -u

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

for p in gcc make pkg-config libpq-dev librdkafka-dev libconfig-dev libjansson-dev libsystemd-dev libcmocka-dev \
	libmicrohttpd-dev kcat curl valgrind clang libclang-rt-14-dev openssl systemd groff-base; do
	have_pkg "$p" || need+=("$p")
done
command -v psql >/dev/null || need+=(postgresql-client)
# The test harness runs its own throwaway server from these binaries.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# The real Kafka broker runs on Java 17+ with jars fetched by Maven.
jv=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
[ "${jv%%.*}" -ge 17 ] 2>/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)

if [ ${#need[@]} -eq 0 ]; then
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
sh -c "$cmd" </dev/null >/tmp/outboxd-setup.log 2>&1 || { tail -n 30 /tmp/outboxd-setup.log >&2; echo "setup: apt-get failed" >&2; exit 1; }
echo "setup: done"
