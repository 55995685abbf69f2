# examples/monitoring: the Prometheus alert rules load (`promtool check rules`) and behave on recorded series
# (`promtool test rules`: each alert fires when it should and stays quiet when it should not); a rule made
# harmless (a threshold no series reaches) fails those tests, so they can fail. The dashboard is valid JSON with
# a query in every panel. (That every metric they name is served: t_metrics.)
PROMTOOL=$(command -v promtool || echo /var/cache/outboxd/promtool/usr/bin/promtool)
if [ ! -x "$PROMTOOL" ]; then
	[ "${CI:-}" != true ] && { echo "skipped: no promtool (make setup unpacks it)"; exit 0; }
	t_fail "promtool missing (make setup)"
fi
M=examples/monitoring
"$PROMTOOL" check rules "$M/outboxd-alerts.yml" | tee "$T_DIR/check.out"
t_expect_grep "$T_DIR/check.out" 'SUCCESS: 7 rules found'
"$PROMTOOL" test rules "$M/outboxd-alerts.test.yml" | tee "$T_DIR/test.out"
t_expect_grep "$T_DIR/test.out" 'SUCCESS'
cp "$M/outboxd-alerts.yml" "$M/outboxd-alerts.test.yml" "$T_DIR/"
sed -i 's/outboxd_failed_rows) > 0$/outboxd_failed_rows) > 1000000/' "$T_DIR/outboxd-alerts.yml"
! cmp -s "$M/outboxd-alerts.yml" "$T_DIR/outboxd-alerts.yml" || t_fail "the mutation did not apply"
if "$PROMTOOL" test rules "$T_DIR/outboxd-alerts.test.yml" >"$T_DIR/mutant.out" 2>&1; then
	cat "$T_DIR/mutant.out"
	t_fail "promtool test rules passed with OutboxdFailedRows made harmless"
fi
panels=$(jq '.panels | length' "$M/outboxd-dashboard.json")
with_query=$(jq '[.panels[] | select([.targets[]?.expr] | length > 0)] | length' "$M/outboxd-dashboard.json")
echo "dashboard: $panels panels, $with_query with queries"
[ "$panels" -ge 6 ] && [ "$with_query" = "$panels" ] || t_fail "dashboard: $panels panels, $with_query with queries"
