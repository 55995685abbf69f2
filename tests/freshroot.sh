#!/usr/bin/env bash
# The fresh-root check: README's first command on a machine that has nothing. A minimal Debian 12 root made from
# Debian's packages alone (debootstrap --variant=minbase, plus git and make), the repository cloned into it, and
# `make demo` run there as root, as a new user would. It passes only if the demo relays its events (tests/demo.sh
# exits 1 otherwise). A machine used for a while hides missing install steps; this root hides none.
#
# The root's base is built once and kept as a tarball under $FRESHROOT_CACHE (/var/cache/outboxd-freshroot);
# each run unpacks a new copy. Downloaded .deb files are kept there too (apt's own archive cache), which saves
# time and changes nothing about what is installed. Apt and Maven inside reach the same repositories as the host:
# its Debian sources, its apt access settings, its Maven settings and the CA certificates installed locally
# (/usr/local/share/ca-certificates: a site that inspects TLS has its CA there, as a new machine on that network
# would) are carried in; nothing else is.
#
# Needs root, debootstrap and unshare. Usage: tests/freshroot.sh [REPO]   (REPO: what to clone, default this one)
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

root=$(mktemp -d /var/tmp/outboxd-freshroot.XXXXXX)
cleanup() { rm -rf --one-file-system "$root"; }
trap cleanup EXIT
tar -C "$root" -xf "$base"
say "root unpacked in $root ($(($(date +%s) - t0)) s since start)"

# What the host's apt and Maven reach, the root reaches: the Debian sources (main, updates, security), the apt
# settings that say how (proxies, validity of snapshot mirrors), the resolver, the Maven user settings.
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
mkdir -p "$root/root/.m2" "$root/mnt/origin"
[ -f "$HOME/.m2/settings.xml" ] && cp "$HOME/.m2/settings.xml" "$root/root/.m2/"

# The steps a new user takes, as root in the new root. CI=true: the demo must use the real Kafka broker.
cat >"$root/root/steps.sh" <<'EOF'
set -eu
cd /root
git clone -q /mnt/origin outboxd
cd outboxd
echo "freshroot: cloned $(git log -1 --format='%h %s')"
start=$(date +%s)
make demo
echo "freshroot: make demo took $(($(date +%s) - start)) s (set-up included)"
EOF

# A mount namespace of our own (and a pid namespace, so nothing started inside outlives the check): /proc, /dev
# and /dev/shm for PostgreSQL and the JVM, the repository read-only, apt's download cache.
say "running the README's 'make demo' inside"
set +e
unshare --mount --pid --fork --kill-child -- bash -euo pipefail -c '
	root=$1 repo=$2 cache=$3
	mount --make-rprivate /
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o mode=1777,size=512m tmpfs "$root/dev/shm"
	mount --bind -o ro "$repo" "$root/mnt/origin"
	mount --bind "$cache/archives" "$root/var/cache/apt/archives"
	exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI=true \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash /root/steps.sh </dev/null
' freshroot "$root" "$repo" "$cache" 2>&1 | tee "$root.log"
rc=${PIPESTATUS[0]}
set -e
grep -q '^demo: every committed event was delivered' "$root.log" || rc=1
say "$([ "$rc" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0)) s"
rm -f "$root.log"
exit "$rc"
