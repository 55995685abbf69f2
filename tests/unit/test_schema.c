/* Schema rendering: psql variables replaced by quoted names, psql lines dropped, versions selected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

static void quoting(void **state)
{
	char *s;

	(void)state;
	s = schema_quote_ident("a\"b c");
	assert_string_equal(s, "\"a\"\"b c\"");
	free(s);
	s = schema_quote_literal("it's");
	assert_string_equal(s, "'it''s'");
	free(s);
	s = schema_quote_literal("back\\slash");
	assert_string_equal(s, " E'back\\\\slash'");
	free(s);
}

static void renders_with_quoted_names(void **state)
{
	char err[256];
	char *sql = schema_render("my\"schema", "Out box", 0, err, sizeof(err));

	(void)state;
	assert_non_null(sql);
	assert_non_null(strstr(sql, "CREATE TABLE IF NOT EXISTS \"my\"\"schema\".\"Out box\" ("));
	assert_non_null(strstr(sql, "CREATE INDEX IF NOT EXISTS \"Out box_pending_idx\""));
	assert_non_null(strstr(sql, "FUNCTION \"my\"\"schema\".\"Out box_enqueue\"("));
	assert_non_null(strstr(sql, "VALUES ('Out box', 1)"));
	assert_non_null(strstr(sql, "TG_RELID::text")); /* a :: cast is not a variable */
	assert_null(strstr(sql, "\n\\"));                /* no psql meta-commands */
	assert_null(strstr(sql, ":\""));
	assert_null(strstr(sql, ":'"));
	free(sql);
}

static void renders_only_newer_versions(void **state)
{
	char err[256];
	char *sql = schema_render("public", "outbox", schema_latest_version(), err, sizeof(err));

	(void)state;
	assert_true(schema_latest_version() >= 1);
	assert_non_null(sql);
	assert_string_equal(sql, "");
	free(sql);
}

static void refuses_overlong_names(void **state)
{
	char err[256], name[70];

	(void)state;
	memset(name, 'x', 64);
	name[64] = '\0';
	assert_null(schema_render("public", name, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "63 bytes"));
}

/* The Debezium trigger: every name and value from the config is quoted; the function's and the trigger's names
 * come from the file's own \set lines; a missing variable is an error. */
static void renders_debezium_trigger(void **state)
{
	const char *vars[] = { "source_schema", "s",	    "source_table",   "ev\"t",	     "id_field",
			       "id",		"route_by_field", "aggregatetype", "key_field",     "aggregateid",
			       "payload_field", "payload",	    "topic_prefix",   "o'x.",	     "topic_suffix",
			       "",		"payload_kind",   "json",
			       "trace_field",   "tracingspancontext", "type_field", "" };
	char err[256];
	char *sql;

	(void)state;
	sql = schema_render_debezium("public", "outbox", vars, 11, err, sizeof(err));
	assert_non_null(sql);
	assert_non_null(strstr(sql, "AFTER INSERT ON \"s\".\"ev\"\"t\""));
	assert_non_null(strstr(sql, "'o''x.', ''"));
	assert_non_null(strstr(sql, "'json', 'tracingspancontext',\n        '');"));
	assert_non_null(strstr(sql, "EXECUTE FUNCTION \"public\".\"outbox_from_debezium\"('public', 'outbox', 'id',"));
	assert_non_null(strstr(sql, "CREATE OR REPLACE TRIGGER \"outboxd_outbox\""));
	free(sql);
	assert_null(schema_render_debezium("public", "outbox", vars, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown psql variable"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoting),
		cmocka_unit_test(renders_with_quoted_names),
		cmocka_unit_test(renders_only_newer_versions),
		cmocka_unit_test(refuses_overlong_names),
		cmocka_unit_test(renders_debezium_trigger),
	};
	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
