/* Each claimed row's outcome, written in the claim's transaction: sent_at for a delivered row (or a DELETE with
 * on_sent = "delete"), failed_at and the reason for one that can never be delivered, and for the rest one more
 * attempt, scheduled (schema version 5) with a capped, jittered backoff. And retention: the purge of rows sent
 * long enough ago. */
#include "pg_mark.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

/* What an UPDATE that ends a row's retry schedule adds to its SET list (schema version 5 has the column). */
const char *pgi_unschedule(int version)
{
	return version >= 5 ? ", next_attempt_at = NULL" : "";
}

/* Retention's statement (schema version 3) calls the table's purge function. */
int pgi_prepare_marks(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[2048], *fn;
	int rc;

	if (pg->cfg->on_sent == ON_SENT_DELETE)
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ANY($1::bigint[])", pg->qtable);
	else
		snprintf(sql, sizeof(sql), "UPDATE %s SET sent_at = now() WHERE id = ANY($1::bigint[])", pg->qtable);
	if ((rc = pgi_prepare(pg, "mark_sent", sql, 1, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET failed_at = now(), attempts = attempts + 1, last_error = $2%s WHERE id = $1::bigint",
		 pg->qtable, pgi_unschedule(pg->schema_version));
	if ((rc = pgi_prepare(pg, "mark_failed", sql, 2, errbuf, errsize)) != PG_OK)
		return rc;
	/* "keep" with block_key: a row behind a failed one of its key is set aside with it, never having been tried. */
	snprintf(sql, sizeof(sql), "UPDATE %s SET failed_at = now(), last_error = $2%s WHERE id = ANY($1::bigint[])",
		 pg->qtable, pgi_unschedule(pg->schema_version));
	if (pg->cfg->on_sent == ON_SENT_KEEP && (rc = pgi_prepare(pg, "mark_blocked", sql, 2, errbuf, errsize)) != PG_OK)
		return rc;
	/* Version 5 schedules the next attempt in the row: min * 2^attempts, capped at max, times a random factor
	 * in [0.5, 1) so that rows failed together do not all come back at once. */
	if (pg->schema_version >= 5)
		snprintf(sql, sizeof(sql),
			 "UPDATE %s SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() +"
			 " least($4::float8, $3::float8 * 2 ^ least(attempts, 30)) * (0.5 + random() / 2)"
			 " * interval '1 millisecond' WHERE id = ANY($1::bigint[])",
			 pg->qtable);
	else
		snprintf(sql, sizeof(sql),
			 "UPDATE %s SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])"
			 " AND $3::text IS NOT NULL AND $4::text IS NOT NULL",
			 pg->qtable);
	if ((rc = pgi_prepare(pg, "mark_retry", sql, 4, errbuf, errsize)) != PG_OK || pg->schema_version < 3)
		return rc;
	/* With "keep" no row is ever marked sent: retention goes by the progress (schema version 7). */
	if ((fn = pgi_qualified(pg, pg->cfg->on_sent == ON_SENT_KEEP ? "_purge_kept" : "_purge", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s($1::interval, $2::integer)", fn);
	free(fn);
	return pgi_prepare(pg, "purge", sql, 2, errbuf, errsize);
}

#define STATE(s) (1u << (s))

/* "{id,id,...}" of the rows whose state is in mask (STATE bits); returns how many. first_reason, when not NULL,
 * receives the first such row's reason. */
static int ids_of(struct pg *pg, const struct batch *b, unsigned mask, const char **first_reason)
{
	size_t o = 0;
	int n = 0;

	pg->ids_buf[o++] = '{';
	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *r = &b->rows[i];
		if (!(mask & STATE(r->state)))
			continue;
		if (n == 0 && first_reason != NULL)
			*first_reason = r->reason;
		o += (size_t)snprintf(pg->ids_buf + o, pg->ids_cap - o, "%s%lld", n ? "," : "", (long long)r->id);
		n++;
	}
	pg->ids_buf[o++] = '}';
	pg->ids_buf[o] = '\0';
	return n;
}

static int exec_prepared(struct pg *pg, const char *stmt, int n, const char *const *params, char *errbuf,
			 size_t errsize)
{
	return pgi_result_ok(pg, PQexecPrepared(pg->conn, stmt, n, params, NULL, NULL, 0), "cannot mark rows", errbuf,
			     errsize);
}

static int mark_failed_rows(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize)
{
	int rc;

	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *r = &b->rows[i];
		char id[24];
		if (r->state != ROW_FAILED)
			continue;
		snprintf(id, sizeof(id), "%lld", (long long)r->id);
		if ((rc = exec_prepared(pg, "mark_failed", 2, (const char *[]){ id, r->reason }, errbuf, errsize)) !=
		    PG_OK)
			return rc;
	}
	return PG_OK;
}

/* Each outcome in turn, waiting for each statement. */
static int mark_each(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize)
{
	char bmin[16], bmax[16];
	const char *reason = NULL;
	int rc;

	if (ids_of(pg, b, STATE(ROW_ACKED), NULL) > 0 &&
	    (rc = exec_prepared(pg, "mark_sent", 1, (const char *[]){ pg->ids_buf }, errbuf, errsize)) != PG_OK)
		return rc;
	if ((rc = mark_failed_rows(pg, b, errbuf, errsize)) != PG_OK)
		return rc;
	/* Every other row stays unsent; one reason (the first) stands for all, as they almost always share it. */
	snprintf(bmin, sizeof(bmin), "%d", pg->cfg->backoff_min_ms);
	snprintf(bmax, sizeof(bmax), "%d", pg->cfg->backoff_max_ms);
	if (ids_of(pg, b, ~(STATE(ROW_ACKED) | STATE(ROW_FAILED)), &reason) > 0 &&
	    (rc = exec_prepared(pg, "mark_retry", 4, (const char *[]){ pg->ids_buf, reason, bmin, bmax }, errbuf,
				errsize)) != PG_OK)
		return rc;
	return PG_OK;
}

/* The one statement of a fully delivered batch, sent without waiting (pg_mark_batch_wait reads its outcome). */
static int send_prepared(struct pg *pg, const char *stmt, const char *param, const char *what, char *errbuf,
			 size_t errsize)
{
	if (!PQsendQueryPrepared(pg->conn, stmt, 1, (const char *[]){ param }, NULL, NULL, 0)) {
		pgi_set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
		return pgi_rc_of(pg, NULL);
	}
	pg->marking = what;
	return PG_OK;
}

/* With "keep" a delivered row is not written: failed and blocked rows are marked, and the progress moves past the
 * batch's settled rows. */
static int keep_send(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize)
{
	int rc, all = batch_count(b, ROW_ACKED) == b->n;
	const char *reason = NULL;
	char cur[24];

	if (!all && (rc = mark_failed_rows(pg, b, errbuf, errsize)) != PG_OK)
		return rc;
	if (!all && ids_of(pg, b, STATE(ROW_BLOCKED), &reason) > 0 &&
	    (rc = exec_prepared(pg, "mark_blocked", 2, (const char *[]){ pg->ids_buf, reason }, errbuf, errsize)) != PG_OK)
		return rc;
	if (!pgi_progress_cursor(pg, b, cur, sizeof(cur)))
		return PG_OK;
	if (all)
		return send_prepared(pg, pgi_progress_save(pg), cur, "cannot save the progress", errbuf, errsize);
	return pgi_result_ok(pg, PQexecPrepared(pg->conn, pgi_progress_save(pg), 1, (const char *[]){ cur }, NULL, NULL, 0),
			     "cannot save the progress", errbuf, errsize);
}

int pg_mark_batch_send(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize)
{
	if (pg->cfg->on_sent == ON_SENT_KEEP)
		return keep_send(pg, b, errbuf, errsize);
	if (batch_count(b, ROW_ACKED) < b->n)
		return mark_each(pg, b, errbuf, errsize);
	ids_of(pg, b, STATE(ROW_ACKED), NULL);
	return send_prepared(pg, "mark_sent", pg->ids_buf, "cannot mark rows", errbuf, errsize);
}

int pg_mark_batch_wait(struct pg *pg, char *errbuf, size_t errsize)
{
	return pg->marking != NULL ? pgi_drain_results(pg, errbuf, errsize) : PG_OK;
}

int pg_purge_sent(struct pg *pg, int older_than_s, int max_rows, int *deleted, char *errbuf, size_t errsize)
{
	char age[32], n[16];
	const char *params[2] = { age, n };
	PGresult *res;
	int rc = PG_OK;

	*deleted = 0;
	if (pg->schema_version < 3)
		return PG_OK; /* no purge function before schema version 3 */
	/* Retention off: nothing goes, but a partitioned "keep" table (version 10) still needs its partition ahead. */
	if (older_than_s == 0 && (pg->cfg->on_sent != ON_SENT_KEEP || pg->schema_version < 10))
		return PG_OK;
	if (older_than_s == 0)
		params[0] = NULL;
	snprintf(age, sizeof(age), "%d seconds", older_than_s);
	snprintf(n, sizeof(n), "%d", max_rows);
	if ((res = pgi_query_prepared(pg, "purge", 2, params, "cannot purge sent rows", &rc, errbuf, errsize)) == NULL)
		return rc;
	*deleted = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return PG_OK;
}
