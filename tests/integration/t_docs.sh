# The man pages: they render without groff warnings, outboxd.conf(5) describes every setting of the settings
# table in src/config.c, outboxd(8) every command of `outboxd --help`, and `make install` puts both in place.
for page in man/outboxd.8 man/outboxd.conf.5; do
	LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" >"$T_DIR/groff.out" 2>&1
	[ ! -s "$T_DIR/groff.out" ] || { cat "$T_DIR/groff.out"; t_fail "groff warnings in $page"; }
done
LC_ALL=C.UTF-8 groff -man -Tutf8 man/outboxd.conf.5 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' >"$T_DIR/conf.txt"
n=0
for name in $(sed -n 's/^\t{ "[a-z]*", "\([a-z_]*\)".*/\1/p' src/config.c); do
	grep -qE -- "^ {7}([a-z_]+, )*$name(,| |$)" "$T_DIR/conf.txt" || t_fail "outboxd.conf(5) does not describe $name"
	n=$((n + 1))
done
[ "$n" -ge 25 ] || t_fail "only $n settings found in src/config.c"
LC_ALL=C.UTF-8 groff -man -Tutf8 man/outboxd.8 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' >"$T_DIR/outboxd.txt"
for cmd in $("$OUTBOXD" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort -u); do
	grep -qE -- "^ {7}$cmd( |$)" "$T_DIR/outboxd.txt" || t_fail "outboxd(8) does not describe the command $cmd"
done
# A dry run: this test must not build (it runs inside the sanitizer pass too).
make -n install DESTDIR=/x PREFIX=/usr >"$T_DIR/install.txt"
t_expect_grep "$T_DIR/install.txt" 'install -m 644 man/outboxd.8 /x/usr/share/man/man8/outboxd.8'
t_expect_grep "$T_DIR/install.txt" 'install -m 644 man/outboxd.conf.5 /x/usr/share/man/man5/outboxd.conf.5'
