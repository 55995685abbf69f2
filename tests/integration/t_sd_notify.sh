# systemd's notification protocol, with a stand-in socket (tests/tools/notifysink.c) in place of systemd:
# READY=1 once connected, STATUS= carrying the lag (what `systemctl status outboxd` shows), WATCHDOG=1 pings
# when the watchdog is on, STOPPING=1 on SIGTERM.
t_db
t_conf "$T_DIR/o.conf"
t_install "$T_DIR/o.conf"
t_sql "SELECT outbox_enqueue('$T_TOPIC', 'k', 'v'::bytea) FROM generate_series(1, 10)" >/dev/null
"$TOOLS/notifysink" "$T_DIR/notify.sock" 30 >"$T_DIR/notify.out" 2>&1 &
T_BG_PIDS="$T_BG_PIDS $!"
t_wait_log "$T_DIR/notify.out" ready 5 || t_fail "notifysink did not start"
NOTIFY_SOCKET=$T_DIR/notify.sock WATCHDOG_USEC=2000000 t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_wait_log "$T_DIR/notify.out" '^STATUS=pending=0 ' 20 || { cat "$T_DIR/notify.out"; t_fail "no STATUS with the lag"; }
t_wait_log "$T_DIR/notify.out" '^WATCHDOG=1' 5 || t_fail "no watchdog ping"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "exit status"
sleep 0.3
cat "$T_DIR/notify.out"
t_expect_eq "$(grep -m1 -n '^READY=1' "$T_DIR/notify.out" | cut -d: -f1)" 2 "READY=1 is the first message"
t_expect_grep "$T_DIR/notify.out" '^STATUS=pending=0 oldest_pending_ms=0 rate_eps=[0-9]* failed_rows=0$'
t_expect_eq "$(tail -n 1 "$T_DIR/notify.out")" STOPPING=1 "STOPPING=1 is the last message"
t_check
