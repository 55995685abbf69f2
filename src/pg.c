/* PostgreSQL side of the relay. Table names from the config are quoted with PQescapeIdentifier; row data and
 * every other value travel as parameters. Claims come back in binary format (no hex-decoding of bytea). */
#include "pg.h"

#include <endian.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#define SCHEMA_LOCK_KEY "7374920001" /* pg_advisory_xact_lock key serialising schema installs */

struct pg {
	const struct config *cfg;
	const char *conninfo; /* the relay's, or the owner's for schema changes */
	PGconn *conn;
	char *qschema;  /* quoted schema */
	char *qtable;   /* quoted schema.table */
	char *ids_buf;  /* "{1,2,...}" for the mark statements; sized for a full batch */
	int marking;    /* a mark was sent and its result not yet read (pg_mark_batch_wait) */
	struct pg_claim_limits claim;
	int schema_version; /* of the table, as pg_prepare_relay found it */
	size_t ids_cap;
	unsigned table_oid; /* first half of each bucket's advisory lock key */
	int nbuckets;       /* 0: the table has no buckets (schema version < 4) */
	/* The claim floor (schema version 6): a raise waiting for every transaction older than the reading to end.
	 * cand_xid "": none waiting. */
	char *qfloor; /* quoted <table>_floor, NULL below version 6 */
	char cand_xid[24], cand_floor[24], cand_gen[24];
};

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
	pg->cand_xid[0] = '\0';
	pg->marking = 0;
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

/* The first line of libpq's message: enough to act on, and it never contains the conninfo or a password. */
static void set_err(char *errbuf, size_t errsize, const char *what, const char *msg)
{
	size_t n;

	snprintf(errbuf, errsize, "%s: %s", what, msg && *msg ? msg : "unknown error");
	n = strcspn(errbuf, "\n");
	errbuf[n] = '\0';
}

/* Broken connection, server shutting down, or this backend terminated: all mean "reconnect". */
static int rc_of(struct pg *pg, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pg->conn) != CONNECTION_OK)
		return PG_ERR_CONN;
	if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))
		return PG_ERR_CONN;
	return PG_ERR_QUERY;
}

/* Checks and frees (takes ownership of) the result of a statement whose rows, if any, are not needed. */
static int result_ok(struct pg *pg, PGresult *res, const char *what, char *errbuf, size_t errsize)
{
	int rc = PG_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
	}
	PQclear(res);
	return rc;
}

/* res if it holds tuples; otherwise NULL with errbuf set and *rc the error class (res is cleared). */
static PGresult *tuples_or_null(struct pg *pg, PGresult *res, const char *what, int *rc, char *errbuf, size_t errsize)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	*rc = rc_of(pg, res);
	set_err(errbuf, errsize, what, PQerrorMessage(pg->conn));
	PQclear(res);
	return NULL;
}

/* Runs a statement with text parameters on pg and returns its result with tuples, or NULL with errbuf set and
 * *rc the error class. The caller PQclears. */
static PGresult *query(struct pg *pg, const char *sql, int n, const char *const *params, const char *what, int *rc,
		       char *errbuf, size_t errsize)
{
	return tuples_or_null(pg, PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0), what, rc, errbuf,
			      errsize);
}

/* As query, for a prepared statement. */
static PGresult *query_prepared(struct pg *pg, const char *stmt, int n, const char *const *params, const char *what,
				int *rc, char *errbuf, size_t errsize)
{
	return tuples_or_null(pg, PQexecPrepared(pg->conn, stmt, n, params, NULL, NULL, 0), what, rc, errbuf, errsize);
}

static int exec_cmd(struct pg *pg, const char *sql, const char *what, char *errbuf, size_t errsize)
{
	return result_ok(pg, PQexec(pg->conn, sql), what, errbuf, errsize);
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
		set_err(errbuf, errsize, "cannot connect to PostgreSQL", "out of memory");
		return PG_ERR_CONN;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		set_err(errbuf, errsize, "cannot connect to PostgreSQL", PQerrorMessage(pg->conn));
		pg_disconnect(pg);
		return PG_ERR_CONN;
	}
	qs = PQescapeIdentifier(pg->conn, pg->cfg->pg_schema, strlen(pg->cfg->pg_schema));
	qt = PQescapeIdentifier(pg->conn, pg->cfg->pg_table, strlen(pg->cfg->pg_table));
	if (qs == NULL || qt == NULL || (pg->qtable = malloc(strlen(qs) + strlen(qt) + 2)) == NULL ||
	    (pg->qschema = strdup(qs)) == NULL) {
		set_err(errbuf, errsize, "cannot quote the table name", PQerrorMessage(pg->conn));
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

/* The table's oid (for its NOTIFY channel) and its outboxd schema version. */
static int check_table(struct pg *pg, int need_version, unsigned *oid, char *errbuf, size_t errsize)
{
	const char *params[2] = { pg->qtable, NULL };
	char sql[512];
	PGresult *res;
	int version, rc = PG_OK;

	snprintf(sql, sizeof(sql), "%s.outboxd_schema", pg->qschema);
	params[1] = sql;
	res = PQexecParams(pg->conn, "SELECT to_regclass($1)::oid, to_regclass($2)::oid", 2, NULL, params, NULL,
			   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot look up the outbox table", PQerrorMessage(pg->conn));
		goto done;
	}
	if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1)) {
		snprintf(errbuf, errsize, "table %s does not exist or is not an outboxd table (run: outboxd schema install)",
			 pg->qtable);
		rc = PG_ERR_SCHEMA;
		goto done;
	}
	*oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT version FROM %s.outboxd_schema WHERE table_name = $1", pg->qschema);
	res = PQexecParams(pg->conn, sql, 1, NULL, (const char *[]){ pg->cfg->pg_table }, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot read the schema version", PQerrorMessage(pg->conn));
		goto done;
	}
	version = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
	pg->schema_version = version;
	if (version < need_version) {
		snprintf(errbuf, errsize, "table %s is at schema version %d, this outboxd needs %d (run: outboxd schema install)",
			 pg->qtable, version, need_version);
		rc = PG_ERR_SCHEMA;
	}
done:
	PQclear(res);
	return rc;
}

static int prepare(struct pg *pg, const char *name, const char *sql, int nparams, char *errbuf, size_t errsize)
{
	return result_ok(pg, PQprepare(pg->conn, name, sql, nparams, NULL), "cannot prepare statements", errbuf,
			 errsize);
}

/* schema."table<suffix>", quoted like every name from the config: the objects sql/ names after the table.
 * Caller frees. NULL with errbuf set when out of memory. */
static char *qualified(struct pg *pg, const char *suffix, char *errbuf, size_t errsize)
{
	char name[128], *q, *out = NULL;

	snprintf(name, sizeof(name), "%s%s", pg->cfg->pg_table, suffix);
	if ((q = PQescapeIdentifier(pg->conn, name, strlen(name))) != NULL &&
	    (out = malloc(strlen(pg->qschema) + strlen(q) + 2)) != NULL)
		sprintf(out, "%s.%s", pg->qschema, q);
	PQfreemem(q);
	if (out == NULL)
		set_err(errbuf, errsize, "cannot quote a name", PQerrorMessage(pg->conn));
	return out;
}

/* Retention's statement (schema version 3): the table's purge function. */
static int prepare_purge(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512], *fn;

	if ((fn = qualified(pg, "_purge", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
	snprintf(sql, sizeof(sql), "SELECT %s($1::interval, $2::integer)", fn);
	free(fn);
	return prepare(pg, "purge", sql, 2, errbuf, errsize);
}

/* What an UPDATE that ends a row's retry schedule adds to its SET list (schema version 5 has the column). */
static const char *unschedule(int version)
{
	return version >= 5 ? ", next_attempt_at = NULL" : "";
}

/* Schema version 5: a row waits while its next attempt is not due, and so do the other pending rows of its
 * (topic, key), which would otherwise overtake it; with block_key, a failed row holds its key back too. The
 * blocked keys are gathered once per claim from the blockers index (its predicate is repeated so that it is
 * the index used) and looked up as a hashed set. A correlated NOT EXISTS per claimed row was tried first: with
 * a queue table's stale statistics the planner made it quadratic (minutes for one claim of 50,000 pending
 * rows after the plan was made on an empty table); this shape stays linear whatever the estimates. */
static void add_blocking(struct pg *pg, char *with, size_t with_size, char *where, size_t where_size)
{
	size_t o = strlen(where);

	snprintf(with, with_size,
		 "WITH blocked AS MATERIALIZED (SELECT DISTINCT b.topic, b.key FROM %s b WHERE b.sent_at IS NULL"
		 " AND (b.next_attempt_at IS NOT NULL OR b.failed_at IS NOT NULL) AND b.key IS NOT NULL AND %s) ",
		 pg->qtable,
		 pg->cfg->block_key ? "(b.failed_at IS NOT NULL OR b.next_attempt_at > now())" : "b.next_attempt_at > now()");
	snprintf(where + o, where_size - o,
		 " AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())"
		 " AND (t.key IS NULL OR (t.topic, t.key) NOT IN (SELECT topic, key FROM blocked))");
}

/* " AND id > <the floor>" for a statement on the outbox (schema version 6), else "": below the floor nothing is
 * pending, only entries vacuum has not removed yet. */
static void above_floor(const struct pg *pg, char *buf, size_t size)
{
	if (pg->qfloor != NULL)
		snprintf(buf, size, " AND id > (SELECT floor FROM %s WHERE one)", pg->qfloor);
	else
		buf[0] = '\0';
}

/* The claim: with filter, only rows of the buckets in $1 (an int[]); never the rows in the last parameter (an
 * int8multirange): a chain's batch still in Kafka, pending but already ours. A multirange, because its ids come in
 * a few runs and containment is a binary search: "id <> ALL(array)" scanned the whole array for every row the
 * claim passed, a quarter of the server's time in a drain. */
static int prepare_claim(struct pg *pg, const char *name, const char *bucket_fn, int filter, char *errbuf,
			 size_t errsize)
{
	char sql[3072], bucket[400], where[1024], with[1024] = "";

	/* Locks up to rows rows in id order, then returns the prefix whose bytes start below the budget and never
	 * the payload and headers of a row above row_bytes (it is parked unread; its key comes when under 4 KB, so
	 * that the parked row can hold back the later rows of its key in the same batch). octet_length and pg_column_size read the stored
	 * size without detoasting; rows left out are never sent to us, stay locked until COMMIT and come first in
	 * the next batch. The three limits are validated integers from the config, written into the statement so
	 * its cached plan is made for them. With ordering by key, a relay owns its buckets alone, so it waits for
	 * a row lock rather than skip the row and overtake it with a later event of the same key. */
	if (bucket_fn != NULL)
		snprintf(bucket, sizeof(bucket), "%s(key, id)", bucket_fn);
	else
		strcpy(bucket, "-1");
	above_floor(pg, where, sizeof(where));
	if (filter)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), " AND %s(key, id) = ANY($1::integer[])",
			 bucket_fn);
	snprintf(where + strlen(where), sizeof(where) - strlen(where), " AND NOT id <@ $%d::int8multirange", filter ? 2 : 1);
	if (pg->schema_version >= 5)
		add_blocking(pg, with, sizeof(with), where, sizeof(where));
	snprintf(sql, sizeof(sql),
		 "%8$sSELECT id, event_id, topic, CASE WHEN size <= %3$d OR octet_length(key) <= 4096 THEN key END,"
		 "  CASE WHEN size <= %3$d THEN payload END,"
		 "  CASE WHEN size <= %3$d THEN headers END, created_at, attempts, size, claimed, bucket"
		 " FROM (SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS before, count(*) OVER () AS claimed FROM"
		 "  (SELECT *, CASE WHEN size <= %3$d THEN size::int ELSE 0 END AS bytes FROM"
		 "   (SELECT id, event_id, topic, key, payload, headers, created_at, attempts,"
		 "     (coalesce(octet_length(key), 0) + coalesce(octet_length(payload), 0)"
		 "      + coalesce(pg_column_size(headers), 0))::bigint AS size, %5$s AS bucket"
		 "    FROM %4$s t WHERE sent_at IS NULL AND failed_at IS NULL%6$s ORDER BY id LIMIT %1$d FOR UPDATE%7$s) c) s) w"
		 " WHERE before < %2$d ORDER BY id",
		 pg->claim.rows, pg->claim.bytes, pg->claim.row_bytes, pg->qtable, bucket, where,
		 pg->nbuckets ? "" : " SKIP LOCKED", with);
	return prepare(pg, name, sql, filter ? 2 : 1, errbuf, errsize);
}

static int prepare_claims(struct pg *pg, char *errbuf, size_t errsize)
{
	char *fn = NULL;
	int rc;

	if (pg->nbuckets && (fn = qualified(pg, "_bucket", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
	rc = prepare_claim(pg, "claim", fn, 0, errbuf, errsize);
	if (rc == PG_OK && fn != NULL)
		rc = prepare_claim(pg, "claim_some", fn, 1, errbuf, errsize);
	free(fn);
	return rc;
}

/* The mark statements take the claimed ids as one "{1,2,...}" parameter, and the claim a batch's ids as
 * "{[1,9],[12,12],...}", built in a buffer sized for a batch. */
static int size_ids_buf(struct pg *pg, int rows, char *errbuf, size_t errsize)
{
	size_t need = (size_t)rows * 44 + 3;
	char *p;

	if (pg->ids_cap >= need)
		return PG_OK;
	if ((p = realloc(pg->ids_buf, need)) == NULL) {
		set_err(errbuf, errsize, "cannot allocate", "out of memory");
		return PG_ERR_QUERY;
	}
	pg->ids_buf = p;
	pg->ids_cap = need;
	return PG_OK;
}

int pg_set_claim_limits(struct pg *pg, const struct pg_claim_limits *lim, char *errbuf, size_t errsize)
{
	int rc;

	pg->claim = *lim;
	if (!pg_connected(pg))
		return PG_OK; /* prepared with these on the next connect */
	if ((rc = size_ids_buf(pg, lim->rows, errbuf, errsize)) != PG_OK ||
	    (rc = exec_cmd(pg, pg->nbuckets ? "DEALLOCATE claim; DEALLOCATE claim_some" : "DEALLOCATE claim",
			   "cannot replace the claim", errbuf, errsize)) != PG_OK)
		return rc;
	return prepare_claims(pg, errbuf, errsize);
}

/* The claim floor (schema version 6, sql/006_floor.sql). floor_probe reads, in one snapshot, the floor's
 * generation and the highest id the floor may rise to (just below the first pending row above it, or the last row
 * when none is pending), and takes a transaction id of its own: every transaction that could still add a row
 * below that point is older than it. (The snapshot's list of transactions in progress is not enough: one that
 * took its id after the last one to finish is running but not listed.) floor_raise applies such a reading once
 * no transaction older than that id is left, and only if no reset came between; since their rows may have
 * become visible and pending meanwhile, it rises no further than below the first pending row it sees then (the
 * UPDATE runs whether or not the result reads it). It returns whether they have ended. */
static int prepare_floor(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[1024];
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT f.gen, coalesce((SELECT min(t.id) - 1 FROM %1$s t WHERE t.sent_at IS NULL AND t.failed_at IS NULL"
		 "  AND t.id > f.floor), (SELECT max(t.id) FROM %1$s t WHERE t.id > f.floor), f.floor),"
		 " pg_current_xact_id() FROM %2$s f WHERE f.one",
		 pg->qtable, pg->qfloor);
	if ((rc = prepare(pg, "floor_probe", sql, 0, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql),
		 "WITH ended AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS ok),"
		 " target AS (SELECT least($2::bigint, (SELECT min(t.id) - 1 FROM %1$s t"
		 "  WHERE t.sent_at IS NULL AND t.failed_at IS NULL AND t.id > (SELECT floor FROM %2$s WHERE one))) AS floor),"
		 " raised AS (UPDATE %2$s f SET floor = target.floor FROM ended, target"
		 "  WHERE f.one AND ended.ok AND f.gen = $3::bigint AND f.floor < target.floor RETURNING 1)"
		 " SELECT ok FROM ended",
		 pg->qtable, pg->qfloor);
	return prepare(pg, "floor_raise", sql, 3, errbuf, errsize);
}

/* Applies the waiting reading if its transactions have ended; returns 1 if it did (or was void), 0 if it must
 * wait on, or an error. */
static int floor_raise(struct pg *pg, char *errbuf, size_t errsize)
{
	const char *params[3] = { pg->cand_xid, pg->cand_floor, pg->cand_gen };
	PGresult *res;
	int rc = PG_OK, ended;

	if ((res = query_prepared(pg, "floor_raise", 3, params, "cannot raise the claim floor", &rc, errbuf, errsize)) ==
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

	if ((res = query_prepared(pg, "floor_probe", 0, NULL, "cannot read the claim floor", &rc, errbuf, errsize)) ==
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

static int prepare_statements(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[2048];
	int rc;

	if ((rc = prepare_claims(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->qfloor != NULL && (rc = prepare_floor(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->schema_version >= 3 && (rc = prepare_purge(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->cfg->sent_delete)
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ANY($1::bigint[])", pg->qtable);
	else
		snprintf(sql, sizeof(sql), "UPDATE %s SET sent_at = now() WHERE id = ANY($1::bigint[])", pg->qtable);
	if ((rc = prepare(pg, "mark_sent", sql, 1, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET failed_at = now(), attempts = attempts + 1, last_error = $2%s WHERE id = $1::bigint",
		 pg->qtable, unschedule(pg->schema_version));
	if ((rc = prepare(pg, "mark_failed", sql, 2, errbuf, errsize)) != PG_OK)
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
	return prepare(pg, "mark_retry", sql, 4, errbuf, errsize);
}

/* With ordering by key, the table must have buckets (schema version 4): their number is the rows of
 * <table>_buckets, fixed when the schema was installed. */
static int count_buckets(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512], *tb;
	PGresult *res;
	int rc = PG_OK;

	pg->nbuckets = 0;
	if (!pg->cfg->ordering_key)
		return PG_OK;
	if (pg->schema_version < 4) {
		snprintf(errbuf, errsize,
			 "table %s is at schema version %d; relay.ordering = \"key\" needs version 4 (run: outboxd schema "
			 "install, or set relay.ordering = \"none\")",
			 pg->qtable, pg->schema_version);
		return PG_ERR_SCHEMA;
	}
	if ((tb = qualified(pg, "_buckets", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tb);
	free(tb);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot read the buckets", PQerrorMessage(pg->conn));
	} else if ((pg->nbuckets = atoi(PQgetvalue(res, 0, 0))) < 1 || pg->nbuckets > PG_MAX_BUCKETS) {
		snprintf(errbuf, errsize, "the buckets table of %s has %d rows, not 1 to %d", pg->qtable, pg->nbuckets,
			 PG_MAX_BUCKETS);
		pg->nbuckets = 0;
		rc = PG_ERR_SCHEMA;
	}
	PQclear(res);
	return rc;
}

/* PostgreSQL checks privileges when a statement runs, not when it is prepared: without this, a relay lacking DELETE
 * would learn it only after publishing its first batch, and then re-send that batch for ever. */
static int check_delete_privilege(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc = PG_OK;
	PGresult *res = query(pg, "SELECT has_table_privilege($1::regclass, 'DELETE')", 1,
			      (const char *[]){ pg->qtable }, "cannot check the DELETE privilege", &rc, errbuf, errsize);

	if (res == NULL)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(errbuf, errsize,
			 "relay.on_sent = \"delete\" needs DELETE on %s, which this role lacks (GRANT DELETE ON %s TO ...)",
			 pg->qtable, pg->qtable);
		rc = PG_ERR_SCHEMA;
	}
	PQclear(res);
	return rc;
}

int pg_prepare_relay(struct pg *pg, const struct pg_claim_limits *lim, int need_version, char *errbuf,
		     size_t errsize)
{
	char sql[256];
	unsigned oid = 0;
	int rc;

	pg->claim = *lim;
	if ((rc = check_table(pg, need_version, &oid, errbuf, errsize)) != PG_OK)
		return rc;
	pg->table_oid = oid;
	if (pg->cfg->block_key && pg->schema_version < 5) {
		snprintf(errbuf, errsize,
			 "table %s is at schema version %d; relay.on_permanent_error = \"block_key\" needs version 5 (run: "
			 "outboxd schema install)",
			 pg->qtable, pg->schema_version);
		return PG_ERR_SCHEMA;
	}
	if (pg->cfg->sent_delete && (rc = check_delete_privilege(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->schema_version >= 6 && (pg->qfloor = qualified(pg, "_floor", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
	if ((rc = count_buckets(pg, errbuf, errsize)) != PG_OK)
		return rc;
	/* A lost commit of a mark means a re-send, never a loss: the relay's own commits need not wait for the
	 * WAL flush. A relay stuck mid-batch gets its row locks taken away by the server. A queue table's
	 * statistics are always stale (a fresh backlog looks like 2 rows), and then the planner reads the whole
	 * backlog with a bitmap scan and sorts it on disk for each claim (measured: 100 ms per claim of 500 rows out
	 * of 60,000); every statement of this session is meant to walk an index, so only index scans are allowed.
	 * The costs that makes (any unavoidable seq scan costs 1e10) would set off JIT compilation of every
	 * statement (measured: 60 ms each), so JIT is off: these statements are all short. outboxd.relay tells the
	 * floor's reset trigger (schema version 6) that this session's updates never make a row pending again. */
	snprintf(sql, sizeof(sql),
		 "SET synchronous_commit = off; SET enable_seqscan = off; SET enable_bitmapscan = off; SET jit = off;"
		 " SET outboxd.relay = on;"
		 " SET idle_in_transaction_session_timeout = %d; SET lock_timeout = 10000",
		 pg->cfg->delivery_timeout_ms * 2 + 10000);
	if ((rc = exec_cmd(pg, sql, "cannot set up the session", errbuf, errsize)) != PG_OK)
		return rc;
	if ((rc = prepare_statements(pg, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql), "LISTEN \"outboxd_%u\"", oid);
	if ((rc = exec_cmd(pg, sql, "cannot LISTEN", errbuf, errsize)) != PG_OK)
		return rc;
	return size_ids_buf(pg, lim->rows, errbuf, errsize);
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
	{ "size", 8 },    { "claimed", 8 },  { "bucket", 4 },
};

#define N_CLAIM_COLS ((int)(sizeof(claim_cols) / sizeof(claim_cols[0])))

static int bad_row(char *why, size_t whysize, int i, const char *col, const char *what)
{
	snprintf(why, whysize, "row %d of the claim: column %s: %s", i, col, what);
	return -1;
}

int pg_row_decode(const PGresult *res, int i, struct outbox_row *r, char *why, size_t whysize)
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
		set_err(errbuf, errsize, "cannot claim rows", "batch smaller than the claim");
		return PG_ERR_QUERY;
	}
	if (in_flight == NULL && (rc = exec_cmd(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		return rc;
	if (in_flight != NULL)
		id_ranges(pg, in_flight);
	else
		strcpy(pg->ids_buf, "{}");
	params[0] = buckets != NULL ? buckets : pg->ids_buf;
	params[1] = pg->ids_buf;
	res = PQexecPrepared(pg->conn, buckets != NULL ? "claim_some" : "claim", buckets != NULL ? 2 : 1, params, NULL,
			     NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot claim rows", PQerrorMessage(pg->conn));
		PQclear(res);
		return rc;
	}
	b->result = res;
	b->release = release_result;
	if (PQntuples(res) > limit) {
		batch_clear(b);
		set_err(errbuf, errsize, "cannot claim rows", "the server returned more rows than asked for");
		return PG_ERR_QUERY;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct outbox_row *r = &b->rows[i];
		batch_reset_row(b, i);
		if (pg_row_decode(res, i, r, errbuf, errsize) < 0) {
			batch_clear(b); /* frees the result */
			return PG_ERR_QUERY;
		}
		b->n = i + 1;
	}
	b->more = b->n > 0 && (long long)get_be64(PQgetvalue(res, 0, 9)) > b->n;
	return PG_OK;
}

static int exec_prepared(struct pg *pg, const char *stmt, int n, const char *const *params, char *errbuf,
			 size_t errsize)
{
	return result_ok(pg, PQexecPrepared(pg->conn, stmt, n, params, NULL, NULL, 0), "cannot mark rows", errbuf,
			 errsize);
}

static int commit(struct pg *pg, char *errbuf, size_t errsize)
{
	PGresult *res = PQexec(pg->conn, "COMMIT");
	int rc = PG_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "commit failed", PQerrorMessage(pg->conn));
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* The transaction had failed earlier and COMMIT rolled it back. */
		rc = PG_ERR_QUERY;
		set_err(errbuf, errsize, "commit failed", "the transaction was rolled back");
	}
	PQclear(res);
	return rc;
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
	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *r = &b->rows[i];
		char id[24];
		if (r->state != ROW_PERMANENT)
			continue;
		snprintf(id, sizeof(id), "%lld", (long long)r->id);
		if ((rc = exec_prepared(pg, "mark_failed", 2, (const char *[]){ id, r->reason }, errbuf, errsize)) !=
		    PG_OK)
			return rc;
	}
	/* Undelivered rows stay unsent; one reason (the first) stands for all, as they almost always share it. */
	snprintf(bmin, sizeof(bmin), "%d", pg->cfg->backoff_min_ms);
	snprintf(bmax, sizeof(bmax), "%d", pg->cfg->backoff_max_ms);
	if (ids_of(pg, b, STATE(ROW_TRANSIENT) | STATE(ROW_PENDING), &reason) > 0 &&
	    (rc = exec_prepared(pg, "mark_retry", 4, (const char *[]){ pg->ids_buf, reason, bmin, bmax }, errbuf,
				errsize)) != PG_OK)
		return rc;
	return PG_OK;
}

int pg_mark_batch_send(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize)
{
	if (batch_count(b, ROW_ACKED) < b->n)
		return mark_each(pg, b, errbuf, errsize);
	ids_of(pg, b, STATE(ROW_ACKED), NULL);
	if (!PQsendQueryPrepared(pg->conn, "mark_sent", 1, (const char *[]){ pg->ids_buf }, NULL, NULL, 0)) {
		set_err(errbuf, errsize, "cannot mark rows", PQerrorMessage(pg->conn));
		return rc_of(pg, NULL);
	}
	pg->marking = 1;
	return PG_OK;
}

/* Reads what is left of a sent statement's results; the first error, if any, goes to errbuf. */
static int drain_results(struct pg *pg, char *errbuf, size_t errsize)
{
	PGresult *res;
	int rc = PG_OK;

	pg->marking = 0;
	while ((res = PQgetResult(pg->conn)) != NULL) {
		if (rc == PG_OK)
			rc = result_ok(pg, res, "cannot mark rows", errbuf, errsize);
		else
			PQclear(res);
	}
	if (rc == PG_OK && PQstatus(pg->conn) != CONNECTION_OK) {
		rc = PG_ERR_CONN;
		set_err(errbuf, errsize, "cannot mark rows", PQerrorMessage(pg->conn));
	}
	return rc;
}

int pg_mark_batch_wait(struct pg *pg, char *errbuf, size_t errsize)
{
	return pg->marking ? drain_results(pg, errbuf, errsize) : PG_OK;
}

int pg_commit(struct pg *pg, char *errbuf, size_t errsize)
{
	fault_point("before_commit");
	return commit(pg, errbuf, errsize);
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
	if (pg->marking) {
		char ignored[8];
		drain_results(pg, ignored, sizeof(ignored));
	}
	if (PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(pg->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		pg_disconnect(pg);
	PQclear(res);
}

int pg_lag(struct pg *pg, struct pg_lag *out, char *errbuf, size_t errsize)
{
	char sql[1280], above[300];
	PGresult *res;
	int rc = PG_OK;

	above_floor(pg, above, sizeof(above));
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM %1$s WHERE sent_at IS NULL AND failed_at IS NULL%2$s),"
		 " COALESCE((SELECT (extract(epoch FROM clock_timestamp() - created_at) * 1000)::bigint FROM %1$s"
		 "  WHERE sent_at IS NULL AND failed_at IS NULL%2$s ORDER BY id LIMIT 1), 0),"
		 " (SELECT count(*) FROM %1$s WHERE failed_at IS NOT NULL AND sent_at IS NULL)",
		 pg->qtable, above);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot read the lag", PQerrorMessage(pg->conn));
	} else {
		out->pending = atoll(PQgetvalue(res, 0, 0));
		out->oldest_pending_ms = atoll(PQgetvalue(res, 0, 1));
		out->failed = atoll(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return rc;
}

static int installed_version(struct pg *pg, int *version, char *errbuf, size_t errsize)
{
	char meta[300], sql[512];
	PGresult *res;
	int rc = PG_OK;

	snprintf(meta, sizeof(meta), "%s.outboxd_schema", pg->qschema);
	res = PQexecParams(pg->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, (const char *[]){ meta }, NULL,
			   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	*version = 0;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		goto done;
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT version FROM %s WHERE table_name = $1", meta);
	res = PQexecParams(pg->conn, sql, 1, NULL, (const char *[]){ pg->cfg->pg_table }, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	*version = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
	goto done;
fail:
	rc = rc_of(pg, res);
	set_err(errbuf, errsize, "cannot read the schema version", PQerrorMessage(pg->conn));
done:
	PQclear(res);
	return rc;
}

int pg_schema_version(struct pg *pg, int *version, char *errbuf, size_t errsize)
{
	return installed_version(pg, version, errbuf, errsize);
}

int pg_schema_install(struct pg *pg, pg_render_fn render, int latest, int *from, int *to, char *errbuf,
		      size_t errsize)
{
	char *sql = NULL;
	int rc;

	rc = exec_cmd(pg, "BEGIN; SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")",
		      "cannot begin", errbuf, errsize);
	if (rc != PG_OK)
		goto fail;
	if ((rc = installed_version(pg, from, errbuf, errsize)) != PG_OK)
		goto fail;
	*to = *from > latest ? *from : latest;
	if (*from < latest) {
		if ((sql = render(pg->cfg->pg_schema, pg->cfg->pg_table, *from, errbuf, errsize)) == NULL) {
			rc = PG_ERR_QUERY;
			goto fail;
		}
		if ((rc = exec_cmd(pg, sql, "schema install failed", errbuf, errsize)) != PG_OK)
			goto fail;
	}
	free(sql);
	return commit(pg, errbuf, errsize);
fail:
	free(sql);
	pg_abort(pg);
	return rc;
}

int pg_schema_grant(struct pg *pg, const char *sql, char *errbuf, size_t errsize)
{
	int rc = exec_cmd(pg, "BEGIN; SET LOCAL client_min_messages = warning", "cannot begin", errbuf, errsize);

	if (rc == PG_OK && (rc = exec_cmd(pg, sql, "grant failed", errbuf, errsize)) == PG_OK)
		return commit(pg, errbuf, errsize);
	pg_abort(pg);
	return rc;
}

PGresult *pg_failed_rows(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512];
	PGresult *res;

	snprintf(sql, sizeof(sql),
		 "SELECT id, event_id, topic, coalesce(key, ''), attempts, failed_at, coalesce(last_error, '') FROM %s"
		 " WHERE failed_at IS NOT NULL AND sent_at IS NULL ORDER BY id",
		 pg->qtable);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	set_err(errbuf, errsize, "cannot list failed rows", PQerrorMessage(pg->conn));
	PQclear(res);
	return NULL;
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

int pg_retry_failed(struct pg *pg, const char *const *ids, int n_ids, int all, long long *retried, char *errbuf,
		    size_t errsize)
{
	char sql[512], *arr = NULL;
	const char *params[1];
	PGresult *res;
	int rc, version = 0;

	if (!all && (arr = id_array(ids, n_ids)) == NULL) {
		set_err(errbuf, errsize, "retry", "out of memory");
		return PG_ERR_QUERY;
	}
	params[0] = arr;
	if ((rc = exec_cmd(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		goto done;
	if ((rc = installed_version(pg, &version, errbuf, errsize)) != PG_OK)
		goto fail;
	/* The row goes back to pending with its attempts and last error kept, due at once; the relay picks it up in
	 * id order. */
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET failed_at = NULL%s WHERE failed_at IS NOT NULL AND sent_at IS NULL%s",
		 pg->qtable, unschedule(version), all ? "" : " AND id = ANY($1::bigint[])");
	res = PQexecParams(pg->conn, sql, all ? 0 : 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot retry", PQerrorMessage(pg->conn));
		PQclear(res);
		goto fail;
	}
	*retried = atoll(PQcmdTuples(res));
	PQclear(res);
	/* Every id given must be a failed row: otherwise nothing changes, so a typo cannot half-apply. */
	if (!all && *retried != n_ids) {
		snprintf(errbuf, errsize, "retry: %lld of the %d ids given are failed rows; nothing changed (see: outboxd failed list)",
			 *retried, n_ids);
		rc = PG_ERR_QUERY;
		goto fail;
	}
	rc = commit(pg, errbuf, errsize);
	goto done;
fail:
	pg_abort(pg);
done:
	free(arr);
	return rc;
}

int pg_replay_sent(struct pg *pg, const char *from_id, const char *since, const char *topic, struct pg_replayed *out,
		   char *errbuf, size_t errsize)
{
	const char *params[2] = { from_id ? from_id : since, topic };
	char sql[768];
	PGresult *res;
	int rc = PG_OK, version = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = installed_version(pg, &version, errbuf, errsize)) != PG_OK)
		return rc;
	/* Failed rows stay failed (that is retry's job); sent_at goes back to NULL, so the row is claimed again in
	 * id order like any pending row. One statement, so it applies whole or not at all. */
	snprintf(sql, sizeof(sql),
		 "WITH r AS (UPDATE %s SET sent_at = NULL%s WHERE sent_at IS NOT NULL AND failed_at IS NULL AND %s%s"
		 " RETURNING id) SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM r",
		 pg->qtable, unschedule(version),
		 from_id ? "id >= $1::bigint" : "sent_at >= $1::timestamptz", topic ? " AND topic = $2" : "");
	if ((res = query(pg, sql, topic ? 2 : 1, params, "cannot replay", &rc, errbuf, errsize)) == NULL)
		return rc;
	out->rows = atoll(PQgetvalue(res, 0, 0));
	out->min_id = atoll(PQgetvalue(res, 0, 1));
	out->max_id = atoll(PQgetvalue(res, 0, 2));
	PQclear(res);
	return PG_OK;
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
	snprintf(age, sizeof(age), "%d seconds", older_than_s);
	snprintf(n, sizeof(n), "%d", max_rows);
	res = PQexecPrepared(pg->conn, "purge", 2, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = rc_of(pg, res);
		set_err(errbuf, errsize, "cannot purge sent rows", PQerrorMessage(pg->conn));
	} else {
		*deleted = atoi(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

int pg_nbuckets(const struct pg *pg)
{
	return pg->nbuckets;
}

int pg_backend_pid(const struct pg *pg)
{
	return pg->conn ? PQbackendPID(pg->conn) : 0;
}

int pg_heartbeat(struct pg *pg, const char *instance, int claim_pid, int ttl_ms, struct pg_members *out,
		 char *errbuf, size_t errsize)
{
	char pid[16], ttl[16], sql[2048], *rt;
	const char *params[4] = { instance, pid, ttl, pg->cfg->ordering };
	PGresult *res;
	int rc = PG_OK;

	if ((rt = qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
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
	if ((res = query(pg, sql, 4, params, "heartbeat failed", &rc, errbuf, errsize)) == NULL)
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

	if ((rt = qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE instance = $1", rt);
	free(rt);
	res = PQexecParams(pg->conn, sql, 1, NULL, (const char *[]){ instance }, NULL, NULL, 0);
	return result_ok(pg, res, "cannot leave", errbuf, errsize);
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
	if ((tb = qualified(pg, "_buckets", errbuf, errsize)) == NULL)
		return PG_ERR_QUERY;
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
	if ((res = query(pg, sql, 5, params, "cannot take buckets", &rc, errbuf, errsize)) == NULL)
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
	res = query(pg, "SELECT count(*) FILTER (WHERE pg_advisory_unlock($1::integer, b)) FROM unnest($2::integer[]) b",
		    2, params, "cannot release buckets", &rc, errbuf, errsize);
	PQclear(res);
	return rc;
}

PGresult *pg_bucket_status(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[2048], *tb = NULL, *tr = NULL, *fn = NULL;
	PGresult *res = NULL;
	int rc;

	if ((tb = qualified(pg, "_buckets", errbuf, errsize)) == NULL ||
	    (tr = qualified(pg, "_relays", errbuf, errsize)) == NULL ||
	    (fn = qualified(pg, "_bucket", errbuf, errsize)) == NULL)
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
	res = query(pg, sql, 1, (const char *[]){ pg->qtable }, "cannot read the buckets", &rc, errbuf, errsize);
done:
	free(tb);
	free(tr);
	free(fn);
	return res;
}

PGresult *pg_relays(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[1024], *tr;
	int rc;

	if ((tr = qualified(pg, "_relays", errbuf, errsize)) == NULL)
		return NULL;
	snprintf(sql, sizeof(sql),
		 "SELECT r.instance, r.pid, r.ordering, (extract(epoch FROM now() - r.heartbeat_at) * 1000)::bigint,"
		 "  EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.pid AND a.backend_start = r.backend_start)"
		 " FROM %s r ORDER BY r.instance",
		 tr);
	free(tr);
	return query(pg, sql, 0, NULL, "cannot read the relays", &rc, errbuf, errsize);
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
		set_err(errbuf, errsize, "cannot quote the Debezium table's name", PQerrorMessage(pg->conn));
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
	res = query(pg,
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
