/* Configuration: one table of settings drives parsing, defaults, ranges, accepted words, unknown-key detection,
 * what a reload may change (config_reload.c) and printing with secrets redacted (config_print.c). libconfig does
 * the syntax (after config_scan.c's byte-level checks); everything about meaning is here. */
#include "config.h"
#include "config_private.h"

#include <errno.h>
#include <libconfig.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* librdkafka has about 200 properties; a value longer than this is not a setting (PEM blobs belong in files). */
#define CONFIG_MAX_PROPS 256
#define CONFIG_MAX_PROP_LEN 8192

#define OFF(f) offsetof(struct config, f)
#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Keep in step with README's configuration reference and examples/outboxd.conf. */
const struct setting config_settings[] = {
	{ "postgres", "conninfo", ST_STRING, OFF(pg_conninfo),
	  .required = 1, .max_len = 8192, .reload = RL_RESTART, .secret = SC_CONNINFO },
	/* Schema install and grant run as the table's owner; the relay itself as a role with only what it needs. */
	{ "postgres", "owner_conninfo", ST_STRING, OFF(pg_owner_conninfo),
	  .max_len = 8192, .reload = RL_RESTART, .secret = SC_CONNINFO },
	{ "postgres", "passfile", ST_STRING, OFF(pg_passfile), .max_len = 4096, .reload = RL_RESTART },
	/* PostgreSQL truncates identifiers to 63 bytes; refusing longer names avoids relaying another table. */
	{ "postgres", "schema", ST_STRING, OFF(pg_schema), .def_str = "public", .max_len = 63, .reload = RL_RESTART },
	{ "postgres", "table", ST_STRING, OFF(pg_table), .def_str = "outbox", .max_len = 63, .reload = RL_RESTART },
	{ "kafka", "brokers", ST_STRING, OFF(kafka_brokers), .required = 1, .max_len = 8192, .reload = RL_KAFKA },
	{ "kafka", "properties", ST_PROPS, OFF(kafka_props), .reload = RL_KAFKA, .secret = SC_PROPS },
	/* "name=credential": the value is read from a file, $CREDENTIALS_DIRECTORY/credential (systemd's
	 * LoadCredential=) or an absolute path, so a Kafka secret need not sit in the config file. */
	{ "kafka", "credentials", ST_CREDS, OFF(kafka_props), .reload = RL_KAFKA, .secret = SC_ALWAYS },
	{ "relay", "batch_size", ST_INT, OFF(batch_size), .min = 1, .max = 10000, .def_int = 1000, .reload = RL_CLAIM },
	/* While a backlog drains, one transaction carries up to this many batches: the next batch is claimed while the
	 * last is on its way to Kafka, so PostgreSQL and Kafka work at the same time. A crash re-sends up to this
	 * many batches; 1 claims, publishes and commits one batch at a time. */
	{ "relay", "batches_per_commit", ST_INT, OFF(batches_per_commit), .min = 1, .max = 64, .def_int = 4 },
	/* Bounds memory: a batch stops once its rows' bytes pass this (a single row is bounded by message.max.bytes). */
	{ "relay", "batch_max_bytes", ST_INT, OFF(batch_max_bytes),
	  .min = 65536, .max = 1073741824, .def_int = 16777216, .reload = RL_CLAIM },
	/* Sent rows older than this are deleted, retention_batch at a time, while the relay is idle; 0 keeps them. */
	{ "relay", "retention_s", ST_INT, OFF(retention_s), .max = 315360000, .def_int = 86400 },
	{ "relay", "retention_batch", ST_INT, OFF(retention_batch), .min = 1, .max = 100000, .def_int = 1000 },
	{ "relay", "poll_interval_ms", ST_INT, OFF(poll_interval_ms), .min = 10, .max = 3600000, .def_int = 1000 },
	{ "relay", "delivery_timeout_ms", ST_INT, OFF(delivery_timeout_ms),
	  .min = 1000, .max = 3600000, .def_int = 30000 },
	{ "relay", "shutdown_timeout_ms", ST_INT, OFF(shutdown_timeout_ms),
	  .min = 100, .max = 600000, .def_int = 10000 },
	{ "relay", "backoff_min_ms", ST_INT, OFF(backoff_min_ms), .min = 1, .max = 600000, .def_int = 100 },
	{ "relay", "backoff_max_ms", ST_INT, OFF(backoff_max_ms), .min = 1, .max = 3600000, .def_int = 30000 },
	{ "relay", "event_id_header", ST_STRING, OFF(event_id_header), .def_str = "id", .max_len = 255 },
	/* "park": a row that can never be delivered is marked failed and later rows of its key flow on;
	 * "block_key": they wait until it is retried (schema version 5). */
	{ "relay", "on_permanent_error", ST_WORD, OFF(on_permanent_error),
	  .def_int = ON_ERROR_PARK, .reload = RL_CLAIM, .words = WORDS("park", "block_key") },
	/* Optional: each failed row is also published here (key, payload, headers, why, original topic) before it
	 * is marked failed. */
	{ "relay", "dead_letter_topic", ST_STRING, OFF(dead_letter_topic), .max_len = 249 },
	/* "mark": a delivered row gets sent_at and stays for retention_s (replay, audit); "delete": it is deleted
	 * in the same transaction, which writes far less (bench: the SQL ceiling is about 4 times higher); "keep":
	 * it is not written at all, the relay's progress is (schema version 7, one relay delivering at a time). */
	{ "relay", "on_sent", ST_WORD, OFF(on_sent),
	  .def_int = ON_SENT_MARK, .reload = RL_RESTART, .words = WORDS("mark", "delete", "keep") },
	/* "key": relays share the table by buckets of keys, so per-key order holds with any number of them;
	 * "none": every relay claims any row (SKIP LOCKED), for the most parallel throughput without order. */
	{ "relay", "ordering", ST_WORD, OFF(ordering),
	  .def_int = ORDERING_KEY, .reload = RL_RESTART, .words = WORDS("key", "none") },
	/* Names this relay among its peers; default "HOSTNAME:PID". */
	{ "relay", "instance", ST_STRING, OFF(instance), .max_len = 200, .reload = RL_RESTART },
	/* A relay whose heartbeat is older than lease_ttl_ms is presumed hung: a peer ends its session, which frees
	 * its buckets. Takeover therefore takes at most about lease_ttl_ms + heartbeat_ms. */
	{ "relay", "heartbeat_ms", ST_INT, OFF(heartbeat_ms), .min = 100, .max = 60000, .def_int = 1000 },
	{ "relay", "lease_ttl_ms", ST_INT, OFF(lease_ttl_ms), .min = 500, .max = 600000, .def_int = 3000 },
	/* Optional header carrying the bucket's ownership epoch (a fencing token): it never goes down for a key,
	 * so a consumer can drop a message from an owner that was already replaced. */
	{ "relay", "epoch_header", ST_STRING, OFF(epoch_header), .max_len = 255 },
	/* In the order of enum log_level. */
	{ "log", "level", ST_WORD, OFF(log_level),
	  .def_int = LOG_INFO, .words = WORDS("debug", "info", "warn", "error") },
	{ "log", "stats_interval_ms", ST_INT, OFF(stats_interval_ms), .min = 1000, .max = 86400000, .def_int = 10000 },
	/* "HOST:PORT" (IPv4) for the Prometheus endpoint GET /metrics; unset: no endpoint. */
	{ "metrics", "listen", ST_STRING, OFF(metrics_listen), .max_len = 64, .reload = RL_RESTART },
	/* GET /readyz fails once the relay has been failing and backing off for longer than this. */
	{ "metrics", "ready_max_backoff_ms", ST_INT, OFF(ready_max_backoff_ms),
	  .min = 1000, .max = 3600000, .def_int = 30000 },
	/* CloudEvents binary content mode (Kafka protocol binding): on when a source is set. */
	{ "cloudevents", "source", ST_STRING, OFF(ce_source), .max_len = 1024 },
	{ "cloudevents", "type", ST_STRING, OFF(ce_type), .max_len = 255 },
	{ "cloudevents", "content_type", ST_STRING, OFF(ce_content_type), .def_str = "application/json",
	  .max_len = 255 },
	/* `outboxd schema debezium`: a Debezium-style outbox table relayed as Debezium's Outbox Event Router would
	 * (the names follow its options: table.field.event.id becomes table_field_event_id, and so on). */
	{ "debezium", "table", ST_STRING, OFF(dbz_table), .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "schema", ST_STRING, OFF(dbz_schema), .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "table_field_event_id", ST_STRING, OFF(dbz_id),
	  .def_str = "id", .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "table_field_event_key", ST_STRING, OFF(dbz_key),
	  .def_str = "aggregateid", .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "table_field_event_payload", ST_STRING, OFF(dbz_payload),
	  .def_str = "payload", .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "route_by_field", ST_STRING, OFF(dbz_route_by),
	  .def_str = "aggregatetype", .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "route_topic_replacement", ST_STRING, OFF(dbz_topic),
	  .def_str = "outbox.event.${routedByValue}", .max_len = 200, .reload = RL_RESTART },
	{ "debezium", "table_field_event_type", ST_STRING, OFF(dbz_type), .max_len = 63, .reload = RL_RESTART },
	{ "debezium", "tracing_span_context_field", ST_STRING, OFF(dbz_trace),
	  .def_str = "tracingspancontext", .max_len = 63, .reload = RL_RESTART },
};

const size_t config_n_settings = sizeof(config_settings) / sizeof(config_settings[0]);

/* librdkafka properties outboxd sets itself because its delivery guarantee depends on them. */
static const struct {
	const char *name;
	const char *why;
} managed_props[] = {
	{ "bootstrap.servers", "set kafka.brokers instead" },
	{ "metadata.broker.list", "set kafka.brokers instead" },
	{ "enable.idempotence", "always true: retries must not duplicate or reorder" },
	{ "acks", "always all: a row is marked sent only when every in-sync replica has it" },
	{ "request.required.acks", "always all: a row is marked sent only when every in-sync replica has it" },
	{ "message.timeout.ms", "set relay.delivery_timeout_ms instead" },
	{ "delivery.timeout.ms", "set relay.delivery_timeout_ms instead" },
	{ "transactional.id", "outboxd uses the idempotent producer, not transactions" },
};

static const struct setting *find_setting(const char *group, const char *name)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		if (strcmp(config_settings[i].group, group) == 0 && strcmp(config_settings[i].name, name) == 0)
			return &config_settings[i];
	}
	return NULL;
}

static int known_group(const char *group)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		if (strcmp(config_settings[i].group, group) == 0)
			return 1;
	}
	return 0;
}

static int set_defaults(struct config *cfg)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		const struct setting *s = &config_settings[i];
		switch (s->type) {
		case ST_INT:
		case ST_WORD:
			*(int *)config_field(cfg, s) = (int)s->def_int;
			break;
		case ST_STRING:
			if (s->def_str != NULL && (*(char **)config_field(cfg, s) = strdup(s->def_str)) == NULL)
				return -1;
			break;
		case ST_PROPS:
		case ST_CREDS:
			break;
		}
	}
	return 0;
}

struct config *config_defaults(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	if (set_defaults(cfg) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < config_n_settings; i++) {
		if (config_settings[i].type == ST_STRING)
			free(*(char **)config_field(cfg, &config_settings[i]));
	}
	for (int i = 0; i < cfg->n_kafka_props; i++) {
		free(cfg->kafka_props[i].name);
		free(cfg->kafka_props[i].value);
	}
	free(cfg->kafka_props);
	free(cfg->path);
	free(cfg);
}

struct loader {
	const char *path;
	char *err;
	size_t errsize;
};

static int fail_at(struct loader *ld, const config_setting_t *st, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct loader *ld, const config_setting_t *st, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ld->err, ld->errsize, "%s:%d: %s: %s", ld->path, st ? (int)config_setting_source_line(st) : 0, key,
		 what);
	return -1;
}

static int load_string(struct loader *ld, config_setting_t *st, const char *key, const struct setting *s,
		       char **dst)
{
	const char *v;
	char *copy;

	if (config_setting_type(st) != CONFIG_TYPE_STRING)
		return fail_at(ld, st, key, "expected a string in double quotes");
	v = config_setting_get_string(st);
	if (s->max_len && strlen(v) > s->max_len) {
		char lim[32];
		snprintf(lim, sizeof(lim), "%zu", s->max_len);
		return fail_at(ld, st, key, "longer than %s bytes", lim);
	}
	if (*v == '\0' && (s->required || s->def_str != NULL))
		return fail_at(ld, st, key, "must not be empty");
	if ((copy = strdup(v)) == NULL)
		return fail_at(ld, st, key, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

static int load_int(struct loader *ld, config_setting_t *st, const char *key, const struct setting *s, int *dst)
{
	long long v;
	char range[96];

	if (config_setting_type(st) != CONFIG_TYPE_INT && config_setting_type(st) != CONFIG_TYPE_INT64)
		return fail_at(ld, st, key, "expected a whole number (no quotes)");
	v = config_setting_get_int64(st);
	if (v < s->min || v > s->max) {
		snprintf(range, sizeof(range), "%lld is out of range (%lld to %lld)", v, s->min, s->max);
		return fail_at(ld, st, key, "%s", range);
	}
	*dst = (int)v;
	return 0;
}

static int managed_prop_check(struct loader *ld, config_setting_t *st, const char *name)
{
	for (size_t i = 0; i < sizeof(managed_props) / sizeof(managed_props[0]); i++) {
		if (strcmp(name, managed_props[i].name) == 0) {
			char key[300];
			snprintf(key, sizeof(key), "kafka.properties: \"%s\"", name);
			return fail_at(ld, st, key, "managed by outboxd (%s)", managed_props[i].why);
		}
	}
	return 0;
}

#define CREDENTIAL_MAX_BYTES 65536

/* Reads up to max + 1 bytes of path into a new NUL-terminated buffer the caller frees; *len > max tells an
 * oversized file. NULL with errno set when the file cannot be read. */
static char *read_bounded(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	int err;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(max + 2)) == NULL) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	*len = fread(buf, 1, max + 1, f);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err != 0) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/* The value of a credential: the file's bytes without one trailing newline. Never put in an error message. */
static int read_credential(struct loader *ld, config_setting_t *st, const char *cred, char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096], *buf;
	size_t n;

	if (cred[0] != '/' && strchr(cred, '/') != NULL)
		return fail_at(ld, st, "kafka.credentials", "\"%s\": a credential is a name or an absolute path", cred);
	if (cred[0] != '/' && (dir == NULL || *dir == '\0'))
		return fail_at(ld, st, "kafka.credentials", "credential \"%s\": $CREDENTIALS_DIRECTORY is not set", cred);
	snprintf(path, sizeof(path), "%s%s%s", cred[0] == '/' ? "" : dir, cred[0] == '/' ? "" : "/", cred);
	if ((buf = read_bounded(path, CREDENTIAL_MAX_BYTES, &n)) == NULL)
		return fail_at(ld, st, "kafka.credentials", "cannot read %s: %s", path, strerror(errno));
	if (n > CREDENTIAL_MAX_BYTES || memchr(buf, '\0', n) != NULL) {
		free(buf);
		return fail_at(ld, st, "kafka.credentials", "%s: larger than %d bytes or not text", path,
			       CREDENTIAL_MAX_BYTES);
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	*out = buf;
	return 0;
}

/* kafka.properties = [ "linger.ms=5", ... ]: librdkafka names contain dots, which libconfig names cannot.
 * kafka.credentials has the same shape, with a credential in place of each value. Both append to one list. */
static int load_props(struct loader *ld, config_setting_t *st, struct config *cfg, int creds)
{
	const char *key = creds ? "kafka.credentials" : "kafka.properties";
	int n = config_setting_length(st);
	struct kafka_property *grown;

	if (config_setting_type(st) != CONFIG_TYPE_ARRAY && config_setting_type(st) != CONFIG_TYPE_LIST)
		return fail_at(ld, st, key, "expected a list of \"name=value\" strings");
	if (n + cfg->n_kafka_props > CONFIG_MAX_PROPS)
		return fail_at(ld, st, key, "more than %d properties", CONFIG_MAX_PROPS);
	grown = realloc(cfg->kafka_props, (size_t)(cfg->n_kafka_props + n + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail_at(ld, st, key, "out of memory");
	cfg->kafka_props = grown;
	if (!creds)
		cfg->kafka_props_line = (int)config_setting_source_line(st);
	for (int i = 0; i < n; i++) {
		config_setting_t *el = config_setting_get_elem(st, (unsigned)i);
		const char *v, *eq;
		struct kafka_property *p = &cfg->kafka_props[cfg->n_kafka_props];

		memset(p, 0, sizeof(*p));
		if (config_setting_type(el) != CONFIG_TYPE_STRING)
			return fail_at(ld, st, key, "element is not a \"name=value\" string");
		v = config_setting_get_string(el);
		if (strlen(v) > CONFIG_MAX_PROP_LEN)
			return fail_at(ld, st, key, "an element is longer than %d bytes", CONFIG_MAX_PROP_LEN);
		eq = strchr(v, '=');
		if (eq == NULL || eq == v)
			return fail_at(ld, st, key, "\"%s\" is not of the form name=value", v);
		p->name = strndup(v, (size_t)(eq - v));
		p->secret = creds;
		p->line = (int)config_setting_source_line(el);
		if (p->line == 0)
			p->line = (int)config_setting_source_line(st);
		if (p->name == NULL)
			return fail_at(ld, st, key, "out of memory");
		cfg->n_kafka_props++; /* owned by cfg from here on, freed with it on failure */
		if (creds ? read_credential(ld, el, eq + 1, &p->value) < 0 : (p->value = strdup(eq + 1)) == NULL)
			return creds ? -1 : fail_at(ld, st, key, "out of memory");
		if (managed_prop_check(ld, st, p->name) < 0)
			return -1;
	}
	return 0;
}

/* Other names a word setting accepts for one of its words (on one line: t_docs reads the table's rows above). */
static const char *const word_aliases[][2] = { { "warning", "warn" } };

static int load_word(struct loader *ld, config_setting_t *st, const char *key, const struct setting *s, int *dst)
{
	char list[256];
	const char *v;
	size_t o = 0;

	if (config_setting_type(st) != CONFIG_TYPE_STRING)
		return fail_at(ld, st, key, "expected a string in double quotes");
	v = config_setting_get_string(st);
	for (size_t a = 0; a < sizeof(word_aliases) / sizeof(word_aliases[0]); a++) {
		if (strcmp(v, word_aliases[a][0]) == 0)
			v = word_aliases[a][1];
	}
	for (int i = 0; s->words[i] != NULL; i++) {
		if (strcmp(s->words[i], v) == 0) {
			*dst = i;
			return 0;
		}
		o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0, "%s%s", i ? ", " : "", s->words[i]);
	}
	v = config_setting_get_string(st);
	return fail_at(ld, st, key, "\"%s\" is not one of %s", v, list);
}

static int load_one(struct loader *ld, config_setting_t *st, const struct setting *s, struct config *cfg)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", s->group, s->name);
	switch (s->type) {
	case ST_STRING:
		return load_string(ld, st, key, s, (char **)config_field(cfg, s));
	case ST_INT:
		return load_int(ld, st, key, s, (int *)config_field(cfg, s));
	case ST_WORD:
		return load_word(ld, st, key, s, (int *)config_field(cfg, s));
	case ST_PROPS:
	case ST_CREDS:
		return load_props(ld, st, cfg, s->type == ST_CREDS);
	}
	return -1;
}

/* Every setting in the file must be one we know: a typo must not silently fall back to a default. */
static int load_tree(struct loader *ld, config_setting_t *root, struct config *cfg)
{
	int ng = config_setting_length(root);

	for (int g = 0; g < ng; g++) {
		config_setting_t *grp = config_setting_get_elem(root, (unsigned)g);
		const char *gname = config_setting_name(grp);
		int nk;

		if (gname == NULL || !known_group(gname))
			return fail_at(ld, grp, gname ? gname : "?",
				       "unknown setting (known groups: postgres, kafka, relay, log, metrics, debezium)");
		if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
			return fail_at(ld, grp, gname, "expected a group: %s: { ... };", gname);
		nk = config_setting_length(grp);
		for (int k = 0; k < nk; k++) {
			config_setting_t *st = config_setting_get_elem(grp, (unsigned)k);
			const struct setting *s = find_setting(gname, config_setting_name(st));
			if (s == NULL) {
				char key[256];
				snprintf(key, sizeof(key), "%s.%s", gname, config_setting_name(st));
				return fail_at(ld, st, key, "unknown setting");
			}
			if (load_one(ld, st, s, cfg) < 0)
				return -1;
		}
	}
	return 0;
}

static int check_required(struct loader *ld, struct config *cfg)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		const struct setting *s = &config_settings[i];
		if (s->required && *(char **)config_field(cfg, s) == NULL) {
			snprintf(ld->err, ld->errsize, "%s: %s.%s: required setting is missing", ld->path, s->group,
				 s->name);
			return -1;
		}
	}
	return 0;
}

/* A conninfo libpq cannot parse is refused here, with libpq's message: it quotes the offending part of the
 * string, never a whole conninfo. */
static int check_conninfo(struct loader *ld, config_t *lc, const char *key, const char *conninfo)
{
	char *perr = NULL;
	PQconninfoOption *opts;

	if (conninfo == NULL)
		return 0;
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		char what[300];
		snprintf(what, sizeof(what), "invalid: %s", perr ? perr : "out of memory");
		PQfreemem(perr);
		return fail_at(ld, config_lookup(lc, key), key, "%s", what);
	}
	PQconninfoFree(opts);
	return 0;
}

static int check_semantics(struct loader *ld, config_t *lc, struct config *cfg)
{
	if (check_conninfo(ld, lc, "postgres.conninfo", cfg->pg_conninfo) < 0 ||
	    check_conninfo(ld, lc, "postgres.owner_conninfo", cfg->pg_owner_conninfo) < 0)
		return -1;
	if (cfg->lease_ttl_ms < 2 * cfg->heartbeat_ms)
		return fail_at(ld, config_lookup(lc, "relay.lease_ttl_ms"), "relay.lease_ttl_ms",
			       "must be at least twice relay.heartbeat_ms");
	{
		const char *ph = strstr(cfg->dbz_topic, "${routedByValue}");
		if (ph == NULL || strstr(ph + 1, "${routedByValue}") != NULL)
			return fail_at(ld, config_lookup(lc, "debezium.route_topic_replacement"),
				       "debezium.route_topic_replacement", "must contain ${routedByValue} exactly once");
	}
	if (cfg->backoff_max_ms < cfg->backoff_min_ms)
		return fail_at(ld, config_lookup(lc, "relay.backoff_max_ms"), "relay.backoff_max_ms",
			       "must not be less than relay.backoff_min_ms");
	return 0;
}

int config_parse(const char *name, const char *text, size_t len, struct config **out, char *errbuf,
		 size_t errsize)
{
	struct loader ld = { name, errbuf, errsize };
	struct config *cfg = NULL;
	char *copy = NULL;
	config_t lc;
	int rc = -1;

	config_init(&lc);
	if (config_scan(name, text, len, errbuf, errsize) < 0)
		goto done;
	/* libconfig wants a terminated string; the fuzzer and the file reader hand over counted bytes. */
	if ((copy = strndup(text, len)) == NULL) {
		snprintf(errbuf, errsize, "%s: out of memory", name);
		goto done;
	}
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		snprintf(errbuf, errsize, "%s:%d: syntax error: %s", name, config_error_line(&lc),
			 config_error_text(&lc));
		goto done;
	}
	if ((cfg = config_defaults()) == NULL || (cfg->path = strdup(name)) == NULL) {
		snprintf(errbuf, errsize, "%s: out of memory", name);
		goto done;
	}
	if (load_tree(&ld, config_root_setting(&lc), cfg) < 0 || check_required(&ld, cfg) < 0 ||
	    check_semantics(&ld, &lc, cfg) < 0)
		goto done;
	*out = cfg;
	cfg = NULL;
	rc = 0;
done:
	free(copy);
	config_free(cfg);
	config_destroy(&lc);
	return rc;
}

int config_load(const char *path, struct config **out, char *errbuf, size_t errsize)
{
	size_t len;
	char *text = read_bounded(path, CONFIG_MAX_BYTES, &len); /* one byte over the limit is seen as too large */
	int rc;

	if (text == NULL) {
		snprintf(errbuf, errsize, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	rc = config_parse(path, text, len, out, errbuf, errsize);
	free(text);
	return rc;
}
