/* The claim floor (schema version 6, sql/006_floor.sql): an id below which no row is pending, so that a claim
 * starts there instead of walking the index entries of rows sent since the oldest open transaction began. The
 * relay raises it only to a point proved safe from transaction ids (README: "The claim floor"). */
#include "pg_floor.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "pg_private.h"

/* " AND id > <the floor>" for a statement on the outbox (schema version 6), else "": below the floor nothing is
 * pending, only entries vacuum has not removed yet. */
void pgi_above_floor(const struct pg *pg, char *buf, size_t size)
{
	if (pg->qfloor != NULL)
		snprintf(buf, size, " AND id > (SELECT floor FROM %s WHERE one)", pg->qfloor);
	else
		buf[0] = '\0';
}

/* The claim floor (schema version 6, sql/006_floor.sql). floor_probe reads, in one snapshot, the floor's
 * generation and the highest id the floor may rise to (just below the first pending row above it, or the last row
 * when none is pending), and takes a transaction id of its own: every transaction that could still add a row
 * below that point is older than it. (The snapshot's list of transactions in progress is not enough: one that
 * took its id after the last one to finish is running but not listed.) floor_raise applies such a reading once
 * no transaction older than that id is left, and only if no reset came between; since their rows may have
 * become visible and pending meanwhile, it rises no further than below the first pending row it sees then (the
 * UPDATE runs whether or not the result reads it). It returns whether they have ended. */
int pgi_prepare_floor(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[1024];
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT f.gen, coalesce((SELECT min(t.id) - 1 FROM %1$s t WHERE t.sent_at IS NULL AND t.failed_at IS NULL"
		 "  AND t.id > f.floor), (SELECT max(t.id) FROM %1$s t WHERE t.id > f.floor), f.floor),"
		 " pg_current_xact_id() FROM %2$s f WHERE f.one",
		 pg->qtable, pg->qfloor);
	if ((rc = pgi_prepare(pg, "floor_probe", sql, 0, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql),
		 "WITH ended AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS ok),"
		 " target AS (SELECT least($2::bigint, (SELECT min(t.id) - 1 FROM %1$s t"
		 "  WHERE t.sent_at IS NULL AND t.failed_at IS NULL AND t.id > (SELECT floor FROM %2$s WHERE one))) AS floor),"
		 " raised AS (UPDATE %2$s f SET floor = target.floor FROM ended, target"
		 "  WHERE f.one AND ended.ok AND f.gen = $3::bigint AND f.floor < target.floor RETURNING 1)"
		 " SELECT ok FROM ended",
		 pg->qtable, pg->qfloor);
	return pgi_prepare(pg, "floor_raise", sql, 3, errbuf, errsize);
}

/* Applies the waiting reading if its transactions have ended; returns 1 if it did (or was void), 0 if it must
 * wait on, or an error. */
static int floor_raise(struct pg *pg, char *errbuf, size_t errsize)
{
	const char *params[3] = { pg->cand_xid, pg->cand_floor, pg->cand_gen };
	PGresult *res;
	int rc = PG_OK, ended;

	if ((res = pgi_query_prepared(pg, "floor_raise", 3, params, "cannot raise the claim floor", &rc, errbuf, errsize)) ==
	    NULL)
		return rc;
	ended = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (ended)
		pg->cand_xid[0] = '\0';
	return ended;
}

/* Takes a new reading. */
static int floor_probe(struct pg *pg, char *errbuf, size_t errsize)
{
	PGresult *res;
	int rc = PG_OK;

	if ((res = pgi_query_prepared(pg, "floor_probe", 0, NULL, "cannot read the claim floor", &rc, errbuf, errsize)) ==
	    NULL)
		return rc;
	snprintf(pg->cand_gen, sizeof(pg->cand_gen), "%s", PQgetvalue(res, 0, 0));
	snprintf(pg->cand_floor, sizeof(pg->cand_floor), "%s", PQgetvalue(res, 0, 1));
	snprintf(pg->cand_xid, sizeof(pg->cand_xid), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return PG_OK;
}

int pg_floor_step(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc;

	if (pg->qfloor == NULL)
		return PG_OK;
	if (pg->cand_xid[0] != '\0' && (rc = floor_raise(pg, errbuf, errsize)) <= 0)
		return rc; /* an error, or still waiting */
	if ((rc = floor_probe(pg, errbuf, errsize)) != PG_OK)
		return rc;
	/* Often nothing older was running: the reading holds at once. */
	return (rc = floor_raise(pg, errbuf, errsize)) < 0 ? rc : PG_OK;
}
