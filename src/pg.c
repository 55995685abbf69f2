/* The PostgreSQL handle: connecting (keepalives, the passfile, the table's quoted name), running a statement
 * and classifying its failure, committing and rolling back, and NOTIFY wake-ups. Every other pg_*.c module runs
 * its statements through the helpers here (src/pg_private.h). */
#include "pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "pg_private.h"

struct pg *pg_new(const struct config *cfg)
{
	struct pg *pg = calloc(1, sizeof(*pg));

	if (pg != NULL)
		pg->cfg = cfg, pg->conninfo = cfg->pg_conninfo;
	return pg;
}

struct pg *pg_new_owner(const struct config *cfg)
{
	struct pg *pg = pg_new(cfg);

	if (pg != NULL && cfg->pg_owner_conninfo != NULL)
		pg->conninfo = cfg->pg_owner_conninfo;
	return pg;
}

void pg_free(struct pg *pg)
{
	if (pg == NULL)
		return;
	pg_disconnect(pg);
	free(pg->ids_buf);
	free(pg);
}

void pg_disconnect(struct pg *pg)
{
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	free(pg->qschema);
	free(pg->qtable);
	free(pg->qfloor);
	pg->qschema = pg->qtable = pg->qfloor = NULL;
	pgi_progress_free(pg);
	pg->cand_xid[0] = '\0';
	pg->marking = NULL;
}

int pg_connected(const struct pg *pg)
{
	return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

int pg_socket(const struct pg *pg)
{
	return pg->conn ? PQsocket(pg->conn) : -1;
}

int pg_server_version(const struct pg *pg)
{
	return pg->conn ? PQserverVersion(pg->conn) : 0;
}

int pg_backend_pid(const struct pg *pg)
{
	return pg->conn ? PQbackendPID(pg->conn) : 0;
}

int pg_lib_version(void)
{
	return PQlibVersion();
}

/* The first line of libpq's message: enough to act on, and it never contains the conninfo or a password. */
void pgi_set_err(char *errbuf, size_t errsize, const char *what, const char *msg)
{
	size_t n;

	snprintf(errbuf, errsize, "%s: %s", what, msg && *msg ? msg : "unknown error");
	n = strcspn(errbuf, "\n");
	errbuf[n] = '\0';
}

/* Broken connection, server shutting down, or this backend terminated: all mean "reconnect". */
int pgi_rc_of(struct pg *pg, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pg->conn) != CONNECTION_OK)
		return PG_ERR_CONN;
	if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))
		return PG_ERR_CONN;
	return PG_ERR_QUERY;
}

/* Checks and frees (takes ownership of) the result of a statement whose rows, if any, are not needed. */
int pgi_result_ok(struct pg *pg, PGresult *res, const char *what, char *errbuf, size_t errsize)
{
	int rc = PG_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pgi_rc_of(pg, res);
		pgi_set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
	}
	PQclear(res);
	return rc;
}

/* res if it holds tuples; otherwise NULL with errbuf set and *rc the error class (res is cleared). */
PGresult *pgi_tuples(struct pg *pg, PGresult *res, const char *what, int *rc, char *errbuf, size_t errsize)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	*rc = pgi_rc_of(pg, res);
	pgi_set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
	PQclear(res);
	return NULL;
}

/* Runs a statement with text parameters on pg and returns its result with tuples, or NULL with errbuf set and
 * *rc the error class. The caller PQclears. */
PGresult *pgi_query(struct pg *pg, const char *sql, int n, const char *const *params, const char *what, int *rc,
		       char *errbuf, size_t errsize)
{
	return pgi_tuples(pg, PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0), what, rc, errbuf,
			      errsize);
}

/* As query, for a prepared statement. */
PGresult *pgi_query_prepared(struct pg *pg, const char *stmt, int n, const char *const *params, const char *what,
				int *rc, char *errbuf, size_t errsize)
{
	return pgi_tuples(pg, PQexecPrepared(pg->conn, stmt, n, params, NULL, NULL, 0), what, rc, errbuf, errsize);
}

int pgi_listing_rc(int rc)
{
	return rc == PG_ERR_QUERY ? PG_ERR_SCHEMA : rc;
}

int pgi_exec(struct pg *pg, const char *sql, const char *what, char *errbuf, size_t errsize)
{
	return pgi_result_ok(pg, PQexec(pg->conn, sql), what, errbuf, errsize);
}

int pgi_prepare(struct pg *pg, const char *name, const char *sql, int nparams, char *errbuf, size_t errsize)
{
	return pgi_result_ok(pg, PQprepare(pg->conn, name, sql, nparams, NULL), "cannot prepare statements", errbuf,
			 errsize);
}

/* schema."table<suffix>", quoted like every name from the config: the objects sql/ names after the table.
 * Caller frees. NULL with errbuf set when out of memory. */
char *pgi_qualified(struct pg *pg, const char *suffix, char *errbuf, size_t errsize)
{
	char name[128], *q, *out = NULL;

	snprintf(name, sizeof(name), "%s%s", pg->cfg->pg_table, suffix);
	if ((q = PQescapeIdentifier(pg->conn, name, strlen(name))) != NULL &&
	    (out = malloc(strlen(pg->qschema) + strlen(q) + 2)) != NULL)
		sprintf(out, "%s.%s", pg->qschema, q);
	PQfreemem(q);
	if (out == NULL)
		pgi_set_err(errbuf, errsize, "cannot quote a name", PQerrorMessage(pg->conn));
	return out;
}

int pg_connect(struct pg *pg, char *errbuf, size_t errsize)
{
	/* Keepalives and a TCP user timeout so a dead server is noticed in seconds, not hours. The conninfo comes
	 * last so that anything it says overrides these defaults. */
	const char *keys[12], *vals[12];
	int n = 0;
	char *qs = NULL, *qt = NULL;

	pg_disconnect(pg);
	keys[n] = "fallback_application_name", vals[n++] = "outboxd";
	keys[n] = "connect_timeout", vals[n++] = "10";
	keys[n] = "keepalives", vals[n++] = "1";
	keys[n] = "keepalives_idle", vals[n++] = "5";
	keys[n] = "keepalives_interval", vals[n++] = "2";
	keys[n] = "keepalives_count", vals[n++] = "3";
	keys[n] = "tcp_user_timeout", vals[n++] = "10000";
	if (pg->cfg->pg_passfile != NULL)
		keys[n] = "passfile", vals[n++] = pg->cfg->pg_passfile;
	keys[n] = "dbname", vals[n++] = pg->conninfo;
	keys[n] = NULL, vals[n] = NULL;

	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL) {
		pgi_set_err(errbuf, errsize, "cannot connect to PostgreSQL", "out of memory");
		return PG_ERR_CONN;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pgi_set_err(errbuf, errsize, "cannot connect to PostgreSQL", PQerrorMessage(pg->conn));
		pg_disconnect(pg);
		return PG_ERR_CONN;
	}
	qs = PQescapeIdentifier(pg->conn, pg->cfg->pg_schema, strlen(pg->cfg->pg_schema));
	qt = PQescapeIdentifier(pg->conn, pg->cfg->pg_table, strlen(pg->cfg->pg_table));
	if (qs == NULL || qt == NULL || (pg->qtable = malloc(strlen(qs) + strlen(qt) + 2)) == NULL ||
	    (pg->qschema = strdup(qs)) == NULL) {
		pgi_set_err(errbuf, errsize, "cannot quote the table name", PQerrorMessage(pg->conn));
		PQfreemem(qs);
		PQfreemem(qt);
		pg_disconnect(pg);
		return PG_ERR_QUERY;
	}
	sprintf(pg->qtable, "%s.%s", qs, qt);
	PQfreemem(qs);
	PQfreemem(qt);
	return PG_OK;
}

/* The mark statements take the claimed ids as one "{1,2,...}" parameter, and the claim a batch's ids as
 * "{[1,9],[12,12],...}", built in a buffer sized for a batch. */
int pgi_size_ids_buf(struct pg *pg, int rows, char *errbuf, size_t errsize)
{
	size_t need = (size_t)rows * 44 + 3;
	char *p;

	if (pg->ids_cap >= need)
		return PG_OK;
	if ((p = realloc(pg->ids_buf, need)) == NULL) {
		pgi_set_err(errbuf, errsize, "cannot allocate", "out of memory");
		return PG_ERR_NOMEM;
	}
	pg->ids_buf = p;
	pg->ids_cap = need;
	return PG_OK;
}

int pgi_commit(struct pg *pg, char *errbuf, size_t errsize)
{
	PGresult *res = PQexec(pg->conn, "COMMIT");
	int rc = PG_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pgi_rc_of(pg, res);
		pgi_set_err(errbuf, errsize, "commit failed", PQerrorMessage(pg->conn));
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* The transaction had failed earlier and COMMIT rolled it back. */
		rc = PG_ERR_QUERY;
		pgi_set_err(errbuf, errsize, "commit failed", "the transaction was rolled back");
	}
	PQclear(res);
	return rc;
}

/* Reads what is left of a sent statement's results; the first error, if any, goes to errbuf. */
int pgi_drain_results(struct pg *pg, char *errbuf, size_t errsize)
{
	const char *what = pg->marking != NULL ? pg->marking : "cannot mark rows";
	PGresult *res;
	int rc = PG_OK;

	pg->marking = NULL;
	while ((res = PQgetResult(pg->conn)) != NULL) {
		if (rc == PG_OK)
			rc = pgi_result_ok(pg, res, what, errbuf, errsize);
		else
			PQclear(res);
	}
	if (rc == PG_OK && PQstatus(pg->conn) != CONNECTION_OK) {
		rc = PG_ERR_CONN;
		pgi_set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
	}
	return rc;
}

int pg_commit(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc;

	if (pg->cfg->on_sent == ON_SENT_KEEP && (rc = pgi_progress_stamp(pg, errbuf, errsize)) != PG_OK)
		return rc;
	fault_point("before_commit");
	rc = pgi_commit(pg, errbuf, errsize);
	if (rc == PG_OK && pg->cfg->on_sent == ON_SENT_KEEP)
		pgi_progress_committed(pg);
	return rc;
}

void pg_abort(struct pg *pg)
{
	PGresult *res;

	if (pg->conn == NULL)
		return;
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_disconnect(pg);
		return;
	}
	if (pg->marking != NULL) {
		char ignored[8];
		pgi_drain_results(pg, ignored, sizeof(ignored));
	}
	if (PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(pg->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		pg_disconnect(pg);
	PQclear(res);
}

int pg_drain_notifies(struct pg *pg)
{
	PGnotify *n;
	int count = 0;

	if (pg->conn == NULL || PQconsumeInput(pg->conn) == 0)
		return PG_ERR_CONN;
	while ((n = PQnotifies(pg->conn)) != NULL) {
		PQfreemem(n);
		count++;
	}
	return count;
}
