/* The outbox's schema in the database: which version of sql/ a table is at, installing or upgrading it in one
 * transaction, running the rendered grant and Debezium scripts, and checking a Debezium-style table's columns. */
#include "pg_schema.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

#define SCHEMA_LOCK_KEY "7374920001" /* pg_advisory_xact_lock key serialising schema installs */

/* Two statements, as the version table itself may not exist yet. */
int pgi_read_version(struct pg *pg, int *version, char *errbuf, size_t errsize)
{
	char meta[300], sql[512];
	PGresult *res;
	int rc = PG_OK, exists;

	*version = 0;
	snprintf(meta, sizeof(meta), "%s.outboxd_schema", pg->qschema);
	if ((res = pgi_query(pg, "SELECT to_regclass($1) IS NOT NULL", 1, (const char *[]){ meta },
			     "cannot read the schema version", &rc, errbuf, errsize)) == NULL)
		return rc;
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return PG_OK;
	snprintf(sql, sizeof(sql), "SELECT version FROM %s WHERE table_name = $1", meta);
	if ((res = pgi_query(pg, sql, 1, (const char *[]){ pg->cfg->pg_table }, "cannot read the schema version", &rc,
			     errbuf, errsize)) == NULL)
		return rc;
	*version = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return PG_OK;
}

int pg_schema_version(struct pg *pg, int *version, char *errbuf, size_t errsize)
{
	return pgi_read_version(pg, version, errbuf, errsize);
}

int pg_schema_install(struct pg *pg, pg_render_fn render, int latest, int *from, int *to, char *errbuf,
		      size_t errsize)
{
	char *sql = NULL;
	int rc;

	rc = pgi_exec(pg, "BEGIN; SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")",
		      "cannot begin", errbuf, errsize);
	if (rc != PG_OK)
		goto fail;
	if ((rc = pgi_read_version(pg, from, errbuf, errsize)) != PG_OK)
		goto fail;
	*to = *from > latest ? *from : latest;
	if (*from < latest) {
		if ((sql = render(pg->cfg->pg_schema, pg->cfg->pg_table, *from, errbuf, errsize)) == NULL) {
			rc = PG_ERR_QUERY;
			goto fail;
		}
		if ((rc = pgi_exec(pg, sql, "schema install failed", errbuf, errsize)) != PG_OK)
			goto fail;
	}
	free(sql);
	return pgi_commit(pg, errbuf, errsize);
fail:
	free(sql);
	pg_abort(pg);
	return rc;
}

int pg_schema_grant(struct pg *pg, const char *sql, char *errbuf, size_t errsize)
{
	int rc = pgi_exec(pg, "BEGIN; SET LOCAL client_min_messages = warning", "cannot begin", errbuf, errsize);

	if (rc == PG_OK && (rc = pgi_exec(pg, sql, "grant failed", errbuf, errsize)) == PG_OK)
		return pgi_commit(pg, errbuf, errsize);
	pg_abort(pg);
	return rc;
}

int pg_schema_partition(struct pg *pg, const char *sql, int *converted, char *errbuf, size_t errsize)
{
	char rel[300];
	PGresult *res;
	int rc;

	snprintf(rel, sizeof(rel), "%s", pg->qtable);
	rc = pgi_exec(pg,
		      "BEGIN; SET LOCAL client_min_messages = warning; SET LOCAL lock_timeout = '10s';"
		      " SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")",
		      "cannot begin", errbuf, errsize);
	if (rc != PG_OK)
		goto fail;
	if ((res = pgi_query(pg, "SELECT NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1))",
			     1, (const char *[]){ rel }, "cannot read the table", &rc, errbuf, errsize)) == NULL)
		goto fail;
	*converted = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if ((rc = pgi_exec(pg, sql, "schema partition failed", errbuf, errsize)) != PG_OK)
		goto fail;
	return pgi_commit(pg, errbuf, errsize);
fail:
	pg_abort(pg);
	return rc;
}

int pg_debezium_check(struct pg *pg, const char *schema, const char *table, const char *const cols[4],
		      const char **payload_kind, char *errbuf, size_t errsize)
{
	char *qs = NULL, *qt = NULL, *rel = NULL, arr[300];
	const char *params[2] = { NULL, arr };
	PGresult *res = NULL;
	int rc = PG_ERR_QUERY;

	/* cols: id, route-by, key, payload. The names go in as an array parameter, so any name is safe here. */
	if ((qs = PQescapeIdentifier(pg->conn, schema, strlen(schema))) == NULL ||
	    (qt = PQescapeIdentifier(pg->conn, table, strlen(table))) == NULL ||
	    (rel = malloc(strlen(qs) + strlen(qt) + 2)) == NULL) {
		pgi_set_err(errbuf, errsize, "cannot quote the Debezium table's name", PQerrorMessage(pg->conn));
		goto done;
	}
	sprintf(rel, "%s.%s", qs, qt);
	params[0] = rel;
	snprintf(arr, sizeof(arr), "{\"%s\",\"%s\",\"%s\",\"%s\"}", cols[0], cols[1], cols[2], cols[3]);
	if (strpbrk(cols[0], "\"\\") || strpbrk(cols[1], "\"\\") || strpbrk(cols[2], "\"\\") ||
	    strpbrk(cols[3], "\"\\")) {
		snprintf(errbuf, errsize, "debezium: column names must not contain quotes or backslashes");
		goto done;
	}
	res = pgi_query(pg,
			"SELECT c.name, t.typname, t.typcategory FROM unnest($2::text[]) WITH ORDINALITY c(name, n)"
			" LEFT JOIN pg_attribute a ON a.attrelid = to_regclass($1) AND a.attname = c.name AND a.attnum > 0"
			"  AND NOT a.attisdropped LEFT JOIN pg_type t ON t.oid = a.atttypid ORDER BY c.n",
			2, params, "cannot read the Debezium table", &rc, errbuf, errsize);
	if (res == NULL)
		goto done;
	rc = PG_ERR_QUERY;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *type = PQgetvalue(res, i, 1), *cat = PQgetvalue(res, i, 2);
		if (PQgetisnull(res, i, 1)) {
			snprintf(errbuf, errsize, "debezium: table %s has no column \"%s\"", rel, PQgetvalue(res, i, 0));
			goto done;
		}
		if (i == 0 && strcmp(type, "uuid") != 0 && strcmp(cat, "S") != 0) {
			snprintf(errbuf, errsize, "debezium: column \"%s\" is %s; the event id must be uuid or text",
				 cols[0], type);
			goto done;
		}
		if (i == 3) {
			if (strcmp(type, "json") == 0 || strcmp(type, "jsonb") == 0)
				*payload_kind = "json";
			else if (strcmp(cat, "S") == 0)
				*payload_kind = "text";
			else {
				snprintf(errbuf, errsize, "debezium: column \"%s\" is %s; the payload must be jsonb, json or text",
					 cols[3], type);
				goto done;
			}
		}
	}
	rc = PG_OK;
done:
	PQclear(res);
	PQfreemem(qs);
	PQfreemem(qt);
	free(rel);
	return rc;
}
