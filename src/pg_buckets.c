/* Bucket ownership's statements (schema version 4, sql/004_buckets.sql): counting the buckets, the heartbeat that
 * renews this relay and fences a silent peer, and taking and releasing the advisory locks that make a relay a
 * bucket's owner. The policy (fair shares, when to take and give back) is owner.c's. */
#include "pg_buckets.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

/* With ordering by key, the table must have buckets (schema version 4): their number is the rows of
 * <table>_buckets, fixed when the schema was installed. */
int pgi_count_buckets(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512], *tb;
	PGresult *res;
	int rc = PG_OK;

	pg->nbuckets = 0;
	if (pg->cfg->ordering != ORDERING_KEY)
		return PG_OK;
	if (pg->schema_version < 4) {
		snprintf(errbuf, errsize,
			 "table %s is at schema version %d; relay.ordering = \"key\" needs version 4 (run: outboxd schema "
			 "install, or set relay.ordering = \"none\")",
			 pg->qtable, pg->schema_version);
		return PG_ERR_SCHEMA;
	}
	if ((tb = pgi_qualified(pg, "_buckets", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tb);
	free(tb);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot read the buckets", &rc, errbuf, errsize)) == NULL)
		return rc;
	if ((pg->nbuckets = atoi(PQgetvalue(res, 0, 0))) < 1 || pg->nbuckets > PG_MAX_BUCKETS) {
		snprintf(errbuf, errsize, "the buckets table of %s has %d rows, not 1 to %d", pg->qtable, pg->nbuckets,
			 PG_MAX_BUCKETS);
		pg->nbuckets = 0;
		rc = PG_ERR_SCHEMA;
	}
	PQclear(res);
	return rc;
}

int pg_nbuckets(const struct pg *pg)
{
	return pg->nbuckets;
}

int pg_heartbeat(struct pg *pg, const char *instance, int claim_pid, int ttl_ms, struct pg_members *out,
		 char *errbuf, size_t errsize)
{
	char pid[16], ttl[16], sql[2048], *rt;
	const char *params[4] = { instance, pid, ttl, config_word(pg->cfg, "relay.ordering") };
	PGresult *res;
	int rc = PG_OK;

	if ((rt = pgi_qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(pid, sizeof(pid), "%d", claim_pid);
	snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
	/* One round trip: renew our row (naming our claiming session by pid and start time), end the session of
	 * every peer whose heartbeat is older than the TTL (that frees its buckets and aborts its open batch),
	 * forget peers whose session is gone, and rank the live members by name. The CASE makes sure no session
	 * is ended before its peer was found stale: the planner may evaluate plain AND-ed quals in any order. */
	snprintf(sql, sizeof(sql),
		 "WITH me AS ("
		 "  INSERT INTO %1$s AS r (instance, pid, backend_start, ordering, heartbeat_at)"
		 "  SELECT $1, a.pid, a.backend_start, $4, now() FROM pg_stat_activity a WHERE a.pid = $2::integer"
		 "  ON CONFLICT (instance) DO UPDATE SET pid = excluded.pid, backend_start = excluded.backend_start,"
		 "   ordering = excluded.ordering, heartbeat_at = excluded.heartbeat_at RETURNING instance),"
		 " peers AS MATERIALIZED ("
		 "  SELECT r.instance, r.pid, r.ordering, a.pid IS NOT NULL AS alive,"
		 "   r.heartbeat_at >= now() - $3::integer * interval '1 millisecond' AS fresh"
		 "  FROM %1$s r LEFT JOIN pg_stat_activity a ON a.pid = r.pid AND a.backend_start = r.backend_start"
		 "  WHERE r.instance <> $1),"
		 " fenced AS MATERIALIZED (SELECT instance FROM peers"
		 "  WHERE CASE WHEN alive AND NOT fresh THEN pg_terminate_backend(pid) ELSE false END),"
		 " gone AS (DELETE FROM %1$s r USING peers p WHERE r.instance = p.instance AND NOT p.alive),"
		 " members AS (SELECT instance FROM me UNION SELECT instance FROM peers WHERE alive AND fresh)"
		 " SELECT (SELECT count(*) FROM me), (SELECT count(*) FROM members WHERE instance < $1),"
		 "  (SELECT count(*) FROM members), coalesce((SELECT string_agg(instance, ',') FROM fenced), ''),"
		 "  (SELECT count(*) FROM peers WHERE alive AND ordering <> $4)",
		 rt);
	free(rt);
	if ((res = pgi_query(pg, sql, 4, params, "heartbeat failed", &rc, errbuf, errsize)) == NULL)
		return rc;
	out->registered = atoi(PQgetvalue(res, 0, 0)) > 0;
	out->rank = atoi(PQgetvalue(res, 0, 1));
	out->n = atoi(PQgetvalue(res, 0, 2));
	snprintf(out->fenced, sizeof(out->fenced), "%s", PQgetvalue(res, 0, 3));
	out->other_ordering = atoi(PQgetvalue(res, 0, 4));
	PQclear(res);
	return PG_OK;
}

int pg_leave(struct pg *pg, const char *instance, char *errbuf, size_t errsize)
{
	char sql[512], *rt;
	PGresult *res;

	if ((rt = pgi_qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE instance = $1", rt);
	free(rt);
	res = PQexecParams(pg->conn, sql, 1, NULL, (const char *[]){ instance }, NULL, NULL, 0);
	return pgi_result_ok(pg, res, "cannot leave", errbuf, errsize);
}

/* The advisory lock key of a bucket is (table oid, bucket) in the two-integer form, so it shows in pg_locks as
 * classid = the table's oid, objid = bucket, objsubid = 2. The oid travels as the int4 with the same bits. */
static void oid_param(const struct pg *pg, char *out, size_t size)
{
	snprintf(out, size, "%d", (int32_t)pg->table_oid);
}

int pg_take_buckets(struct pg *pg, const char *instance, const char *owned, int want, int *buckets,
		    long long *epochs, int *n, char *errbuf, size_t errsize)
{
	char key[16], nb[16], w[16], sql[1024], *tb;
	const char *params[5] = { key, owned, w, instance, nb };
	PGresult *res;
	int rc = PG_OK;

	*n = 0;
	oid_param(pg, key, sizeof(key));
	snprintf(nb, sizeof(nb), "%d", pg->nbuckets);
	snprintf(w, sizeof(w), "%d", want);
	if ((tb = pgi_qualified(pg, "_buckets", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	/* Tries free buckets one by one until want are locked; each taken bucket's epoch goes up by one. The CASE
	 * keeps the planner from trying the lock before the "not owned" test (it orders quals by cost, and a lock
	 * we hold is taken again, counted twice, and then survives one unlock). A lock taken in a statement that
	 * then fails stays held (session locks ignore rollback): the caller must then drop the connection. */
	snprintf(sql, sizeof(sql),
		 "WITH got AS MATERIALIZED (SELECT b FROM generate_series(0, $5::integer - 1) b"
		 "  WHERE CASE WHEN b = ANY($2::integer[]) THEN false ELSE pg_try_advisory_lock($1::integer, b) END"
		 "  LIMIT $3::integer)"
		 " UPDATE %s t SET epoch = t.epoch + 1, owner = $4, taken_at = now() FROM got WHERE t.bucket = got.b"
		 " RETURNING t.bucket, t.epoch",
		 tb);
	free(tb);
	if ((res = pgi_query(pg, sql, 5, params, "cannot take buckets", &rc, errbuf, errsize)) == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && i < want; i++) {
		buckets[i] = atoi(PQgetvalue(res, i, 0));
		epochs[i] = atoll(PQgetvalue(res, i, 1));
		*n = i + 1;
	}
	PQclear(res);
	return rc;
}

int pg_release_buckets(struct pg *pg, const char *buckets, char *errbuf, size_t errsize)
{
	char key[16];
	const char *params[2] = { key, buckets };
	PGresult *res;
	int rc = PG_OK;

	oid_param(pg, key, sizeof(key));
	res = pgi_query(pg, "SELECT count(*) FILTER (WHERE pg_advisory_unlock($1::integer, b)) FROM unnest($2::integer[]) b",
		    2, params, "cannot release buckets", &rc, errbuf, errsize);
	PQclear(res);
	return rc;
}
