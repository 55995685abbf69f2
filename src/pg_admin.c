/* The operator's statements, for the one-shot commands: list the failed rows, make them pending again, replay sent
 * rows, and read who relays the table. Results reach the caller as structs through a callback, so no caller
 * needs libpq. */
#include "pg_admin.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

int pg_failed_rows(struct pg *pg, void (*each)(const struct pg_failed_row *row, void *arg), void *arg, int *n,
		   char *errbuf, size_t errsize)
{
	char sql[512];
	PGresult *res;
	int rc = PG_OK;

	snprintf(sql, sizeof(sql),
		 "SELECT id, event_id, topic, coalesce(key, ''), attempts, failed_at, coalesce(last_error, '') FROM %s"
		 " WHERE failed_at IS NOT NULL AND sent_at IS NULL ORDER BY id",
		 pg->qtable);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot list failed rows", &rc, errbuf, errsize)) == NULL)
		return pgi_listing_rc(rc);
	*n = PQntuples(res);
	for (int i = 0; i < *n; i++) {
		struct pg_failed_row row = {
			.id = atoll(PQgetvalue(res, i, 0)),
			.event_id = PQgetvalue(res, i, 1),
			.topic = PQgetvalue(res, i, 2),
			.key = PQgetvalue(res, i, 3),
			.attempts = atoi(PQgetvalue(res, i, 4)),
			.failed_at = PQgetvalue(res, i, 5),
			.last_error = PQgetvalue(res, i, 6),
		};
		each(&row, arg);
	}
	PQclear(res);
	return PG_OK;
}

/* "{id,...}" from validated decimal ids. Caller frees. */
static char *id_array(const char *const *ids, int n)
{
	size_t len = 3;
	char *a, *p;

	for (int i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	if ((a = malloc(len)) == NULL)
		return NULL;
	p = a;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
	strcpy(p, "}");
	return a;
}

/* The statement that retries the failed rows of $1::bigint[] (NULL: all), returning how many it retried and how many
 * of $1 are failed rows. With "mark" a row goes back to pending with its attempts and last error kept, due at once;
 * the relay picks it up in id order. With "keep" the progress is past it for good: it moves to a new id through
 * <table>_retry_kept (version 8); with block_key the failed rows of its key, those set aside behind it among them,
 * move with it in id order, since any left behind would hold the moved ones back again. */
static int retry_sql(struct pg *pg, int version, int kept, char *sql, size_t size, char *errbuf, size_t errsize)
{
	char *fn;
	int rc;

	if (!kept) {
		snprintf(sql, size,
			 "WITH r AS (UPDATE %s SET failed_at = NULL%s WHERE failed_at IS NOT NULL AND sent_at IS NULL"
			 " AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) RETURNING 1) SELECT count(*), count(*) FROM r",
			 pg->qtable, pgi_unschedule(version));
		return PG_OK;
	}
	if ((rc = pgi_keep_ops_version(pg, version, 8, "retry", errbuf, errsize)) != PG_OK)
		return rc;
	if ((fn = pgi_qualified(pg, "_retry_kept", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	/* The count of the ids given reads the statement's snapshot, taken before the function moved any row. */
	if (pg->cfg->on_permanent_error == ON_ERROR_BLOCK_KEY)
		snprintf(sql, size,
			 "WITH f AS (SELECT id, topic, key FROM %1$s WHERE failed_at IS NOT NULL AND sent_at IS NULL),"
			 " g AS (SELECT * FROM f WHERE $1::bigint[] IS NULL OR id = ANY($1::bigint[]))"
			 " SELECT %2$s(CASE WHEN $1::bigint[] IS NULL THEN NULL ELSE ARRAY(SELECT id FROM f WHERE id IN"
			 "  (SELECT id FROM g) OR (topic, key) IN (SELECT topic, key FROM g)) END), (SELECT count(*) FROM g)",
			 pg->qtable, fn);
	else
		snprintf(sql, size, "SELECT %1$s($1::bigint[]), (SELECT count(*) FROM %2$s WHERE failed_at IS NOT NULL"
			 " AND sent_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])))", fn, pg->qtable);
	free(fn);
	return PG_OK;
}

int pg_retry_failed(struct pg *pg, const char *const *ids, int n_ids, int all, long long *retried, int *moved,
		    char *errbuf, size_t errsize)
{
	char sql[1024], *arr = NULL;
	PGresult *res;
	long long given;
	int rc, version = 0, kept;

	if (!all && (arr = id_array(ids, n_ids)) == NULL) {
		pgi_set_err(errbuf, errsize, "retry", "out of memory");
		return PG_ERR_NOMEM;
	}
	if ((rc = pgi_exec(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		goto done;
	if ((rc = pgi_read_version(pg, &version, errbuf, errsize)) != PG_OK ||
	    (rc = pgi_kept(pg, version, &kept, errbuf, errsize)) != PG_OK)
		goto fail;
	*moved = kept;
	if ((rc = retry_sql(pg, version, kept, sql, sizeof(sql), errbuf, errsize)) != PG_OK)
		goto fail;
	res = pgi_query(pg, sql, 1, (const char *[]){ arr }, "cannot retry", &rc, errbuf, errsize);
	if (res == NULL)
		goto fail;
	*retried = atoll(PQgetvalue(res, 0, 0));
	given = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	/* Every id given must be a failed row: otherwise nothing changes, so a typo cannot half-apply. */
	if (!all && given != n_ids) {
		snprintf(errbuf, errsize,
			 "retry: %lld of the %d ids given are failed rows; nothing changed (see: outboxd failed list)", given,
			 n_ids);
		rc = PG_ERR_QUERY;
		goto fail;
	}
	rc = pgi_commit(pg, errbuf, errsize);
	goto done;
fail:
	pg_abort(pg);
done:
	free(arr);
	return rc;
}

/* Runs a replay's statement, which returns how many rows, the lowest and the highest id. */
static int replay_rows(struct pg *pg, const char *sql, int n, const char *const *params, struct pg_replayed *out,
		       char *errbuf, size_t errsize)
{
	PGresult *res;
	int rc = PG_OK;

	if ((res = pgi_query(pg, sql, n, params, "cannot replay", &rc, errbuf, errsize)) == NULL)
		return rc;
	out->rows = atoll(PQgetvalue(res, 0, 0));
	out->min_id = atoll(PQgetvalue(res, 0, 1));
	out->max_id = atoll(PQgetvalue(res, 0, 2));
	PQclear(res);
	return PG_OK;
}

/* With "keep" delivered rows are not written: the relay publishes them again from its progress row. */
static int replay_kept(struct pg *pg, int version, int since, const char *const *params, struct pg_replayed *out,
		       char *errbuf, size_t errsize)
{
	char sql[2560];
	int rc;

	if ((rc = pgi_exec(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		return rc;
	if ((rc = pgi_progress_replay_sql(pg, version, since, sql, sizeof(sql), errbuf, errsize)) == PG_OK &&
	    (rc = replay_rows(pg, sql, 2, params, out, errbuf, errsize)) == PG_OK)
		return pgi_commit(pg, errbuf, errsize);
	pg_abort(pg);
	return rc;
}

int pg_replay_sent(struct pg *pg, const char *from_id, const char *since, const char *topic, struct pg_replayed *out,
		   char *errbuf, size_t errsize)
{
	const char *params[2] = { from_id ? from_id : since, topic };
	char sql[768];
	int rc = PG_OK, version = 0, kept;

	memset(out, 0, sizeof(*out));
	if ((rc = pgi_read_version(pg, &version, errbuf, errsize)) != PG_OK ||
	    (rc = pgi_kept(pg, version, &kept, errbuf, errsize)) != PG_OK)
		return rc;
	if (kept)
		return replay_kept(pg, version, from_id == NULL, params, out, errbuf, errsize);
	/* Failed rows stay failed (that is retry's job); sent_at goes back to NULL, so the row is claimed again in
	 * id order like any pending row. One statement, so it applies whole or not at all. */
	snprintf(sql, sizeof(sql),
		 "WITH r AS (UPDATE %s SET sent_at = NULL%s WHERE sent_at IS NOT NULL AND failed_at IS NULL AND %s%s"
		 " RETURNING id) SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM r",
		 pg->qtable, pgi_unschedule(version),
		 from_id ? "id >= $1::bigint" : "sent_at >= $1::timestamptz", topic ? " AND topic = $2" : "");
	return replay_rows(pg, sql, topic ? 2 : 1, params, out, errbuf, errsize);
}

int pg_bucket_status(struct pg *pg, void (*each)(const struct pg_bucket_state *bucket, void *arg), void *arg, int *n,
		     char *errbuf, size_t errsize)
{
	char sql[2048], *tb = NULL, *tr = NULL, *fn = NULL;
	PGresult *res = NULL;
	int rc = PG_ERR_NOMEM;

	if ((tb = pgi_qualified(pg, "_buckets", errbuf, errsize)) == NULL ||
	    (tr = pgi_qualified(pg, "_relays", errbuf, errsize)) == NULL ||
	    (fn = pgi_qualified(pg, "_bucket", errbuf, errsize)) == NULL)
		goto done;
	/* The owner is whoever holds the bucket's advisory lock now, named through the heartbeat table. */
	snprintf(sql, sizeof(sql),
		 "SELECT b.bucket, coalesce(r.instance, CASE WHEN l.pid IS NOT NULL THEN 'pid ' || l.pid END, '-'),"
		 "  b.epoch, coalesce(p.pending, 0), coalesce(p.oldest_s, 0)"
		 " FROM %1$s b"
		 " LEFT JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
		 "  AND l.classid = $1::regclass AND l.objid = b.bucket::oid AND l.database = (SELECT oid FROM pg_database"
		 "  WHERE datname = current_database())"
		 " LEFT JOIN %2$s r ON r.pid = l.pid"
		 " LEFT JOIN (SELECT %3$s(key, id) AS bucket, count(*) AS pending,"
		 "   floor(extract(epoch FROM now() - min(created_at)))::bigint AS oldest_s"
		 "  FROM %4$s WHERE sent_at IS NULL AND failed_at IS NULL GROUP BY 1) p ON p.bucket = b.bucket"
		 " ORDER BY b.bucket",
		 tb, tr, fn, pg->qtable);
	if ((res = pgi_query(pg, sql, 1, (const char *[]){ pg->qtable }, "cannot read the buckets", &rc, errbuf,
			     errsize)) == NULL) {
		rc = pgi_listing_rc(rc);
		goto done;
	}
	*n = PQntuples(res);
	for (int i = 0; i < *n; i++) {
		struct pg_bucket_state b = {
			.bucket = atoi(PQgetvalue(res, i, 0)),
			.owner = PQgetvalue(res, i, 1),
			.epoch = atoll(PQgetvalue(res, i, 2)),
			.pending = atoll(PQgetvalue(res, i, 3)),
			.oldest_pending_s = atoll(PQgetvalue(res, i, 4)),
		};
		each(&b, arg);
	}
	rc = PG_OK;
done:
	PQclear(res);
	free(tb);
	free(tr);
	free(fn);
	return rc;
}

int pg_replay_state(struct pg *pg, int version, long long *to, long long *cur, char *errbuf, size_t errsize)
{
	char sql[256], *qp;
	PGresult *res;
	int rc, kept;

	*to = *cur = -1;
	if (version < 8)
		return PG_OK;
	if ((rc = pgi_kept(pg, version, &kept, errbuf, errsize)) != PG_OK || !kept)
		return rc;
	if ((qp = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql), "SELECT replay_to, replay_cur FROM %s WHERE one AND replay_to IS NOT NULL", qp);
	free(qp);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot read the replay", &rc, errbuf, errsize)) == NULL)
		return rc;
	if (PQntuples(res) == 1) {
		*to = atoll(PQgetvalue(res, 0, 0));
		*cur = atoll(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return PG_OK;
}

int pg_relays(struct pg *pg, void (*each)(const struct pg_relay_state *relay, void *arg), void *arg, int *n,
	      char *errbuf, size_t errsize)
{
	char sql[1024], *tr;
	PGresult *res;
	int rc = PG_OK;

	if ((tr = pgi_qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql),
		 "SELECT r.instance, r.pid, r.ordering, (extract(epoch FROM now() - r.heartbeat_at) * 1000)::bigint,"
		 "  EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.pid AND a.backend_start = r.backend_start)"
		 " FROM %s r ORDER BY r.instance",
		 tr);
	free(tr);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot read the relays", &rc, errbuf, errsize)) == NULL)
		return pgi_listing_rc(rc);
	*n = PQntuples(res);
	for (int i = 0; i < *n; i++) {
		struct pg_relay_state r = {
			.instance = PQgetvalue(res, i, 0),
			.pid = atoi(PQgetvalue(res, i, 1)),
			.ordering = PQgetvalue(res, i, 2),
			.heartbeat_age_ms = atoll(PQgetvalue(res, i, 3)),
			.alive = strcmp(PQgetvalue(res, i, 4), "t") == 0,
		};
		each(&r, arg);
	}
	PQclear(res);
	return PG_OK;
}
