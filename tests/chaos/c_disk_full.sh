# A full disk under the outbox: the outbox table and its indexes moved to a tablespace on a 32 MB tmpfs (the
# relays' own small tables stay where they are), writers running and a backlog waiting, then a filler table takes the rest of it and the relay
# starts. Marks fail ("could not extend file ...
# No space left on device"): the relay backs off and logs the outage once (then at debug), stays up, marks
# nothing it has not delivered; the writers' own inserts fail as well. The filler dropped, the relay logs
# "recovered" and drains; LOST 0, REORDER 0, DUP at most the batches whose marks failed. With "keep" the relay
# writes nothing there: the backlog drains while the disk is full.
[ "$(id -u)" = 0 ] || { [ "${CI:-}" != true ] && { echo "skipped: mounting a tmpfs needs root"; exit 0; }; t_fail "needs root"; }
TS=$T_DIR/ts
mkdir -p "$TS"
mount -t tmpfs -o size=32m,mode=0700 tmpfs "$TS"
# The database and the tablespace are dropped before the tmpfs goes: the harness's server lives on for the
# next scenarios, and a buffer it still held for a file on the tmpfs could never be written again.
disk_cleanup() {
	local rc=$?
	set +e
	psql -qX -d postgres -c "DROP DATABASE IF EXISTS \"${T_DB:-disk_full}\" WITH (FORCE)" \
		-c "DROP TABLESPACE IF EXISTS outbox_small" >/dev/null
	umount "$TS" 2>/dev/null || umount -l "$TS"
	(exit "$rc")
	t_cleanup
}
trap disk_cleanup EXIT
chown postgres: "$TS"
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE TABLESPACE outbox_small LOCATION '$TS'" >/dev/null
t_db disk_full
t_conf "$T_DIR/o.conf" "batch_size = 100; backoff_max_ms = 2000;"
t_install "$T_DIR/o.conf"
psql -qX -v ON_ERROR_STOP=1 -d "$T_DB" -c "ALTER TABLE outbox SET TABLESPACE outbox_small" -c "DO \$\$
	DECLARE i regclass;
	BEGIN
		FOR i IN SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'outbox'::regclass LOOP
			EXECUTE format('ALTER INDEX %s SET TABLESPACE outbox_small', i);
		END LOOP;
	END \$\$" >/dev/null
# A backlog first (the writers' own inserts fail once the disk is full), then the relay starts on a full disk.
c_writers_start 100
c_backlog 3000 50 bl-
sleep 3

# Fill the tablespace: uncompressed 1 MB values until the server refuses.
psql -qX -v ON_ERROR_STOP=1 -d "$T_DB" -c "CREATE TABLE filler (b text) TABLESPACE outbox_small" \
	-c "ALTER TABLE filler ALTER b SET STORAGE EXTERNAL" >/dev/null
for i in $(seq 1 64); do
	psql -qX -v ON_ERROR_STOP=1 -d "$T_DB" -c "INSERT INTO filler SELECT string_agg(md5(g::text || random()::text), '')
		FROM generate_series(1, 32768) g" >/dev/null 2>"$T_DIR/fill.err" || break
done
grep -q 'No space left on device' "$T_DIR/fill.err" || { cat "$T_DIR/fill.err"; t_fail "the tablespace did not fill ($i MB)"; }
echo "filled after $i MB; $(df -h "$TS" | tail -n 1)"
t_start_relay "$T_DIR/o.conf" "$T_DIR/relay.log"
if [ "$T_ON_SENT" = keep ]; then
	# "keep" writes nothing to the outbox's tablespace (its progress row lives with the relays' tables): the
	# backlog drains on the full disk, and the relay never meets it.
	c_drained_within 60
	t_expect_no_grep "$T_DIR/relay.log" 'No space left on device'
	echo "full disk: the backlog drained with the tablespace full (keep)"
else
	t_wait_log "$T_DIR/relay.log" 'No space left on device' 30 || t_fail "the relay never met the full disk"
	before=$(t_sql "$(t_delivered_sql)")
	sleep 10
	kill -0 "$T_RELAY_PID" || t_fail "the relay exited on a full disk"
	t_expect_eq "$(t_sql "$(t_delivered_sql)")" "$before" "rows marked sent on a full disk"
	warned=$(grep 'level=warn' "$T_DIR/relay.log" | grep -c 'No space left on device' || true)
	echo "full disk: $warned warn lines in 10+ s"
	[ "$warned" -le 3 ] || { grep 'No space left' "$T_DIR/relay.log" | tail -n 5; t_fail "$warned warnings: not once per outage"; }
fi

psql -qX -v ON_ERROR_STOP=1 -d "$T_DB" -c "DROP TABLE filler" >/dev/null
if [ "$T_ON_SENT" != keep ]; then
	t_wait_log "$T_DIR/relay.log" 'msg=recovered' 30 || t_fail "no recovery logged after space was freed"
	grep 'msg=recovered' "$T_DIR/relay.log" | head -n 1
fi
sleep 2
c_writers_stop
c_drained_within 60
t_stop_relay
t_expect_eq "$T_STOP_RC" 0 "relay exit status"
c_check_row "pg-disk-full" --max-dup 5000
