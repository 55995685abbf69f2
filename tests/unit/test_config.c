/* Config parsing and validation: defaults, types, ranges, unknown keys, properties, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[64];

/* Writes text to a temp file, loads it; returns config_load's result with err filled. */
static int load_text(const char *text, struct config **cfg, char *err, size_t errsize)
{
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/outboxd-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	*cfg = NULL;
	int rc = config_load(path, cfg, err, errsize);
	unlink(path);
	return rc;
}

#define MINIMAL                                                                                                      \
	"postgres: { conninfo = \"host=127.0.0.1 port=5432 dbname=app user=app\"; };\n"                              \
	"kafka: { brokers = \"127.0.0.1:9092\"; };\n"

static void minimal_file_gets_defaults(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->pg_conninfo, "host=127.0.0.1 port=5432 dbname=app user=app");
	assert_string_equal(cfg->kafka_brokers, "127.0.0.1:9092");
	assert_string_equal(cfg->pg_schema, "public");
	assert_string_equal(cfg->pg_table, "outbox");
	assert_string_equal(cfg->event_id_header, "id");
	assert_int_equal(cfg->batch_size, 1000);
	assert_int_equal(cfg->batches_per_commit, 4);
	assert_int_equal(cfg->poll_interval_ms, 1000);
	assert_int_equal(cfg->stats_interval_ms, 10000);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_null(cfg->pg_passfile);
	assert_int_equal(cfg->n_kafka_props, 0);
	assert_int_equal(cfg->ordering, ORDERING_KEY);
	assert_string_equal(config_word(cfg, "relay.ordering"), "key");
	assert_int_equal(cfg->on_sent, ON_SENT_MARK);
	assert_int_equal(cfg->on_permanent_error, ON_ERROR_PARK);
	assert_string_equal(config_word(cfg, "relay.on_permanent_error"), "park");
	assert_string_equal(config_word(cfg, "log.level"), "info");
	assert_null(config_word(cfg, "relay.batch_size"));
	assert_null(cfg->instance);
	assert_null(cfg->epoch_header);
	assert_int_equal(cfg->heartbeat_ms, 1000);
	assert_int_equal(cfg->lease_ttl_ms, 3000);
	config_free(cfg);
}

static void every_setting_is_read(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(MINIMAL "relay: { batch_size = 50; poll_interval_ms = 250; delivery_timeout_ms = 5000;"
					   " shutdown_timeout_ms = 2000; backoff_min_ms = 10; backoff_max_ms = 20;"
					   " event_id_header = \"event-id\"; ordering = \"none\"; instance = \"r1\"; on_sent = \"delete\";"
					   " heartbeat_ms = 200; lease_ttl_ms = 600; epoch_header = \"ep\"; };\n"
					   "log: { level = \"debug\"; stats_interval_ms = 2000; };\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg->batch_size, 50);
	assert_int_equal(cfg->poll_interval_ms, 250);
	assert_int_equal(cfg->delivery_timeout_ms, 5000);
	assert_int_equal(cfg->shutdown_timeout_ms, 2000);
	assert_int_equal(cfg->backoff_min_ms, 10);
	assert_int_equal(cfg->backoff_max_ms, 20);
	assert_string_equal(cfg->event_id_header, "event-id");
	assert_int_equal(cfg->ordering, ORDERING_NONE);
	assert_string_equal(config_word(cfg, "relay.ordering"), "none");
	assert_int_equal(cfg->on_sent, ON_SENT_DELETE);
	assert_string_equal(cfg->instance, "r1");
	assert_int_equal(cfg->heartbeat_ms, 200);
	assert_int_equal(cfg->lease_ttl_ms, 600);
	assert_string_equal(cfg->epoch_header, "ep");
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->stats_interval_ms, 2000);
	config_free(cfg);
}

static void kafka_properties_split_on_first_equals(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text("postgres: { conninfo = \"dbname=x\"; };\n"
				   "kafka: { brokers = \"b:1\";\n"
				   "  properties = [ \"linger.ms=7\", \"sasl.jaas=a=b\" ]; };\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg->n_kafka_props, 2);
	assert_string_equal(cfg->kafka_props[0].name, "linger.ms");
	assert_string_equal(cfg->kafka_props[0].value, "7");
	assert_string_equal(cfg->kafka_props[1].name, "sasl.jaas");
	assert_string_equal(cfg->kafka_props[1].value, "a=b");
	assert_int_equal(cfg->kafka_props[0].line, 3);
	config_free(cfg);
}

/* Each bad file must fail with an error naming the file's line and the key. */
static void expect_error(const char *text, const char *needle)
{
	struct config *cfg;
	char err[512];

	assert_int_equal(load_text(text, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	assert_non_null(strstr(err, path));
}

static void bad_files_are_refused_with_line_and_key(void **state)
{
	(void)state;
	expect_error(MINIMAL "relay: { batch_sise = 5; };\n", ":3: relay.batch_sise: unknown setting");
	expect_error(MINIMAL "relai: { };\n", ":3: relai: unknown setting");
	expect_error(MINIMAL "relay: { batch_size = \"5\"; };\n", ":3: relay.batch_size: expected a whole number");
	expect_error(MINIMAL "relay: { batch_size = 0; };\n", ":3: relay.batch_size: 0 is out of range (1 to 10000)");
	expect_error(MINIMAL "relay: { batch_size = 10001; };\n", "relay.batch_size: 10001 is out of range");
	expect_error(MINIMAL "relay: { batches_per_commit = 0; };\n",
		     ":3: relay.batches_per_commit: 0 is out of range (1 to 64)");
	expect_error(MINIMAL "relay: { delivery_timeout_ms = 9223372036854775807L; };\n", "number too large");
	expect_error(MINIMAL "relay: { backoff_min_ms = 500; backoff_max_ms = 100; };\n",
		     "relay.backoff_max_ms: must not be less than relay.backoff_min_ms");
	expect_error(MINIMAL "log: { level = \"chatty\"; };\n", ":3: log.level: \"chatty\" is not one of");
	expect_error(MINIMAL "relay: { event_id_header = \"\"; };\n", "relay.event_id_header: must not be empty");
	expect_error(MINIMAL "relay: { ordering = \"bykey\"; };\n", ":3: relay.ordering: \"bykey\" is not one of key, none");
	expect_error(MINIMAL "log: { level = \"loud\"; };\n", ":3: log.level: \"loud\" is not one of debug, info, warn, error");
	expect_error(MINIMAL "relay: { on_sent = \"drop\"; };\n", ":3: relay.on_sent: \"drop\" is not one of mark, delete, keep");
	expect_error(MINIMAL "relay: { on_permanent_error = \"drop\"; };\n",
		     ":3: relay.on_permanent_error: \"drop\" is not one of park, block_key");
	expect_error(MINIMAL "relay: { heartbeat_ms = 2000; };\n",
		     "relay.lease_ttl_ms: must be at least twice relay.heartbeat_ms");
	expect_error("postgres: { conninfo = \"dbname=x\"; };\n", "kafka.brokers: required setting is missing");
	expect_error("kafka: { brokers = \"b\"; };\n", "postgres.conninfo: required setting is missing");
	expect_error("postgres: { conninfo = \"nonsense\"; };\nkafka: { brokers = \"b\"; };\n",
		     ":1: postgres.conninfo: invalid");
	expect_error("postgres: { conninfo = \"dbname=x\"; table = "
		     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n"
		     "kafka: { brokers = \"b\"; };\n",
		     "postgres.table: longer than 63 bytes");
	expect_error(MINIMAL "kafka2 = 5;\n", "kafka2: unknown setting");
	expect_error("postgres: { conninfo = \"dbname=x\"; };\nkafka: { brokers = \"b\"; properties = [ \"nodots\" ]; };\n",
		     ":2: kafka.properties: \"nodots\" is not of the form name=value");
	expect_error("postgres: { conninfo = \"dbname=x\"; };\nkafka: { brokers = \"b\"; properties = [ \"acks=1\" ]; };\n",
		     "managed by outboxd");
	expect_error("postgres: { conninfo = ; };\n", ":1: syntax error");
}

static void print_redacts_secrets(void **state)
{
	struct config *cfg;
	char err[512], *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(load_text("postgres: { conninfo = \"host=h dbname=d user=u password=Hunter2x\"; };\n"
				   "kafka: { brokers = \"b:1\"; properties = [ \"sasl.password=Hunter3y\","
				   " \"ssl.key.password=Hunter4z\", \"linger.ms=3\" ]; };\n",
				   &cfg, err, sizeof(err)),
			 0);
	out = open_memstream(&buf, &len);
	config_print(cfg, out);
	fclose(out);
	assert_null(strstr(buf, "Hunter"));
	assert_non_null(strstr(buf, "password='<redacted>'"));
	assert_non_null(strstr(buf, "\"sasl.password=<redacted>\""));
	assert_non_null(strstr(buf, "\"linger.ms=3\""));
	assert_non_null(strstr(buf, "host='h'"));
	free(buf);
	config_free(cfg);
}

static void secret_property_names(void **state)
{
	(void)state;
	assert_true(config_kafka_property_is_secret("sasl.password"));
	assert_true(config_kafka_property_is_secret("ssl.keystore.password"));
	assert_true(config_kafka_property_is_secret("sasl.oauthbearer.client.secret"));
	assert_true(config_kafka_property_is_secret("ssl.key.pem"));
	assert_false(config_kafka_property_is_secret("linger.ms"));
	assert_false(config_kafka_property_is_secret("sasl.username"));
}

/* Hostile files: parsed from counted bytes (config_parse), refused with file:line and a reason, never truncated. */
static void expect_parse_error(const char *text, size_t len, const char *want)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(config_parse("h.conf", text, len, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void expect_parse_text(const char *text, const char *want)
{
	expect_parse_error(text, strlen(text), want);
}

static void hostile_files_are_refused(void **state)
{
	static const char nul[] = MINIMAL "relay: { event_id_header = \"a\0b\"; };\n";
	char *big, *props;
	size_t n;

	(void)state;
	expect_parse_error(nul, sizeof(nul) - 1, "h.conf:3: a NUL byte");
	expect_parse_text(MINIMAL "relay: { event_id_header = \"a\\x00b\"; };", "h.conf:3: \\x00");
	expect_parse_text(MINIMAL " @include \"/etc/passwd\"\n", "h.conf:3: @include");
	expect_parse_text(MINIMAL "relay: { batch_size = 99999999999999999999999; };", "h.conf:3: number too large");
	/* libconfig 1.5 would read these as 1: the low 32 bits */
	expect_parse_text(MINIMAL "relay: { batch_size = 4294967297; };", "h.conf:3: number too large");
	expect_parse_text(MINIMAL "\n\nrelay: { batch_size = 0x100000001; };", "h.conf:5: number too large");
	expect_parse_text(MINIMAL "relay: { batch_size = -2147483649L; };", "number too large");
	expect_parse_text(MINIMAL "relay: { batch_size = -5; };", "-5 is out of range");
	expect_parse_text(MINIMAL "relay: { batch_size = 1e9; };", "expected a whole number");
	/* One byte over the size limit. */
	big = malloc(CONFIG_MAX_BYTES + 1);
	assert_non_null(big);
	memset(big, ' ', CONFIG_MAX_BYTES + 1);
	expect_parse_error(big, CONFIG_MAX_BYTES + 1, "larger than");
	/* An overlong string, and too many properties. */
	n = (size_t)snprintf(big, CONFIG_MAX_BYTES, "kafka: { brokers = \"b\"; }; postgres: { conninfo = \"host=x\"; table = \"%0300d\"; };", 7);
	expect_parse_error(big, n, "longer than 63 bytes");
	props = big;
	n = (size_t)snprintf(props, CONFIG_MAX_BYTES, "kafka: { brokers = \"x\"; properties = [");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(props + n, CONFIG_MAX_BYTES - n, "%s\"linger.ms=%d\"", i ? ", " : "", i);
	n += (size_t)snprintf(props + n, CONFIG_MAX_BYTES - n, "]; };");
	expect_parse_error(props, n, "more than 256 properties");
	n = (size_t)snprintf(big, CONFIG_MAX_BYTES, "kafka: { brokers = \"x\"; properties = [ \"client.id=%09000d\" ]; };", 1);
	expect_parse_error(big, n, "longer than 8192 bytes");
	free(big);
	/* An escaped backslash before x00 is text, not a NUL. */
	{
		struct config *cfg = NULL;
		char err[512];
		const char ok[] = MINIMAL "relay: { event_id_header = \"a\\\\x00\"; };";
		assert_int_equal(config_parse("ok.conf", ok, sizeof(ok) - 1, &cfg, err, sizeof(err)), 0);
		assert_string_equal(cfg->event_id_header, "a\\x00");
		config_free(cfg);
	}
}

/* kafka.credentials: values read from $CREDENTIALS_DIRECTORY, never printed; bad names refused with the key. */
static void credentials_are_read_and_redacted(void **state)
{
	char dir[] = "/tmp/outboxd-creds-XXXXXX", file[128], err[512], out[4096];
	struct config *cfg = NULL;
	FILE *f, *mem;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/kafka", dir);
	f = fopen(file, "w");
	fputs("Cred-Sentinel-42\n", f);
	fclose(f);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(load_text(MINIMAL "kafka: { credentials = [ \"sasl.password=kafka\" ]; };\n", &cfg, err,
				   sizeof(err)),
			 -1); /* kafka defined twice: a syntax error, not a merge */
	assert_int_equal(load_text("postgres: { conninfo = \"host=x\"; };\n"
				   "kafka: { brokers = \"b\"; properties = [ \"linger.ms=1\" ];\n"
				   "  credentials = [ \"sasl.password=kafka\" ]; };\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg->n_kafka_props, 2);
	assert_string_equal(cfg->kafka_props[1].name, "sasl.password");
	assert_string_equal(cfg->kafka_props[1].value, "Cred-Sentinel-42");
	assert_true(cfg->kafka_props[1].secret);
	mem = fmemopen(out, sizeof(out), "w");
	config_print(cfg, mem);
	fclose(mem);
	assert_null(strstr(out, "Cred-Sentinel-42"));
	assert_non_null(strstr(out, "sasl.password=<redacted>"));
	config_free(cfg);
	expect_error("postgres: { conninfo = \"host=x\"; };\nkafka: { brokers = \"b\"; credentials = [ \"a=../x\" ]; };\n",
		     ":2: kafka.credentials: \"../x\": a credential is a name or an absolute path");
	expect_error("postgres: { conninfo = \"host=x\"; };\nkafka: { brokers = \"b\"; credentials = [ \"a=none\" ]; };\n",
		     "kafka.credentials: cannot read");
	unsetenv("CREDENTIALS_DIRECTORY");
	expect_error("postgres: { conninfo = \"host=x\"; };\nkafka: { brokers = \"b\"; credentials = [ \"a=kafka\" ]; };\n",
		     "$CREDENTIALS_DIRECTORY is not set");
	unlink(file);
	rmdir(dir);
}

/* A word setting takes one of its words (and "warning" for "warn"), prints its word, and reloads by its class. */
static void word_settings(void **state)
{
	struct config *live, *fresh;
	char err[512], restart[256], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(load_text(MINIMAL "log: { level = \"warning\"; };\n", &live, err, sizeof(err)), 0);
	assert_int_equal(live->log_level, LOG_WARN);
	assert_non_null(f = open_memstream(&out, &len));
	config_print(live, f);
	fclose(f);
	assert_non_null(strstr(out, "level = \"warn\";"));
	free(out);
	assert_int_equal(load_text(MINIMAL "relay: { on_permanent_error = \"block_key\"; };\nlog: { level = \"warning\"; };\n",
				   &fresh, err, sizeof(err)),
			 0);
	assert_int_equal(config_reload(live, fresh, restart, sizeof(restart)), CONFIG_RELOAD_CLAIM);
	assert_string_equal(restart, "");
	assert_int_equal(live->on_permanent_error, ON_ERROR_BLOCK_KEY);
	config_free(fresh);
	config_free(live);
	assert_int_equal(load_text(MINIMAL "relay: { on_sent = \"keep\"; };\n", &live, err, sizeof(err)), 0);
	assert_int_equal(live->on_sent, ON_SENT_KEEP);
	assert_non_null(f = open_memstream(&out, &len));
	config_print(live, f);
	fclose(f);
	assert_non_null(strstr(out, "on_sent = \"keep\";"));
	free(out);
	config_free(live);
}

/* SIGHUP: live settings move into the running config, restart-only ones stay and are named. */
static void reload_moves_live_settings_only(void **state)
{
	struct config *live, *fresh;
	char err[512], restart[256];
	int changed;

	(void)state;
	assert_int_equal(load_text(MINIMAL "relay: { batch_size = 10; };\n", &live, err, sizeof(err)), 0);
	assert_int_equal(load_text("postgres: { conninfo = \"dbname=other\"; table = \"t2\"; };\n"
				   "kafka: { brokers = \"127.0.0.1:9092\"; properties = [ \"linger.ms=1\" ]; };\n"
				   "relay: { batch_size = 20; ordering = \"none\"; on_sent = \"delete\"; poll_interval_ms = 50;"
				   " batches_per_commit = 1; };\n"
				   "log: { level = \"debug\"; };\n",
				   &fresh, err, sizeof(err)),
			 0);
	changed = config_reload(live, fresh, restart, sizeof(restart));
	assert_int_equal(changed, CONFIG_RELOAD_KAFKA | CONFIG_RELOAD_CLAIM | CONFIG_RELOAD_OTHER);
	assert_string_equal(restart, "postgres.conninfo,postgres.table,relay.on_sent,relay.ordering");
	assert_int_equal(live->batch_size, 20);
	assert_int_equal(live->batches_per_commit, 1); /* live: read at the start of each chain */
	assert_int_equal(live->poll_interval_ms, 50);
	assert_int_equal(live->log_level, LOG_DEBUG);
	assert_int_equal(live->n_kafka_props, 1);
	assert_string_equal(live->kafka_props[0].value, "1");
	assert_string_equal(live->pg_table, "outbox");
	assert_int_equal(live->ordering, ORDERING_KEY);
	assert_int_equal(live->on_sent, ON_SENT_MARK);
	assert_int_equal(fresh->n_kafka_props, 0); /* the old values, freed with fresh */
	config_free(fresh);
	assert_int_equal(load_text(MINIMAL "relay: { batch_size = 20; poll_interval_ms = 50; };\n"
					   "kafka: { properties = [ \"linger.ms=1\" ]; };\nlog: { level = \"debug\"; };\n",
				   &fresh, err, sizeof(err)),
			 -1); /* kafka given twice: a file that does not load never reaches config_reload */
	config_free(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_file_gets_defaults),
		cmocka_unit_test(every_setting_is_read),
		cmocka_unit_test(kafka_properties_split_on_first_equals),
		cmocka_unit_test(bad_files_are_refused_with_line_and_key),
		cmocka_unit_test(print_redacts_secrets),
		cmocka_unit_test(secret_property_names),
		cmocka_unit_test(hostile_files_are_refused),
		cmocka_unit_test(credentials_are_read_and_redacted),
		cmocka_unit_test(reload_moves_live_settings_only),
		cmocka_unit_test(word_settings),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
