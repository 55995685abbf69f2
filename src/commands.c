/* Sub-commands. One-shot ones print to stdout and report an error as one line on stderr; each connects, runs its
 * statements through the pg_* modules and prints what they found (one_shot), and exit_status alone turns what
 * went wrong into the documented exit status. */
#include "commands.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "pg_admin.h"
#include "pg_claim.h"
#include "pg_schema.h"
#include "relay.h"
#include "schema.h"
#include "version.h"

/* The one place where what went wrong in PostgreSQL becomes an exit status (README: "Command line"). */
static int exit_status(int rc)
{
	switch (rc) {
	case PG_OK:
		return 0;
	case PG_ERR_CONN:
	case PG_ERR_STANDBY:
		return EX_UNAVAILABLE; /* unreachable, the login refused, or not the primary */
	case PG_ERR_SCHEMA:
		return EX_CONFIG; /* the table missing or too old, or a setting that cannot work */
	case PG_ERR_QUERY:
		return EX_DATAERR; /* the database refused the change: no privilege, no such role or row */
	case PG_ERR_NOMEM:
		return EX_OSERR;
	default:
		return EX_SOFTWARE;
	}
}

/* A one-shot command's body: runs on a connected handle and prints what it found. Returns a pg_rc, with err set
 * when it is not PG_OK. */
typedef int (*one_shot_fn)(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize);

/* Connects (as the table's owner when as_owner), runs fn, reports its error and returns the exit status. */
static int one_shot(const struct config *cfg, int as_owner, one_shot_fn fn, const void *arg)
{
	struct pg *pg = as_owner ? pg_new_owner(cfg) : pg_new(cfg);
	char err[1024] = "out of memory";
	int rc = pg == NULL ? PG_ERR_NOMEM : pg_connect(pg, err, sizeof(err));

	if (rc == PG_OK)
		rc = fn(pg, cfg, arg, err, sizeof(err));
	if (rc != PG_OK)
		fprintf(stderr, "outboxd: %s\n", err);
	pg_free(pg);
	return exit_status(rc);
}

int cmd_run(struct config *cfg)
{
	log_set_level(cfg->log_level);
	log_info("starting", "version=%s librdkafka=%s libpq=%d config=%s", OUTBOXD_VERSION, rd_kafka_version_str(),
		 pg_lib_version(), log_q(cfg->path));
	return relay_run(cfg);
}

int cmd_check_config(const struct config *cfg)
{
	char err[1024];

	if (kafka_check_config(cfg, err, sizeof(err)) < 0 || metrics_check_listen(cfg->metrics_listen, err, sizeof(err)) < 0) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_CONFIG;
	}
	config_print(cfg, stdout);
	return 0;
}

int cmd_schema_print(const char *schema, const char *table)
{
	char err[512];
	char *sql = schema_render(schema, table, 0, err, sizeof(err));

	if (sql == NULL) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_USAGE;
	}
	fputs(sql, stdout);
	free(sql);
	return 0;
}

static int schema_install(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	int rc, from = 0, to = 0;

	(void)arg;
	if ((rc = pg_schema_install(pg, schema_render, schema_latest_version(), &from, &to, err, errsize)) != PG_OK)
		return rc;
	if (from == to)
		printf("schema of %s.%s is at version %d: nothing to do\n", cfg->pg_schema, cfg->pg_table, to);
	else
		printf("schema of %s.%s installed: version %d -> %d\n", cfg->pg_schema, cfg->pg_table, from, to);
	return PG_OK;
}

int cmd_schema_install(const struct config *cfg)
{
	return one_shot(cfg, 1, schema_install, NULL);
}

static int schema_partition(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	char *sql = schema_render_partition(cfg->pg_schema, cfg->pg_table, arg, err, errsize);
	int rc, converted = 0;

	if (sql == NULL)
		return PG_ERR_SCHEMA;
	rc = pg_schema_partition(pg, sql, &converted, err, errsize);
	free(sql);
	if (rc != PG_OK)
		return rc;
	if (converted)
		printf("%s.%s is now partitioned by id (%s.%s_p0 holds the rows so far); retention drops whole partitions\n",
		       cfg->pg_schema, cfg->pg_table, cfg->pg_schema, cfg->pg_table);
	else
		printf("%s.%s is already partitioned: nothing to do\n", cfg->pg_schema, cfg->pg_table);
	return PG_OK;
}

int cmd_schema_partition(const struct config *cfg, const char *rows)
{
	if (cfg->on_sent != ON_SENT_KEEP) {
		fprintf(stderr, "outboxd: %s: relay.on_sent is not \"keep\": partitions serve keep's retention only\n",
			cfg->path);
		return EX_CONFIG;
	}
	return one_shot(cfg, 1, schema_partition, rows);
}

struct grant {
	const char *role, *sql;
};

static int schema_grant(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	const struct grant *g = arg;
	int rc;

	if ((rc = pg_schema_grant(pg, g->sql, err, errsize)) == PG_OK)
		printf("granted %s the relay's privileges on %s.%s\n", g->role, cfg->pg_schema, cfg->pg_table);
	return rc;
}

int cmd_schema_grant(const struct config *cfg, const char *role)
{
	char err[1024];
	struct grant g = { role, schema_render_grant(cfg->pg_schema, cfg->pg_table, role, err, sizeof(err)) };
	int rc;

	if (g.sql == NULL) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_USAGE;
	}
	rc = one_shot(cfg, 1, schema_grant, &g);
	free((char *)g.sql);
	return rc;
}

static void print_failed(const struct pg_failed_row *r, void *arg)
{
	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%d\t%s\t%s\n", r->id, r->event_id, r->topic, r->key, r->attempts, r->failed_at,
	       r->last_error);
}

static int failed_list(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	int rc, n = 0;

	(void)arg;
	printf("id\tevent_id\ttopic\tkey\tattempts\tfailed_at\tlast_error\n");
	if ((rc = pg_failed_rows(pg, print_failed, NULL, &n, err, errsize)) == PG_OK)
		fprintf(stderr, "%d failed rows in %s.%s\n", n, cfg->pg_schema, cfg->pg_table);
	return rc;
}

int cmd_failed_list(const struct config *cfg)
{
	return one_shot(cfg, 0, failed_list, NULL);
}

static int schema_debezium(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	const char *schema = cfg->dbz_schema ? cfg->dbz_schema : cfg->pg_schema, *kind = NULL;
	const char *cols[4] = { cfg->dbz_id, cfg->dbz_route_by, cfg->dbz_key, cfg->dbz_payload };
	const char *ph = strstr(cfg->dbz_topic, "${routedByValue}");
	char prefix[256], *sql;
	int rc;

	(void)arg;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(ph - cfg->dbz_topic), cfg->dbz_topic);
	if ((rc = pg_debezium_check(pg, schema, cfg->dbz_table, cols, &kind, err, errsize)) != PG_OK)
		return rc;
	{
		const char *vars[] = { "source_schema",	 schema,      "source_table", cfg->dbz_table, "id_field",
				       cols[0],		 "route_by_field", cols[1],   "key_field",    cols[2],
				       "payload_field",	 cols[3],     "topic_prefix", prefix,	     "topic_suffix",
				       ph + strlen("${routedByValue}"), "payload_kind", kind, "trace_field", cfg->dbz_trace,
				       "type_field", cfg->dbz_type ? cfg->dbz_type : "" };
		sql = schema_render_debezium(cfg->pg_schema, cfg->pg_table, vars, (int)(sizeof(vars) / sizeof(vars[0]) / 2),
					     err, errsize);
	}
	if (sql == NULL)
		return PG_ERR_SCHEMA;
	if ((rc = pg_schema_grant(pg, sql, err, errsize)) == PG_OK)
		printf("rows inserted into %s.%s are now relayed through %s.%s as Debezium's outbox router would publish"
		       " them (topic %s, payload read as %s)\n",
		       schema, cfg->dbz_table, cfg->pg_schema, cfg->pg_table, cfg->dbz_topic, kind);
	free(sql);
	return rc;
}

int cmd_schema_debezium(const struct config *cfg)
{
	if (cfg->dbz_table == NULL) {
		fprintf(stderr, "outboxd: %s: debezium.table is not set: name the Debezium-style outbox table\n", cfg->path);
		return EX_CONFIG;
	}
	return one_shot(cfg, 1, schema_debezium, NULL);
}

struct retry {
	const char *const *ids;
	int n_ids, all;
};

static int retry(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	const struct retry *a = arg;
	long long n = 0;
	int rc, moved = 0;

	if ((rc = pg_retry_failed(pg, a->ids, a->n_ids, a->all, &n, &moved, err, errsize)) == PG_OK)
		printf("retried %lld failed rows of %s.%s: they are pending again%s\n", n, cfg->pg_schema, cfg->pg_table,
		       moved ? ", under new ids (the same event ids), after the rows pending now" : "");
	return rc;
}

int cmd_retry(const struct config *cfg, const char *const *ids, int n_ids, int all)
{
	struct retry a = { ids, n_ids, all };

	return one_shot(cfg, 0, retry, &a);
}

struct replay {
	const char *from_id, *since, *topic;
};

static int replay(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	const struct replay *a = arg;
	struct pg_replayed out;
	int rc;

	if ((rc = pg_replay_sent(pg, a->from_id, a->since, a->topic, &out, err, errsize)) != PG_OK)
		return rc;
	if (out.rows == 0)
		printf("replayed 0 rows of %s.%s: no sent row matched\n", cfg->pg_schema, cfg->pg_table);
	else
		printf("replayed %lld rows of %s.%s (ids %lld to %lld): they are pending again and will be published once more\n",
		       out.rows, cfg->pg_schema, cfg->pg_table, out.min_id, out.max_id);
	return PG_OK;
}

int cmd_replay(const struct config *cfg, const char *from_id, const char *since, const char *topic)
{
	struct replay a = { from_id, since, topic };

	return one_shot(cfg, 0, replay, &a);
}

static void print_relay(const struct pg_relay_state *r, void *out)
{
	fprintf(out, "  relay instance=%s pid=%d ordering=%s heartbeat_age_ms=%lld session=%s\n", r->instance, r->pid,
		r->ordering, r->heartbeat_age_ms, r->alive ? "alive" : "gone");
}

/* The buckets, summed up per owner (in the order owners first appear), and each bucket's line when asked. */
struct owners {
	FILE *lines; /* NULL: no line per bucket */
	int n, cap;
	struct owner_sum {
		char name[256];
		int buckets;
		long long pending, oldest_pending_s;
	} *sum;
};

static void add_bucket(const struct pg_bucket_state *b, void *arg)
{
	struct owners *o = arg;
	int i = 0;

	if (o->lines != NULL)
		fprintf(o->lines, "  bucket=%d owner=%s epoch=%lld pending=%lld oldest_pending_s=%lld\n", b->bucket,
			b->owner, b->epoch, b->pending, b->oldest_pending_s);
	while (i < o->n && strcmp(o->sum[i].name, b->owner) != 0)
		i++;
	if (i == o->n) {
		if (o->n == o->cap) {
			struct owner_sum *grown = realloc(o->sum, (size_t)(o->cap + 8) * sizeof(*grown));
			if (grown == NULL)
				return; /* the summary misses this owner; status prints what it has */
			o->sum = grown;
			o->cap += 8;
		}
		o->sum[o->n] = (struct owner_sum){ 0 };
		snprintf(o->sum[o->n++].name, sizeof(o->sum[0].name), "%s", b->owner);
	}
	o->sum[i].buckets++;
	o->sum[i].pending += b->pending;
	if (b->oldest_pending_s > o->sum[i].oldest_pending_s)
		o->sum[i].oldest_pending_s = b->oldest_pending_s;
}

/* Who relays the table: how many relays are in the heartbeat table, then each of them; how many buckets, then a
 * line per owner ("-": nobody holds them) and, with each_bucket, a line per bucket. Each list's lines are gathered
 * first, as its count heads them. */
static int print_ownership(struct pg *pg, int each_bucket, char *err, size_t errsize)
{
	struct owners o = { 0 };
	char *lines = NULL;
	size_t len = 0;
	FILE *f;
	int rc, n = 0;

	if ((f = open_memstream(&lines, &len)) == NULL)
		return PG_ERR_NOMEM;
	rc = pg_relays(pg, print_relay, f, &n, err, errsize);
	fclose(f);
	if (rc == PG_OK)
		printf("relays:            %d\n%s", n, lines);
	free(lines);
	if (rc != PG_OK)
		return rc;
	if ((f = open_memstream(&lines, &len)) == NULL)
		return PG_ERR_NOMEM;
	o.lines = each_bucket ? f : NULL;
	rc = pg_bucket_status(pg, add_bucket, &o, &n, err, errsize);
	fclose(f);
	if (rc == PG_OK) {
		printf("buckets:           %d\n", n);
		for (int i = 0; i < o.n; i++)
			printf("  owner=%s buckets=%d pending=%lld oldest_pending_s=%lld\n", o.sum[i].name, o.sum[i].buckets,
			       o.sum[i].pending, o.sum[i].oldest_pending_s);
		fputs(lines, stdout);
	}
	free(lines);
	free(o.sum);
	return rc;
}

static int status(struct pg *pg, const struct config *cfg, const void *arg, char *err, size_t errsize)
{
	struct pg_lag lag;
	long long replay_to, replay_cur;
	int rc, version = 0;

	if ((rc = pg_lag(pg, &lag, err, errsize)) != PG_OK || (rc = pg_schema_version(pg, &version, err, errsize)) != PG_OK ||
	    (rc = pg_replay_state(pg, version, &replay_to, &replay_cur, err, errsize)) != PG_OK)
		return rc;
	printf("table:             %s.%s\n", cfg->pg_schema, cfg->pg_table);
	printf("schema_version:    %d\n", version);
	printf("pending:           %lld\n", lag.pending);
	printf("oldest_pending_ms: %lld\n", lag.oldest_pending_ms);
	printf("failed:            %lld\n", lag.failed);
	if (replay_to >= 0) /* "keep": the rows being published again are not pending */
		printf("replaying:         ids up to %lld, published again up to %lld\n", replay_to, replay_cur);
	return version >= 4 ? print_ownership(pg, *(const int *)arg, err, errsize) : PG_OK;
}

int cmd_status(const struct config *cfg, int buckets)
{
	return one_shot(cfg, 0, status, &buckets);
}
