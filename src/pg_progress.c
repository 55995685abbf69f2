/* relay.on_sent = "keep" (schema version 7, sql/007_progress.sql): delivery that never writes a delivered row.
 * The relay's progress is one row, <table>_progress, read and locked at the start of each transaction and
 * updated once per batch: a window of rows (visible in the snapshot target, not in done) delivered in id order
 * up to cur. Locking that row is also the leadership: one relay delivers at a time, in id order, so per-key
 * order holds; the others find it locked and stand by. README: "Delivery without rewriting rows". */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pg_private.h"

/* A row written before version 7 has no xid: it counts as committed before any snapshot the relay takes (3 is
 * the first normal transaction id). */
#define XID_OF "coalesce(%1$s.xid, '3'::xid8)"

/* Parameters of the claim: $1 the cursor, $2 done, $3 done_hi, $4 the stragglers (xid8[], see STRAGGLERS),
 * $5 target, $6 hi. The stragglers come as a value, not computed in the statement: the plan must see them to
 * look each up in the xid index (computed in the statement, the planner walked the primary key from the cursor
 * to the end of the table for every claim: 1,500 rows/s in a 1M drain). */
#define CLAIM_PARAMS 6

/* The transactions that had their id when done was taken but were not visible in it: the ones it lists as
 * running, and those from its xmax up to done_xid, the relay's own transaction id taken just after done (a
 * snapshot's xmax is the last finished id + 1, so a transaction that took its id later and still runs is in
 * neither its list nor above its xmax of that moment). A handful: the transactions running at that moment. */
#define STRAGGLERS                                                                                                    \
	"ARRAY(SELECT pg_snapshot_xip(done) UNION ALL SELECT g::text::xid8 FROM"                                       \
	" generate_series(pg_snapshot_xmax(done)::text::bigint, done_xid::text::bigint - 1) g)"

/* The window's rows after the cursor, in id order, all visible in target:
 *  (a) those of the stragglers, each looked up in the (xid, id) index from the cursor;
 *  (b) every other: its transaction took its id after done_xid, so after done, and drew its row ids after that
 *      (<table>_xid_first): they are above done_hi, which bounds the walk of the primary key.
 * done NULL: nothing delivered yet, (b) is every row. Rows marked sent or failed (by a relay in "mark" mode
 * before the switch, or failed here) are never in a window; the filter sits inside each branch so that a run of
 * them cannot end a window early. In (a) it is written as one coalesce so that it does not match the pending
 * index's predicate: on a table not yet analysed the planner took that index (it looks empty) and walked every
 * row from the cursor for each straggler (measured at 1,000 events/s: 1.7 ms per straggler, a claim p90 of
 * 4.5 ms); the xid index is the only one left for the lookup. */
static void window_ids(const struct pg *pg, char *out, size_t size)
{
	char xb[64];

	snprintf(xb, sizeof(xb), XID_OF, "b");
	snprintf(out, size,
		 "SELECT id FROM ("
		 " (SELECT s.id FROM unnest($4::xid8[]) AS x(xid), LATERAL (SELECT a.id FROM %1$s a WHERE a.xid = x.xid"
		 "   AND a.id > $1::bigint AND pg_visible_in_snapshot(a.xid, $5::pg_snapshot)"
		 "   AND coalesce(a.sent_at, a.failed_at) IS NULL ORDER BY a.id LIMIT %2$d) s ORDER BY s.id LIMIT %2$d)"
		 " UNION ALL (SELECT b.id FROM %1$s b WHERE b.id > greatest($1::bigint, $3::bigint) AND b.id <= $6::bigint"
		 "   AND pg_visible_in_snapshot(%3$s, $5::pg_snapshot)"
		 "   AND NOT coalesce(pg_visible_in_snapshot(%3$s, $2::pg_snapshot), false) AND %3$s <> ALL($4::xid8[])"
		 "   AND b.sent_at IS NULL AND b.failed_at IS NULL ORDER BY b.id LIMIT %2$d)) u ORDER BY id LIMIT %2$d",
		 pg->qtable, pg->claim.rows, xb);
}

/* The claim of pg_claim.c over the window's ids: the same columns, row and byte budgets (bucket is -1). With
 * block_key a row is "blocked" when a failed row holds its key: the window passes it all the same, so it is claimed
 * and set aside as failed (batch.h: BLOCKED), which keeps it, and the later rows of its key, for retry. */
static int prepare_claim(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[5120], ids[2048], rows[3072], with[400] = "";
	const char *blocked = "false";

	window_ids(pg, ids, sizeof(ids));
	if (pg->cfg->on_permanent_error == ON_ERROR_BLOCK_KEY) {
		pgi_blocked_keys(pg, "b.failed_at IS NOT NULL", with, sizeof(with));
		blocked = "coalesce((t.topic, t.key) IN (SELECT topic, key FROM blocked), false)";
	}
	snprintf(rows, sizeof(rows),
		 "SELECT t.id, t.event_id, t.topic, t.key, t.payload, t.headers, t.created_at, t.attempts,"
		 " " ROW_SIZE("t") " AS size, -1 AS bucket, %s AS blocked FROM (%s) w JOIN %s t ON t.id = w.id",
		 blocked, ids, pg->qtable);
	pgi_claim_sql(pg, with, rows, sql, sizeof(sql));
	return pgi_prepare(pg, "keep_claim", sql, CLAIM_PARAMS, errbuf, errsize);
}

/* The columns keep_lock and keep_next return, in this order (%2$s: the replay's, see replay_cols); keep_lock adds
 * the next window's. */
#define WINDOW_COLS "done, done_hi, " STRAGGLERS ", target, hi, cur, %2$s"

/* A row delivered, by the progress: marked sent before the switch to "keep", visible in done, or in the window up
 * to its cursor. */
#define DELIVERED(row, done, target, cur)                                                                             \
	"(" row ".sent_at IS NOT NULL OR coalesce(pg_visible_in_snapshot(coalesce(" row ".xid, '3'), " done "), false)"  \
	" OR (pg_visible_in_snapshot(coalesce(" row ".xid, '3'), " target ") AND " row ".id <= " cur "))"

/* The replay's columns (version 8), or NULLs in their place. */
static const char *replay_cols(const struct pg *pg)
{
	return pg->schema_version >= 8 ? "replay_to, replay_cur, replay_topic" : "NULL::bigint, NULL::bigint, NULL::text";
}

/* A replay's claim: $1 the cursor, $2 replay_to, $3 replay_topic, $4 done, $5 target, $6 cur; the delivered rows
 * in id order, with the window claim's columns and budgets. */
static int prepare_replay_claim(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[4096], rows[2048];

	snprintf(rows, sizeof(rows),
		 "SELECT t.id, t.event_id, t.topic, t.key, t.payload, t.headers, t.created_at, t.attempts,"
		 " " ROW_SIZE("t") " AS size, -1 AS bucket, false AS blocked FROM %s t WHERE t.id > $1::bigint"
		 " AND t.id <= $2::bigint AND t.failed_at IS NULL AND ($3::text IS NULL OR t.topic = $3::text)"
		 " AND " DELIVERED("t", "$4::pg_snapshot", "$5::pg_snapshot", "$6::bigint") " ORDER BY t.id LIMIT %d",
		 pg->qtable, pg->claim.rows);
	pgi_claim_sql(pg, "", rows, sql, sizeof(sql));
	return pgi_prepare(pg, "keep_replay", sql, 6, errbuf, errsize);
}

static int prepare_replay(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512];
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE %s SET replay_cur = $1::bigint, updated_at = now() WHERE one", pg->qprogress);
	if ((rc = pgi_prepare(pg, "keep_replay_save", sql, 1, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql), "UPDATE %s SET replay_to = NULL, replay_cur = NULL, replay_topic = NULL WHERE one",
		 pg->qprogress);
	return pgi_prepare(pg, "keep_replay_end", sql, 0, errbuf, errsize);
}

/* The statements that carry the claim's limits and policy: made again when a reload changes them. */
static int prepare_claims(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc;

	if (pg->schema_version >= 8 && (rc = prepare_replay_claim(pg, errbuf, errsize)) != PG_OK)
		return rc;
	return prepare_claim(pg, errbuf, errsize);
}

int pgi_progress_reprepare(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc = pgi_exec(pg, pg->schema_version >= 8 ? "DEALLOCATE keep_claim; DEALLOCATE keep_replay" : "DEALLOCATE keep_claim",
			  "cannot replace the claim", errbuf, errsize);

	return rc == PG_OK ? prepare_claims(pg, errbuf, errsize) : rc;
}

/* The progress's copy for replay --since (sql/009_progress_times.sql), stamped with the clock when it is made,
 * after every batch of its transaction was acknowledged; $1 retention_s (0: copies are kept). */
#define STAMP_INTERVAL_MS 10000

static int prepare_stamp(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[768], *qat;
	int rc;

	if ((qat = pgi_qualified(pg, "_progress_at", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql),
		 "WITH gone AS (DELETE FROM %1$s WHERE $1::integer > 0 AND at < clock_timestamp() - $1::integer * interval '1 second')"
		 " INSERT INTO %1$s (at, done, target, cur) SELECT clock_timestamp(), done, target, cur FROM %2$s WHERE one"
		 " ON CONFLICT DO NOTHING",
		 qat, pg->qprogress);
	free(qat);
	rc = pgi_prepare(pg, "keep_stamp", sql, 1, errbuf, errsize);
	pg->stamp_due_ms = 0; /* a new session copies at its first commit */
	return rc;
}

int pgi_progress_stamp(struct pg *pg, char *errbuf, size_t errsize)
{
	char keep_s[16];
	int64_t now = clock_now_ms();

	if (pg->schema_version < 9 || !pg->win_open || now < pg->stamp_due_ms)
		return PG_OK;
	snprintf(keep_s, sizeof(keep_s), "%d", pg->cfg->retention_s);
	pg->stamp_due_ms = now + STAMP_INTERVAL_MS;
	return pgi_result_ok(pg, PQexecPrepared(pg->conn, "keep_stamp", 1, (const char *[]){ keep_s }, NULL, NULL, 0),
			     "cannot copy the progress", errbuf, errsize);
}

/* A window opened in this transaction: the snapshot of this statement with its highest visible id (%3$s is the
 * outbox), and the transaction id that locking takes, which is assigned after that snapshot was. */
#define NEXT_TARGET "pg_current_snapshot()"
#define NEXT_HI "(SELECT coalesce(max(id), 0) FROM %3$s)"
#define NEXT_XID "pg_current_xact_id()"

int pgi_prepare_progress(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[1024];
	int rc;

	/* SKIP LOCKED: a peer holding it is delivering; this relay stands by. */
	snprintf(sql, sizeof(sql),
		 "SELECT " WINDOW_COLS ", " NEXT_TARGET ", " NEXT_HI ", " NEXT_XID
		 " FROM %1$s WHERE one FOR UPDATE SKIP LOCKED",
		 pg->qprogress, replay_cols(pg), pg->qtable);
	if ((rc = pgi_prepare(pg, "keep_lock", sql, 0, errbuf, errsize)) != PG_OK)
		return rc;
	/* The window delivered becomes done; the next is the one keep_lock saw. */
	snprintf(sql, sizeof(sql),
		 "UPDATE %1$s SET done = coalesce(target, done), done_hi = coalesce(hi, done_hi),"
		 " done_xid = CASE WHEN target IS NULL THEN done_xid ELSE target_xid END,"
		 " target = $1::pg_snapshot, hi = $2::bigint, target_xid = $3::xid8, cur = 0, updated_at = now() WHERE one"
		 " RETURNING " WINDOW_COLS,
		 pg->qprogress, replay_cols(pg));
	if ((rc = pgi_prepare(pg, "keep_next", sql, 3, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql), "UPDATE %s SET cur = $1::bigint, updated_at = now() WHERE one", pg->qprogress);
	if ((rc = pgi_prepare(pg, "keep_save", sql, 1, errbuf, errsize)) != PG_OK)
		return rc;
	/* keep_lock and keep_next in one statement, for the relay that left the window exhausted ($1 its target, $2
	 * its cursor) and finds the row as it left it: a round trip to lock and another to find the window empty
	 * saved from every wake-up at a steady trickle. The columns are keep_lock's, the transaction id last. */
	snprintf(sql, sizeof(sql),
		 "UPDATE %1$s p SET done = p.target, done_hi = p.hi, done_xid = p.target_xid, target = " NEXT_TARGET
		 ", hi = " NEXT_HI ", target_xid = " NEXT_XID ", cur = 0, updated_at = now()"
		 " FROM (SELECT one FROM %1$s WHERE one FOR UPDATE SKIP LOCKED) l"
		 " WHERE p.one AND l.one AND p.target::text = $1 AND p.cur = $2::bigint"
		 " RETURNING " WINDOW_COLS ", NULL, NULL, p.target_xid",
		 pg->qprogress, replay_cols(pg), pg->qtable);
	if ((rc = pgi_prepare(pg, "keep_lock_next", sql, 2, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->schema_version >= 8 && (rc = prepare_replay(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->schema_version >= 9 && (rc = prepare_stamp(pg, errbuf, errsize)) != PG_OK)
		return rc;
	return prepare_claims(pg, errbuf, errsize);
}

static void window_clear(struct pg *pg)
{
	for (int i = 0; i < WIN_VALUES; i++) {
		free(pg->win[i]);
		pg->win[i] = NULL;
	}
	pg->win_open = 0;
}

void pgi_progress_free(struct pg *pg)
{
	window_clear(pg);
	free(pg->known_target);
	pg->known_target = NULL;
	free(pg->qprogress);
	pg->qprogress = NULL;
}

/* Takes the window from a keep_lock result (one row, or none when a peer holds it), with the next window's
 * values, or from keep_next's, which has none: that one can be opened once per transaction. */
static int window_take(struct pg *pg, PGresult *res, char *errbuf, size_t errsize)
{
	int n = PQnfields(res) < WIN_VALUES ? PQnfields(res) : WIN_VALUES;

	window_clear(pg);
	if (PQntuples(res) == 0)
		return PG_OK;
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(res, 0, i))
			continue;
		if ((pg->win[i] = strdup(PQgetvalue(res, 0, i))) == NULL) {
			window_clear(pg);
			pgi_set_err(errbuf, errsize, "cannot read the progress", "out of memory");
			return PG_ERR_NOMEM;
		}
	}
	pg->win_open = 1;
	return PG_OK;
}

static int window_query(struct pg *pg, const char *stmt, int n, const char *const *params, char *errbuf,
			size_t errsize)
{
	int rc = PG_OK;
	PGresult *res = pgi_query_prepared(pg, stmt, n, params, "cannot read the progress", &rc, errbuf, errsize);

	if (res == NULL)
		return rc;
	rc = window_take(pg, res, errbuf, errsize);
	PQclear(res);
	return rc;
}

static int window_next(struct pg *pg, char *errbuf, size_t errsize)
{
	const char *params[3] = { pg->win[WIN_NOW], pg->win[WIN_NOW + 1], pg->win[WIN_NOW + 2] };

	return window_query(pg, "keep_next", 3, params, errbuf, errsize);
}

static PGresult *claim_after(struct pg *pg, const char *cursor, int *rc, char *errbuf, size_t errsize)
{
	const char *params[CLAIM_PARAMS] = { cursor,	       pg->win[WIN_DONE],   pg->win[WIN_DONE_HI],
					     pg->win[WIN_STRAGGLERS], pg->win[WIN_TARGET], pg->win[WIN_HI] };

	pg->claimed_after = strtoll(cursor, NULL, 10);
	return pgi_tuples(pg, PQexecPrepared(pg->conn, "keep_claim", CLAIM_PARAMS, params, NULL, NULL, 1),
			  "cannot claim rows", rc, errbuf, errsize);
}

static PGresult *replay_after(struct pg *pg, const char *cursor, int *rc, char *errbuf, size_t errsize)
{
	const char *params[6] = { cursor,	      pg->win[WIN_REPLAY_TO], pg->win[WIN_REPLAY_TOPIC],
				  pg->win[WIN_DONE], pg->win[WIN_TARGET],    pg->win[WIN_CUR] };

	return pgi_tuples(pg, PQexecPrepared(pg->conn, "keep_replay", 6, params, NULL, NULL, 1), "cannot claim rows", rc,
			  errbuf, errsize);
}

/* A replay asked for goes before the window: its next rows, or with none left its end. The end is committed at
 * once (a transaction that then finds nothing to deliver is rolled back) and a new transaction locks the row
 * again. Returns the claim (NULL with *rc set on error), or NULL with *rc PG_OK to go on with the window as
 * locked anew (win_open 0: a peer took the row in between). */
static PGresult *replay_claim(struct pg *pg, int *rc, char *errbuf, size_t errsize)
{
	PGresult *res;

	pg->replaying = 1;
	if ((res = replay_after(pg, pg->win[WIN_REPLAY_CUR], rc, errbuf, errsize)) == NULL || PQntuples(res) > 0)
		return res;
	PQclear(res);
	pg->replaying = 0;
	if ((*rc = pgi_result_ok(pg, PQexecPrepared(pg->conn, "keep_replay_end", 0, NULL, NULL, NULL, 0),
				 "cannot end the replay", errbuf, errsize)) != PG_OK ||
	    (*rc = pgi_commit(pg, errbuf, errsize)) != PG_OK ||
	    (*rc = pgi_exec(pg, "BEGIN", "cannot begin", errbuf, errsize)) != PG_OK)
		return NULL;
	*rc = window_query(pg, "keep_lock", 0, NULL, errbuf, errsize);
	return NULL;
}

static long long epoch_of(const struct pg *pg)
{
	return pg->win[WIN_NOW + 2] != NULL ? strtoll(pg->win[WIN_NOW + 2], NULL, 10) : 0;
}

/* The fast way into a transaction: locks the row and moves on to the next window in one statement, if this relay
 * left the current one exhausted and nobody moved since. Returns 1 with the new window taken, 0 to go the usual
 * way (a peer holds the row, or moved it), or -1 with *rc set. */
static int lock_next(struct pg *pg, int *rc, char *errbuf, size_t errsize)
{
	char cur[24];
	const char *params[2] = { pg->known_target, cur };
	PGresult *res;

	snprintf(cur, sizeof(cur), "%lld", pg->known_cur);
	res = pgi_query_prepared(pg, "keep_lock_next", 2, params, "cannot read the progress", rc, errbuf, errsize);
	free(pg->known_target);
	pg->known_target = NULL; /* it holds for one try: the window it names is gone either way */
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	*rc = window_take(pg, res, errbuf, errsize);
	PQclear(res);
	return *rc == PG_OK ? 1 : -1;
}

PGresult *pgi_progress_claim(struct pg *pg, const char *after, int *rc, char *errbuf, size_t errsize)
{
	PGresult *res;
	int moved = 0;

	*rc = PG_OK;
	if (after != NULL) /* the next batch of a chain: in the window (or replay) its transaction began with */
		return pg->replaying ? replay_after(pg, after, rc, errbuf, errsize)
				     : claim_after(pg, after, rc, errbuf, errsize);
	pg->tail = pg->saved = -1;
	pg->replaying = 0;
	if (pg->known_target != NULL && (moved = lock_next(pg, rc, errbuf, errsize)) < 0)
		return NULL;
	if (!moved && (*rc = window_query(pg, "keep_lock", 0, NULL, errbuf, errsize)) != PG_OK)
		return NULL;
	if (!pg->win_open)
		return NULL; /* a peer is delivering: nothing to claim, and no error */
	pg->epoch = epoch_of(pg);
	if (pg->win[WIN_REPLAY_TO] != NULL) {
		if ((res = replay_claim(pg, rc, errbuf, errsize)) != NULL || *rc != PG_OK || !pg->win_open)
			return res;
		pg->epoch = epoch_of(pg);
		moved = 0; /* the window as keep_lock reads it now */
	}
	if (moved)
		return claim_after(pg, pg->win[WIN_CUR], rc, errbuf, errsize);
	if (pg->win[WIN_TARGET] == NULL) { /* the first run: nothing delivered, no window yet */
		if ((*rc = window_next(pg, errbuf, errsize)) != PG_OK)
			return NULL;
		return claim_after(pg, pg->win[WIN_CUR], rc, errbuf, errsize);
	}
	if ((res = claim_after(pg, pg->win[WIN_CUR], rc, errbuf, errsize)) == NULL || PQntuples(res) > 0)
		return res;
	/* This window is delivered. A new one is opened only here, at the start of a transaction: mid-chain, a
	 * batch still in Kafka belongs to the old one, and saving a cursor for it in the new one would skip rows. */
	PQclear(res);
	if ((*rc = window_next(pg, errbuf, errsize)) != PG_OK)
		return NULL;
	return claim_after(pg, pg->win[WIN_CUR], rc, errbuf, errsize);
}

/* A claim that took fewer rows than it could, none left over, found the window empty after its last row (or
 * after the cursor it began at): a window's rows are fixed when it opens. */
void pgi_progress_claimed(struct pg *pg, const struct batch *b)
{
	if (!pg->replaying && b->n < pg->claim.rows && !b->more)
		pg->tail = b->n > 0 ? b->rows[b->n - 1].id : pg->claimed_after;
	else
		pg->tail = -1;
}

void pgi_progress_committed(struct pg *pg)
{
	free(pg->known_target);
	pg->known_target = NULL;
	if (pg->win_open && pg->tail >= 0 && pg->saved == pg->tail && pg->win[WIN_TARGET] != NULL) {
		pg->known_target = strdup(pg->win[WIN_TARGET]); /* out of memory: the usual way next time */
		pg->known_cur = pg->tail;
	}
	pg->tail = pg->saved = -1;
}

long long pg_progress_epoch(const struct pg *pg)
{
	return pg->epoch;
}

/* A row the cursor may pass: delivered, or failed for good or blocked (and marked so in this transaction). */
static int settled(const struct outbox_row *r)
{
	return r->state == ROW_ACKED || r->state == ROW_FAILED || r->state == ROW_BLOCKED;
}

int pgi_progress_cursor(struct pg *pg, const struct batch *b, char *cur, size_t size)
{
	int i;

	/* The cursor never passes a row that is still to be delivered: it and the rows after it come again. */
	for (i = 0; i < b->n && settled(&b->rows[i]); i++)
		;
	if (i == 0)
		return 0;
	snprintf(cur, size, "%lld", (long long)b->rows[i - 1].id);
	pg->saved = b->rows[i - 1].id;
	return 1;
}

const char *pgi_progress_save(const struct pg *pg)
{
	return pg->replaying ? "keep_replay_save" : "keep_save";
}

/* The identity sequence must hand out ids in the order they are drawn; a cache gives each session its own run. */
static int check_sequence(struct pg *pg, char *errbuf, size_t errsize)
{
	const char *params[1] = { pg->qtable };
	PGresult *res;
	int rc = PG_OK;

	if ((res = pgi_query(pg,
			     "SELECT s.cache_size, pg_get_serial_sequence($1, 'id') FROM pg_sequences s"
			     " WHERE format('%I.%I', s.schemaname, s.sequencename)::regclass"
			     "  = pg_get_serial_sequence($1, 'id')::regclass",
			     1, params, "cannot read the id sequence", &rc, errbuf, errsize)) == NULL)
		return rc;
	if (PQntuples(res) == 1 && atoll(PQgetvalue(res, 0, 0)) > 1) {
		snprintf(errbuf, errsize,
			 "relay.on_sent = \"keep\" needs ids drawn in order, but sequence %s has CACHE %s"
			 " (ALTER SEQUENCE %s CACHE 1)",
			 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		rc = PG_ERR_SCHEMA;
	}
	PQclear(res);
	return rc;
}

/* With "keep": version 7, an uncached sequence, and the progress row, created on the first run.
 * Otherwise: no progress row, which would mean the table is delivered by "keep" relays and every row would go out
 * twice. */
int pgi_progress_check(struct pg *pg, char *errbuf, size_t errsize)
{
	char sql[512];
	int rc;

	if (pg->cfg->on_sent != ON_SENT_KEEP)
		return pgi_refuse_if_kept(pg, pg->schema_version,
					  pg->cfg->on_sent == ON_SENT_DELETE ? "a relay with \"delete\" would send every row again"
									     : "a relay with \"mark\" would send every row again",
					  errbuf, errsize);
	if (pg->schema_version < 7) {
		snprintf(errbuf, errsize,
			 "table %s is at schema version %d; relay.on_sent = \"keep\" needs version 7 (run: outboxd schema install)",
			 pg->qtable, pg->schema_version);
		return PG_ERR_SCHEMA;
	}
	if ((pg->qprogress = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	if ((rc = check_sequence(pg, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql), "INSERT INTO %s DEFAULT VALUES ON CONFLICT DO NOTHING", pg->qprogress);
	return pgi_exec(pg, sql, "cannot create the progress", errbuf, errsize);
}

/* Pending with "keep": the rows above the window's cursor and above done (the lag's statement in pg_claim.c adds
 * "not sent, not failed"); rows of stragglers below them are not counted. */
int pgi_progress_above(struct pg *pg, char *buf, size_t size, char *errbuf, size_t errsize)
{
	/* A command's session (status) has not checked the table as the relay's has: it names the progress here. */
	if (pg->qprogress == NULL && (pg->qprogress = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(buf, size, " AND id > (SELECT greatest(cur, done_hi) FROM %s WHERE one)", pg->qprogress);
	return PG_OK;
}

int pgi_kept(struct pg *pg, int version, int *kept, char *errbuf, size_t errsize)
{
	char sql[400], *qp;
	PGresult *res;
	int rc = PG_OK;

	*kept = 0;
	if (version < 7)
		return PG_OK;
	if ((qp = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s", qp);
	res = pgi_query(pg, sql, 0, NULL, "cannot read the progress", &rc, errbuf, errsize);
	*kept = res != NULL && PQntuples(res) > 0;
	PQclear(res);
	free(qp);
	return rc;
}

int pgi_refuse_if_kept(struct pg *pg, int version, const char *why, char *errbuf, size_t errsize)
{
	int kept, rc = pgi_kept(pg, version, &kept, errbuf, errsize);
	char *qp;

	if (rc != PG_OK || !kept)
		return rc;
	if ((qp = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	snprintf(errbuf, errsize, "table %s is delivered with relay.on_sent = \"keep\" (%s has its progress): %s",
		 pg->qtable, qp, why);
	free(qp);
	return PG_ERR_SCHEMA;
}

/* Replay with "keep": the delivered rows from $1 on (of topic $2) become a range in the progress row, for the
 * relay that holds it. Locking the row first waits for that relay's transaction, so the range is read against the
 * progress as it committed it. With since, $1 is a time: the rows the last copy of the progress at or before it
 * (<table>_progress_at) did not count as delivered, or all of them without one, and those marked sent since then
 * before the switch to "keep". That reads the whole table once. */
int pgi_progress_replay_sql(struct pg *pg, int version, int since, char *sql, size_t size, char *errbuf,
			    size_t errsize)
{
	PGresult *res;
	char *qp, *qat = NULL, which[768];
	int rc;

	if ((rc = pgi_keep_ops_version(pg, version, since ? 9 : 8, since ? "replay --since" : "replay", errbuf,
				       errsize)) != PG_OK)
		return rc;
	if ((qp = pgi_qualified(pg, "_progress", errbuf, errsize)) == NULL ||
	    (since && (qat = pgi_qualified(pg, "_progress_at", errbuf, errsize)) == NULL)) {
		free(qp);
		return PG_ERR_NOMEM;
	}
	snprintf(sql, size, "SELECT replay_to, replay_cur FROM %s WHERE one FOR UPDATE", qp);
	if ((res = pgi_query(pg, sql, 0, NULL, "cannot replay", &rc, errbuf, errsize)) != NULL) {
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			snprintf(errbuf, errsize,
				 "replay: a replay is still going (ids up to %s, published again up to %s); nothing changed",
				 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
			rc = PG_ERR_QUERY;
		}
		PQclear(res);
	}
	/* since: c is the last copy at or before $1, none when $1 is older than every copy (all rows count then). */
	if (since)
		snprintf(which, sizeof(which),
			 " LEFT JOIN (SELECT done, target, cur FROM %s WHERE at <= $1::timestamptz ORDER BY at DESC LIMIT 1) c"
			 " ON true WHERE (o.sent_at >= $1::timestamptz OR (o.sent_at IS NULL AND NOT coalesce("
			 DELIVERED("o", "c.done", "c.target", "c.cur") ", false)))",
			 qat);
	else
		snprintf(which, sizeof(which), " WHERE o.id >= $1::bigint");
	snprintf(sql, size,
		 "WITH r AS (SELECT o.id FROM %1$s o JOIN %2$s p ON p.one%3$s AND o.failed_at IS NULL"
		 "   AND ($2::text IS NULL OR o.topic = $2::text) AND " DELIVERED("o", "p.done", "p.target", "p.cur") "),"
		 " s AS (SELECT count(*) AS n, coalesce(min(id), 0) AS lo, coalesce(max(id), 0) AS hi FROM r),"
		 " u AS (UPDATE %2$s SET replay_to = s.hi, replay_cur = s.lo - 1, replay_topic = $2::text, updated_at = now()"
		 "   FROM s WHERE one AND s.n > 0)"
		 " SELECT n, lo, hi FROM s",
		 pg->qtable, qp, which);
	free(qp);
	free(qat);
	return rc;
}

int pgi_keep_ops_version(struct pg *pg, int version, int need, const char *command, char *errbuf, size_t errsize)
{
	if (version >= need)
		return PG_OK;
	snprintf(errbuf, errsize,
		 "table %s is at schema version %d and delivered with relay.on_sent = \"keep\"; outboxd %s needs version %d"
		 " there (run: outboxd schema install, then outboxd schema grant, and restart the relays)",
		 pg->qtable, version, command, need);
	return PG_ERR_SCHEMA;
}
