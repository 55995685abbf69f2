/* The configuration file (libconfig syntax): loading, validation against one table of settings, printing with
 * secrets redacted. This module never exits and never logs: errors come back in errbuf, naming file, line, key. */
#ifndef OUTBOXD_CONFIG_H
#define OUTBOXD_CONFIG_H

#include <stdio.h>

#include "log.h"

/* A configuration file is a few KB; anything past this is a mistake or an attack. */
#define CONFIG_MAX_BYTES (1024 * 1024)

struct kafka_property {
	char *name;
	char *value;
	int line;   /* line in the config file, for error messages */
	int secret; /* read from a credential: never printed */
};

/* The words a mode setting accepts, in the order of its enum (config.c's settings table lists them). */
enum relay_ordering { ORDERING_KEY, ORDERING_NONE };
enum relay_on_sent { ON_SENT_MARK, ON_SENT_DELETE, ON_SENT_KEEP };
enum relay_on_error { ON_ERROR_PARK, ON_ERROR_BLOCK_KEY };

struct config {
	char *path;

	/* postgres */
	char *pg_conninfo;
	char *pg_owner_conninfo; /* NULL: pg_conninfo */
	char *pg_passfile;
	char *pg_schema;
	char *pg_table;

	/* kafka */
	char *kafka_brokers;
	struct kafka_property *kafka_props;
	int n_kafka_props;
	int kafka_props_line;

	/* relay */
	int batch_size;
	int batches_per_commit;
	int batch_max_bytes;
	int retention_s;
	int retention_batch;
	int poll_interval_ms;
	int delivery_timeout_ms;
	int shutdown_timeout_ms;
	int backoff_min_ms;
	int backoff_max_ms;
	char *event_id_header;
	enum relay_on_error on_permanent_error;
	char *dead_letter_topic; /* NULL: none */
	enum relay_on_sent on_sent;
	enum relay_ordering ordering;
	char *instance; /* NULL: HOSTNAME:PID */
	int heartbeat_ms;
	int lease_ttl_ms;
	char *epoch_header; /* NULL: not sent */

	/* metrics */
	char *metrics_listen; /* NULL: no endpoint */
	int ready_max_backoff_ms;

	/* cloudevents: binary content mode when ce_source is set */
	char *ce_source;       /* NULL: off */
	char *ce_type;         /* for rows without a ce_type header; NULL: such a row fails */
	char *ce_content_type; /* for rows without a content-type header */

	/* debezium: the source table for `outboxd schema debezium` (NULL: none) and its column mapping */
	char *dbz_table, *dbz_schema; /* dbz_schema NULL: postgres.schema */
	char *dbz_id, *dbz_key, *dbz_payload, *dbz_route_by;
	char *dbz_type;  /* NULL: the event type is not carried; else copied into the ce_type header */
	char *dbz_trace; /* the column of Debezium's tracing span context (traceparent, tracestate) */
	char *dbz_topic; /* contains ${routedByValue} once */

	/* log */
	enum log_level log_level;
	int stats_interval_ms;
};

/* Reads and validates path. On success *out is a new config the caller frees with config_free. On failure
 * returns -1 with one line in errbuf ("FILE:LINE: KEY: problem"). */
int config_load(const char *path, struct config **out, char *errbuf, size_t errsize);

/* A config with every default and no required value set; for tests and `schema print`. Caller frees. */
struct config *config_defaults(void);

/* As config_load, from len bytes of text (not NUL-terminated); name stands for the file in messages. */
int config_parse(const char *name, const char *text, size_t len, struct config **out, char *errbuf,
		 size_t errsize);

void config_free(struct config *cfg);

/* SIGHUP: moves what may change while running from fresh (a newly loaded config of the same file) into live,
 * in place, so every holder of live sees it; fresh gets the old values and is freed by the caller as usual.
 * Settings the table marks restart-only (postgres.*, relay.ordering, relay.on_sent, relay.instance, metrics.*)
 * keep their live values and are named, comma-separated, in restart. Returns what changed, as CONFIG_RELOAD_*
 * bits. */
#define CONFIG_RELOAD_KAFKA 1 /* brokers, properties or credentials: the producer must be recreated */
#define CONFIG_RELOAD_CLAIM 2 /* batch_size, batch_max_bytes, on_permanent_error: the claim is prepared again */
#define CONFIG_RELOAD_OTHER 4 /* read where used (intervals, timeouts, log level, headers) */
int config_reload(struct config *live, struct config *fresh, char *restart, size_t restart_size);

/* Prints the effective configuration in libconfig syntax; passwords and other secrets are redacted. */
void config_print(const struct config *cfg, FILE *out);

/* The word a mode setting holds, by its "group.name" (relay.ordering, log.level, ...); NULL for another key. */
const char *config_word(const struct config *cfg, const char *key);

/* 1 if a librdkafka property holds a secret (its value must never be printed or logged). */
int config_kafka_property_is_secret(const char *name);

#endif
