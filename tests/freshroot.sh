#!/usr/bin/env bash
# The fresh-root check: README's first command on a machine that has nothing. A minimal Debian 12 root made from
# Debian's packages alone (debootstrap --variant=minbase, plus git and make), the repository cloned into it, and
# `make demo` run there as root, as a new user would. It passes only if the demo relays its events (tests/demo.sh
# exits 1 otherwise). A machine used for a while hides missing install steps; this root hides none.
# Then the Debian package, each step in a root of its own so none is helped by another's packages:
#   build:   `apt-get build-dep ./` (so Build-Depends must be complete), `dpkg-buildpackage -us -uc -b`, lintian
#            (any E: fails the check);
#   install: `apt-get install ./outboxd_*.deb` on the bare root (so Depends must be complete), `outboxd --version`
#            (must match the package's version), `outboxd check-config` on the shipped config, the system user and
#            the files' modes, nothing running or enabled, and `systemd-analyze verify` on both units.
#
# The root's base is built once and kept as a tarball under $FRESHROOT_CACHE (/var/cache/outboxd-freshroot);
# each root is a new copy of it. Downloaded .deb files are kept there too (apt's own archive cache), which saves
# time and changes nothing about what is installed. Apt and Maven inside reach the same repositories as the host:
# its Debian sources, its apt access settings, its Maven settings and the CA certificates installed locally
# (/usr/local/share/ca-certificates: a site that inspects TLS has its CA there, as a new machine on that network
# would) are carried in; nothing else is.
#
# Needs root, debootstrap and unshare. Usage: tests/freshroot.sh [REPO]   (REPO: what to clone, default this one)
# FRESHROOT_DEMO_ONLY=1 stops after the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(cd "${1:-.}" && pwd)
cache=${FRESHROOT_CACHE:-/var/cache/outboxd-freshroot}
suite=bookworm
mirror=${FRESHROOT_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources \
	2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

say() { printf 'freshroot: %s\n' "$*"; }
die() { printf 'freshroot: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it builds and enters a chroot)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (make setup)"
command -v unshare >/dev/null || die "unshare is not installed (util-linux)"

t0=$(date +%s)
mkdir -p "$cache/archives/partial"
base=$cache/$suite-minbase.tar
if [ ! -f "$base" ]; then
	say "building the base root with debootstrap (once; kept in $base)"
	tmp=$(mktemp -d /var/tmp/outboxd-debootstrap.XXXXXX)
	debootstrap --variant=minbase --include=git,make "$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1 ||
		{ tail -n 30 "$tmp/log" >&2; rm -rf "$tmp"; die "debootstrap failed"; }
	tar -C "$tmp/root" -cf "$base.part" .
	mv "$base.part" "$base"
	rm -rf "$tmp"
fi


roots=
out=$(mktemp -d /var/tmp/outboxd-freshroot-out.XXXXXX) # the built .deb, from the build root to the install root
cleanup() { for r in $roots "$out"; do rm -rf --one-file-system "$r" "$r.log"; done; }
trap cleanup EXIT

# new_root: a new copy of the base, with what the host's apt and Maven reach (the Debian sources, main, updates,
# security; the apt settings that say how: proxies, validity of snapshot mirrors; the resolver; the Maven user
# settings; the locally installed CA certificates). Sets $root.
new_root() {
	root=$(mktemp -d /var/tmp/outboxd-freshroot.XXXXXX)
	roots="$roots $root"
	tar -C "$root" -xf "$base"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
		: >"$root/etc/apt/sources.list"
	fi
	grep -l '^[[:space:]]*Acquire::' /etc/apt/apt.conf.d/* 2>/dev/null | while read -r f; do
		cp "$f" "$root/etc/apt/apt.conf.d/"
	done
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	# ca-certificates, when apt installs it inside, adds these to the system's and Java's trust stores.
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
	mkdir -p "$root/root/.m2" "$root/mnt/origin" "$root/mnt/out"
	if [ -f "$HOME/.m2/settings.xml" ]; then cp "$HOME/.m2/settings.xml" "$root/root/.m2/"; fi
}

# enter WHAT: runs $root/root/steps.sh as root in $root, in a mount namespace of its own (and a pid namespace, so
# nothing started inside outlives it): /proc, /dev and /dev/shm for PostgreSQL and the JVM, the repository
# read-only, apt's download cache, the package directory. CI=true: the demo must use the real Kafka broker.
# Output goes to the terminal and to $root.log; returns the steps' status.
enter() {
	say "$1"
	set +e
	unshare --mount --pid --fork --kill-child -- bash -euo pipefail -c '
		root=$1 repo=$2 cache=$3 out=$4
		mount --make-rprivate /
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs -o mode=1777,size=512m tmpfs "$root/dev/shm"
		mount --bind -o ro "$repo" "$root/mnt/origin"
		mount --bind "$cache/archives" "$root/var/cache/apt/archives"
		mount --bind "$out" "$root/mnt/out"
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI=true \
			DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			bash -euo pipefail /root/steps.sh </dev/null
	' freshroot "$root" "$repo" "$cache" "$out" 2>&1 | tee "$root.log"
	local rc=${PIPESTATUS[0]}
	set -e
	return "$rc"
}

finish() { # rc what-failed
	say "$([ "$1" = 0 ] && echo passed || echo "FAILED: $2") in $(($(date +%s) - t0)) s"
	exit "$1"
}

# 1. The steps a new user takes.
new_root
cat >"$root/root/steps.sh" <<'STEPS'
cd /root
git clone -q /mnt/origin outboxd
cd outboxd
echo "freshroot: cloned $(git log -1 --format='%h %s')"
start=$(date +%s)
make demo
echo "freshroot: make demo took $(($(date +%s) - start)) s (set-up included)"
STEPS
enter "running the README's 'make demo' inside" || finish 1 "make demo"
grep -q '^demo: every committed event was delivered' "$root.log" || finish 1 "the demo did not deliver"
[ -z "${FRESHROOT_DEMO_ONLY:-}" ] || finish 0 ""

# 2. The package, built on a root that has only what its Build-Depends bring.
new_root
cat >"$root/root/steps.sh" <<'STEPS'
cd /root
git clone -q /mnt/origin outboxd
cd outboxd
apt-get update -q >/dev/null
apt-get build-dep -y -q ./ >/tmp/build-dep.log || { tail -n 20 /tmp/build-dep.log; exit 1; }
apt-get install -y -q --no-install-recommends lintian >/tmp/lintian-install.log ||
	{ tail -n 20 /tmp/lintian-install.log; exit 1; }
dpkg-buildpackage -us -uc -b >/tmp/dpkg-buildpackage.log 2>&1 || { tail -n 40 /tmp/dpkg-buildpackage.log; exit 1; }
cd /root
ls outboxd_*.deb
lintian --display-info outboxd_*.changes >/tmp/lintian.out 2>&1 || true
grep -v 'running with root privileges' /tmp/lintian.out || true
echo "freshroot: lintian: $(grep -c '^E:' /tmp/lintian.out) errors," \
	"$(grep -c '^W:' /tmp/lintian.out) warnings, $(grep -c '^I:' /tmp/lintian.out) info"
if grep -q '^E:' /tmp/lintian.out; then exit 1; fi
cp outboxd_*_*.deb /mnt/out/
rm -f /mnt/out/outboxd-dbgsym_*.deb
STEPS
enter "building the Debian package inside a second root" || finish 1 "the package's build"

# 3. The package, installed on a bare root.
new_root
cat >"$root/root/steps.sh" <<'STEPS'
cd /root
cp /mnt/out/outboxd_*.deb .
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends ./outboxd_*.deb >/tmp/install.log || { tail -n 20 /tmp/install.log; exit 1; }
want=$(dpkg-deb -f outboxd_*.deb Version)
outboxd --version
outboxd --version | grep -q "^outboxd $want " || { echo "the binary's version is not the package's ($want)"; exit 1; }
outboxd check-config -c /etc/outboxd/outboxd.conf >/dev/null
echo "freshroot: check-config accepts the shipped /etc/outboxd/outboxd.conf"
getent passwd outboxd
[ "$(stat -c '%U:%G %a' /etc/outboxd/outboxd.conf)" = "root:outboxd 640" ] || { stat /etc/outboxd/outboxd.conf; exit 1; }
[ "$(stat -c '%U %a' /etc/outboxd/pgpass)" = "root 600" ] || { stat /etc/outboxd/pgpass; exit 1; }
if grep -qx outboxd /proc/[0-9]*/comm 2>/dev/null; then echo "outboxd runs after installing"; exit 1; fi
# systemd for systemd-analyze, man-db so that verify finds the Documentation= pages where the package put them.
apt-get install -y -q --no-install-recommends systemd man-db >/tmp/systemd.log || { tail -n 20 /tmp/systemd.log; exit 1; }
for u in outboxd.service outboxd@.service; do
	if [ "$(systemctl is-enabled "$u" 2>&1)" = enabled ]; then echo "$u is enabled by installing"; exit 1; fi
	systemd-analyze verify "/lib/systemd/system/$u"
	echo "freshroot: systemd-analyze verify $u: ok"
done
echo "freshroot: the package installs, and nothing runs until enabled"
STEPS
enter "installing the package on a third root" || finish 1 "the package's install"
finish 0 ""
