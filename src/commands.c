/* Sub-commands: one-shot ones print to stdout and report errors as one line on stderr. */
#include "commands.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "relay.h"
#include "schema.h"
#include "version.h"

int cmd_run(struct config *cfg)
{
	char q[512];

	log_set_level(cfg->log_level);
	log_info("starting", "version=%s librdkafka=%s libpq=%d config=%s", OUTBOXD_VERSION, rd_kafka_version_str(),
		 PQlibVersion(), log_quote(q, sizeof(q), cfg->path));
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

/* Connects for a one-shot command; on failure prints the reason and returns the exit status. */
static int connect_once(struct pg *pg)
{
	char err[1024];

	if (pg == NULL) {
		fprintf(stderr, "outboxd: out of memory\n");
		return EX_OSERR;
	}
	if (pg_connect(pg, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* A change the database refused (no privilege, no such role, ids that are not failed rows) is a data error. */
static int refused_status(int rc)
{
	return rc == PG_ERR_CONN ? EX_UNAVAILABLE : EX_DATAERR;
}

static int exit_status_of(int rc)
{
	return rc == PG_ERR_CONN ? EX_UNAVAILABLE : rc == PG_ERR_SCHEMA ? EX_CONFIG : EX_SOFTWARE;
}

int cmd_schema_install(const struct config *cfg)
{
	struct pg *pg = pg_new_owner(cfg);
	char err[1024];
	int rc, from = 0, to = 0;

	if ((rc = connect_once(pg)) != 0)
		goto done;
	rc = pg_schema_install(pg, schema_render, schema_latest_version(), &from, &to, err, sizeof(err));
	if (rc != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	if (from == to)
		printf("schema of %s.%s is at version %d: nothing to do\n", cfg->pg_schema, cfg->pg_table, to);
	else
		printf("schema of %s.%s installed: version %d -> %d\n", cfg->pg_schema, cfg->pg_table, from, to);
	rc = 0;
done:
	pg_free(pg);
	return rc;
}

int cmd_schema_grant(const struct config *cfg, const char *role)
{
	struct pg *pg = NULL;
	char err[1024];
	char *sql = schema_render_grant(cfg->pg_schema, cfg->pg_table, role, err, sizeof(err));
	int rc;

	if (sql == NULL) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_USAGE;
	}
	pg = pg_new_owner(cfg);
	if ((rc = connect_once(pg)) != 0)
		goto done;
	if ((rc = pg_schema_grant(pg, sql, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	printf("granted %s the relay's privileges on %s.%s\n", role, cfg->pg_schema, cfg->pg_table);
	rc = 0;
done:
	free(sql);
	pg_free(pg);
	return rc;
}

int cmd_failed_list(const struct config *cfg)
{
	struct pg *pg = pg_new(cfg);
	PGresult *res = NULL;
	char err[1024];
	int rc;

	if ((rc = connect_once(pg)) != 0)
		goto done;
	if ((res = pg_failed_rows(pg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = EX_CONFIG;
		goto done;
	}
	printf("id\tevent_id\ttopic\tkey\tattempts\tfailed_at\tlast_error\n");
	for (int i = 0; i < PQntuples(res); i++) {
		for (int c = 0; c < PQnfields(res); c++)
			printf("%s%s", c ? "\t" : "", PQgetvalue(res, i, c));
		putchar('\n');
	}
	fprintf(stderr, "%d failed rows in %s.%s\n", PQntuples(res), cfg->pg_schema, cfg->pg_table);
done:
	PQclear(res);
	pg_free(pg);
	return rc;
}

int cmd_schema_debezium(const struct config *cfg)
{
	const char *schema = cfg->dbz_schema ? cfg->dbz_schema : cfg->pg_schema, *kind = NULL;
	const char *cols[4] = { cfg->dbz_id, cfg->dbz_route_by, cfg->dbz_key, cfg->dbz_payload };
	const char *ph = cfg->dbz_table ? strstr(cfg->dbz_topic, "${routedByValue}") : NULL;
	char err[1024], prefix[256], *sql = NULL;
	struct pg *pg = NULL;
	int rc;

	if (cfg->dbz_table == NULL) {
		fprintf(stderr, "outboxd: %s: debezium.table is not set: name the Debezium-style outbox table\n", cfg->path);
		return EX_CONFIG;
	}
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(ph - cfg->dbz_topic), cfg->dbz_topic);
	if ((rc = connect_once(pg = pg_new_owner(cfg))) != 0)
		goto done;
	if ((rc = pg_debezium_check(pg, schema, cfg->dbz_table, cols, &kind, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	{
		const char *vars[] = { "source_schema",	 schema,      "source_table", cfg->dbz_table, "id_field",
				       cols[0],		 "route_by_field", cols[1],   "key_field",    cols[2],
				       "payload_field",	 cols[3],     "topic_prefix", prefix,	     "topic_suffix",
				       ph + strlen("${routedByValue}"), "payload_kind", kind };
		sql = schema_render_debezium(cfg->pg_schema, cfg->pg_table, vars, (int)(sizeof(vars) / sizeof(vars[0]) / 2),
					     err, sizeof(err));
	}
	if (sql == NULL) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = EX_CONFIG;
		goto done;
	}
	if ((rc = pg_schema_grant(pg, sql, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	printf("rows inserted into %s.%s are now relayed through %s.%s as Debezium's outbox router would publish them"
	       " (topic %s, payload read as %s)\n",
	       schema, cfg->dbz_table, cfg->pg_schema, cfg->pg_table, cfg->dbz_topic, kind);
done:
	free(sql);
	pg_free(pg);
	return rc;
}

int cmd_retry(const struct config *cfg, const char *const *ids, int n_ids, int all)
{
	struct pg *pg = pg_new(cfg);
	long long n = 0;
	char err[1024];
	int rc;

	if ((rc = connect_once(pg)) != 0)
		goto done;
	if ((rc = pg_retry_failed(pg, ids, n_ids, all, &n, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	printf("retried %lld failed rows of %s.%s: they are pending again\n", n, cfg->pg_schema, cfg->pg_table);
done:
	pg_free(pg);
	return rc;
}

int cmd_replay(const struct config *cfg, const char *from_id, const char *since, const char *topic)
{
	struct pg *pg = pg_new(cfg);
	struct pg_replayed out;
	char err[1024];
	int rc;

	if ((rc = connect_once(pg)) != 0)
		goto done;
	if ((rc = pg_replay_sent(pg, from_id, since, topic, &out, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = refused_status(rc);
		goto done;
	}
	if (out.rows == 0)
		printf("replayed 0 rows of %s.%s: no sent row matched\n", cfg->pg_schema, cfg->pg_table);
	else
		printf("replayed %lld rows of %s.%s (ids %lld to %lld): they are pending again and will be published once more\n",
		       out.rows, cfg->pg_schema, cfg->pg_table, out.min_id, out.max_id);
done:
	pg_free(pg);
	return rc;
}

/* Who relays the table: each relay in the heartbeat table, then each bucket's owner, epoch and lag. */
static int print_ownership(struct pg *pg)
{
	char err[1024];
	PGresult *res;

	if ((res = pg_relays(pg, err, sizeof(err))) == NULL)
		goto fail;
	printf("relays:            %d\n", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++)
		printf("  relay instance=%s pid=%s ordering=%s heartbeat_age_ms=%s session=%s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		       strcmp(PQgetvalue(res, i, 4), "t") == 0 ? "alive" : "gone");
	PQclear(res);
	if ((res = pg_bucket_status(pg, err, sizeof(err))) == NULL)
		goto fail;
	printf("buckets:           %d\n", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++)
		printf("  bucket=%s owner=%s epoch=%s pending=%s oldest_pending_s=%s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	PQclear(res);
	return 0;
fail:
	fprintf(stderr, "outboxd: %s\n", err);
	return -1;
}

int cmd_status(const struct config *cfg)
{
	struct pg *pg = pg_new(cfg);
	struct pg_lag lag;
	char err[1024];
	int rc, version = 0;

	if ((rc = connect_once(pg)) != 0)
		goto done;
	rc = pg_lag(pg, &lag, err, sizeof(err));
	if (rc == PG_OK)
		rc = pg_schema_version(pg, &version, err, sizeof(err));
	if (rc != PG_OK) {
		fprintf(stderr, "outboxd: %s\n", err);
		rc = exit_status_of(rc == PG_ERR_QUERY ? PG_ERR_SCHEMA : rc);
		goto done;
	}
	printf("table:             %s.%s\n", cfg->pg_schema, cfg->pg_table);
	printf("schema_version:    %d\n", version);
	printf("pending:           %lld\n", lag.pending);
	printf("oldest_pending_ms: %lld\n", lag.oldest_pending_ms);
	printf("failed:            %lld\n", lag.failed);
	rc = 0;
	if (version >= 4 && print_ownership(pg) < 0)
		rc = EX_UNAVAILABLE;
done:
	pg_free(pg);
	return rc;
}
