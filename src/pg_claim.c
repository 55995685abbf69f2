/* The claim: the next unsent rows in id order, locked for the transaction, within a row and a byte budget, in
 * binary format (no hex-decoding of bytea); their decoding into a batch; and the lag, read from the same partial
 * indexes. */
#include "pg_claim.h"

#include <endian.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

/* Schema version 5: the keys a failed or scheduled row holds back (which: the blockers' condition), gathered once per
 * claim from the blockers index (its predicate is repeated so that it is the index used) into the claim's WITH,
 * to be looked up as a hashed set. A correlated NOT EXISTS per claimed row was tried first: with a queue table's
 * stale statistics the planner made it quadratic (minutes for one claim of 50,000 pending rows after the plan was
 * made on an empty table); this shape stays linear whatever the estimates. */
void pgi_blocked_keys(const struct pg *pg, const char *which, char *with, size_t size)
{
	snprintf(with, size,
		 "WITH blocked AS MATERIALIZED (SELECT DISTINCT b.topic, b.key FROM %s b WHERE b.sent_at IS NULL"
		 " AND (b.next_attempt_at IS NOT NULL OR b.failed_at IS NOT NULL) AND b.key IS NOT NULL AND %s) ",
		 pg->qtable, which);
}

/* A row waits while its next attempt is not due, and so do the other pending rows of its (topic, key), which
 * would otherwise overtake it; with block_key, a failed row holds its key back too. */
static void add_blocking(struct pg *pg, char *with, size_t with_size, char *where, size_t where_size)
{
	size_t o = strlen(where);

	pgi_blocked_keys(pg,
			 pg->cfg->on_permanent_error == ON_ERROR_BLOCK_KEY ? "(b.failed_at IS NOT NULL OR b.next_attempt_at > now())"
									   : "b.next_attempt_at > now()",
			 with, with_size);
	snprintf(where + o, where_size - o,
		 " AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())"
		 " AND (t.key IS NULL OR (t.topic, t.key) NOT IN (SELECT topic, key FROM blocked))");
}

/* The claim's outer statement, shared by every mode: rows is a subquery of the candidate rows in id order with
 * the columns of claim_cols less "claimed" (size by ROW_SIZE, bucket, blocked), locked or not as the mode needs. It returns
 * the prefix whose bytes start below the budget and never the payload and headers of a row above row_bytes (it
 * is parked unread; its key comes when under 4 KB, so that the parked row can hold back the later rows of its key
 * in the same batch). octet_length and pg_column_size read the stored size without detoasting; rows left out
 * are never sent to us and come first in the next batch. The limits are validated integers from the config,
 * written into the statement so its plan is made for them. */
void pgi_claim_sql(const struct pg *pg, const char *with, const char *rows, char *out, size_t size)
{
	snprintf(out, size,
		 "%4$sSELECT id, event_id, topic, CASE WHEN size <= %2$d OR octet_length(key) <= 4096 THEN key END,"
		 "  CASE WHEN size <= %2$d THEN payload END,"
		 "  CASE WHEN size <= %2$d THEN headers END, created_at, attempts, size, claimed, bucket, blocked"
		 " FROM (SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS before, count(*) OVER () AS claimed FROM"
		 "  (SELECT *, CASE WHEN size <= %2$d THEN size::int ELSE 0 END AS bytes FROM (%3$s) c) s) w"
		 " WHERE before < %1$d ORDER BY id",
		 pg->claim.bytes, pg->claim.row_bytes, rows, with);
}

/* The claim: with filter, only rows of the buckets in $1 (an int[]); never the rows in the last parameter (an
 * int8multirange): a chain's batch still in Kafka, pending but already ours. A multirange, because its ids come in
 * a few runs and containment is a binary search: "id <> ALL(array)" scanned the whole array for every row the
 * claim passed, a quarter of the server's time in a drain. */
static int prepare_claim(struct pg *pg, const char *name, const char *bucket_fn, int filter, char *errbuf,
			 size_t errsize)
{
	char sql[3072], rows[2048], bucket[400], where[1024], with[1024] = "";

	/* Locks up to rows rows in id order; they stay locked until COMMIT. With ordering by key, a relay owns its
	 * buckets alone, so it waits for a row lock rather than skip the row and overtake it with a later event of
	 * the same key. */
	if (bucket_fn != NULL)
		snprintf(bucket, sizeof(bucket), "%s(key, id)", bucket_fn);
	else
		strcpy(bucket, "-1");
	pgi_above_floor(pg, where, sizeof(where));
	if (filter)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), " AND %s(key, id) = ANY($1::integer[])",
			 bucket_fn);
	snprintf(where + strlen(where), sizeof(where) - strlen(where), " AND NOT id <@ $%d::int8multirange", filter ? 2 : 1);
	if (pg->schema_version >= 5)
		add_blocking(pg, with, sizeof(with), where, sizeof(where));
	snprintf(rows, sizeof(rows),
		 "SELECT id, event_id, topic, key, payload, headers, created_at, attempts, " ROW_SIZE("t") " AS size,"
		 " %3$s AS bucket, false AS blocked FROM %1$s t WHERE sent_at IS NULL AND failed_at IS NULL%4$s ORDER BY id LIMIT %2$d"
		 " FOR UPDATE%5$s",
		 pg->qtable, pg->claim.rows, bucket, where, pg->nbuckets ? "" : " SKIP LOCKED");
	pgi_claim_sql(pg, with, rows, sql, sizeof(sql));
	return pgi_prepare(pg, name, sql, filter ? 2 : 1, errbuf, errsize);
}

int pgi_prepare_claims(struct pg *pg, char *errbuf, size_t errsize)
{
	char *fn = NULL;
	int rc;

	if (pg->nbuckets && (fn = pgi_qualified(pg, "_bucket", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	rc = prepare_claim(pg, "claim", fn, 0, errbuf, errsize);
	if (rc == PG_OK && fn != NULL)
		rc = prepare_claim(pg, "claim_some", fn, 1, errbuf, errsize);
	free(fn);
	return rc;
}

int pg_set_claim_limits(struct pg *pg, const struct pg_claim_limits *lim, char *errbuf, size_t errsize)
{
	int rc;

	pg->claim = *lim;
	if (!pg_connected(pg))
		return PG_OK; /* prepared with these on the next connect */
	if ((rc = pgi_size_ids_buf(pg, lim->rows, errbuf, errsize)) != PG_OK ||
	    (rc = pgi_exec(pg, pg->nbuckets ? "DEALLOCATE claim; DEALLOCATE claim_some" : "DEALLOCATE claim",
			   "cannot replace the claim", errbuf, errsize)) != PG_OK ||
	    (rc = pgi_prepare_claims(pg, errbuf, errsize)) != PG_OK)
		return rc;
	/* keep's claims carry the limits too (and, with block_key, the policy); before they did not follow a reload,
	 * and a smaller batch_size made every claim fail with "more rows than asked for". */
	return pg->cfg->on_sent == ON_SENT_KEEP ? pgi_progress_reprepare(pg, errbuf, errsize) : PG_OK;
}

static uint64_t get_be64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static uint32_t get_be32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static void format_uuid(const unsigned char *u, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

/* Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
#define PG_EPOCH_OFFSET_US 946684800000000LL

/* Columns of the claim statement, in order, with the binary length a fixed-size one must have (0: variable). */
static const struct {
	const char *name;
	int len;
} claim_cols[] = {
	{ "id", 8 },	      { "event_id", 16 }, { "topic", 0 },      { "key", 0 },
	{ "payload", 0 }, { "headers", 0 },  { "created_at", 8 }, { "attempts", 4 },
	{ "size", 8 },    { "claimed", 8 },  { "bucket", 4 },     { "blocked", 1 },
};

#define N_CLAIM_COLS ((int)(sizeof(claim_cols) / sizeof(claim_cols[0])))

static int bad_row(char *why, size_t whysize, int i, const char *col, const char *what)
{
	snprintf(why, whysize, "row %d of the claim: column %s: %s", i, col, what);
	return -1;
}

int pg_row_decode(const struct pg_result *res, int i, struct outbox_row *r, char *why, size_t whysize)
{
	if (PQnfields(res) != N_CLAIM_COLS)
		return bad_row(why, whysize, i, "*", "unexpected number of columns");
	/* The server sends what the claim's prepared statement promised; checking costs nothing and keeps a
	 * changed table or a hostile server from making us read past a value. */
	for (int c = 0; c < N_CLAIM_COLS; c++) {
		if (claim_cols[c].len == 0)
			continue;
		if (PQgetisnull(res, i, c) || PQgetlength(res, i, c) != claim_cols[c].len)
			return bad_row(why, whysize, i, claim_cols[c].name, "unexpected binary length");
	}
	if (PQgetisnull(res, i, 2) || memchr(PQgetvalue(res, i, 2), '\0', (size_t)PQgetlength(res, i, 2)) != NULL)
		return bad_row(why, whysize, i, "topic", "NULL or contains a NUL byte");
	r->id = (int64_t)get_be64(PQgetvalue(res, i, 0));
	format_uuid((const unsigned char *)PQgetvalue(res, i, 1), r->event_id);
	r->topic = PQgetvalue(res, i, 2); /* libpq NUL-terminates every value, binary ones too */
	if (!PQgetisnull(res, i, 3)) {
		r->key = PQgetvalue(res, i, 3);
		r->key_len = (size_t)PQgetlength(res, i, 3);
	}
	if (!PQgetisnull(res, i, 4)) {
		r->payload = PQgetvalue(res, i, 4);
		r->payload_len = (size_t)PQgetlength(res, i, 4);
	}
	if (!PQgetisnull(res, i, 5)) {
		/* jsonb binary format: a version byte (1), then the JSON text. */
		if (PQgetlength(res, i, 5) < 1 || PQgetvalue(res, i, 5)[0] != 1)
			return bad_row(why, whysize, i, "headers", "not jsonb binary format version 1");
		r->headers = PQgetvalue(res, i, 5) + 1;
		r->headers_len = (size_t)PQgetlength(res, i, 5) - 1;
	}
	/* created_at 'infinity' is INT64_MAX microseconds: moving it to the Unix epoch must not overflow. */
	r->created_us = (int64_t)get_be64(PQgetvalue(res, i, 6));
	if (r->created_us > INT64_MAX - PG_EPOCH_OFFSET_US)
		r->created_us = INT64_MAX;
	else
		r->created_us += PG_EPOCH_OFFSET_US;
	r->attempts = (int)get_be32(PQgetvalue(res, i, 7));
	r->size = (long long)get_be64(PQgetvalue(res, i, 8));
	r->bucket = (int32_t)get_be32(PQgetvalue(res, i, 10));
	r->state = ROW_PENDING;
	return 0;
}

static void release_result(void *res)
{
	PQclear(res);
}

/* "{[first,last],...}": b's ids (ascending, as claimed) as runs of consecutive ids. */
static void id_ranges(struct pg *pg, const struct batch *b)
{
	size_t o = 0;

	pg->ids_buf[o++] = '{';
	for (int i = 0; i < b->n;) {
		int j = i;
		while (j + 1 < b->n && b->rows[j + 1].id == b->rows[j].id + 1)
			j++;
		o += (size_t)snprintf(pg->ids_buf + o, pg->ids_cap - o, "%s[%lld,%lld]", i ? "," : "",
				      (long long)b->rows[i].id, (long long)b->rows[j].id);
		i = j + 1;
	}
	pg->ids_buf[o++] = '}';
	pg->ids_buf[o] = '\0';
}

int pg_claim_batch(struct pg *pg, struct batch *b, const char *buckets, const struct batch *in_flight, char *errbuf,
		   size_t errsize)
{
	int limit = pg->claim.rows;
	const char *params[2];
	PGresult *res;
	int rc;

	batch_clear(b);
	if (limit > b->cap) {
		pgi_set_err(errbuf, errsize, "cannot claim rows", "batch smaller than the claim");
		return PG_ERR_QUERY;
	}
	if (in_flight == NULL && (rc = pgi_exec(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->cfg->on_sent == ON_SENT_KEEP) {
		char after[24];
		if (in_flight != NULL && in_flight->n > 0)
			snprintf(after, sizeof(after), "%lld", (long long)in_flight->rows[in_flight->n - 1].id);
		if ((res = pgi_progress_claim(pg, in_flight != NULL ? after : NULL, &rc, errbuf, errsize)) == NULL)
			return rc; /* PG_OK: a peer is delivering */
	} else {
		if (in_flight != NULL)
			id_ranges(pg, in_flight);
		else
			strcpy(pg->ids_buf, "{}");
		params[0] = buckets != NULL ? buckets : pg->ids_buf;
		params[1] = pg->ids_buf;
		res = pgi_tuples(pg,
				 PQexecPrepared(pg->conn, buckets != NULL ? "claim_some" : "claim", buckets != NULL ? 2 : 1,
						params, NULL, NULL, 1),
				 "cannot claim rows", &rc, errbuf, errsize);
		if (res == NULL)
			return rc;
	}
	b->result = res;
	b->release = release_result;
	if (PQntuples(res) > limit) {
		batch_clear(b);
		pgi_set_err(errbuf, errsize, "cannot claim rows", "the server returned more rows than asked for");
		return PG_ERR_QUERY;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct outbox_row *r = &b->rows[i];
		batch_reset_row(b, i);
		if (pg_row_decode(res, i, r, errbuf, errsize) < 0) {
			batch_clear(b); /* frees the result */
			return PG_ERR_QUERY;
		}
		if (PQgetvalue(res, i, 11)[0] != 0) /* "blocked": keep's claim found its key held back */
			batch_block_row(b, i);
		b->n = i + 1;
	}
	b->more = b->n > 0 && (long long)get_be64(PQgetvalue(res, 0, 9)) > b->n;
	if (pg->cfg->on_sent == ON_SENT_KEEP)
		pgi_progress_claimed(pg, b);
	return PG_OK;
}

int pg_lag(struct pg *pg, struct pg_lag *out, char *errbuf, size_t errsize)
{
	char sql[1280], above[300];
	PGresult *res;
	int rc = PG_OK;

	if (pg->cfg->on_sent != ON_SENT_KEEP)
		pgi_above_floor(pg, above, sizeof(above));
	else if ((rc = pgi_progress_above(pg, above, sizeof(above), errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM %1$s WHERE sent_at IS NULL AND failed_at IS NULL%2$s),"
		 " COALESCE((SELECT (extract(epoch FROM clock_timestamp() - created_at) * 1000)::bigint FROM %1$s"
		 "  WHERE sent_at IS NULL AND failed_at IS NULL%2$s ORDER BY id LIMIT 1), 0),"
		 " (SELECT count(*) FROM %1$s WHERE failed_at IS NOT NULL AND sent_at IS NULL)",
		 pg->qtable, above);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot read the lag", &rc, errbuf, errsize)) == NULL)
		return pgi_listing_rc(rc);
	out->pending = atoll(PQgetvalue(res, 0, 0));
	out->oldest_pending_ms = atoll(PQgetvalue(res, 0, 1));
	out->failed = atoll(PQgetvalue(res, 0, 2));
	PQclear(res);
	return PG_OK;
}
