# End to end: 4 concurrent writers enqueue thousands of events over 300 keys while the relay runs; some
# transactions roll back. The independent checker reads the topic back: every committed event arrives, none from
# a rolled-back transaction, content byte-exact, per-key order of first delivery equal to id order, all marked.
t_db
t_conf "$T_DIR/o.conf" "batch_size = 200;"
t_install "$T_DIR/o.conf"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
t_writers 4 600
t_check --max-dup 0
rolled_back_ids=$(t_sql "SELECT max(id) - count(*) FROM outbox")
[ "$rolled_back_ids" -gt 0 ] || t_fail "no transaction rolled back: the test did not exercise rollbacks"
t_expect_eq "$(t_sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL")" 0 "unsent rows"
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
t_expect_grep "$T_DIR/relay.log" 'msg=stats pending='
t_expect_grep "$T_DIR/relay.log" 'msg=stopped'
