/* Shared by the src/pg*.c files alone: the handle, and the helpers through which every statement runs. Table
 * names from the config are quoted with PQescapeIdentifier; row data and every other value travel as parameters. */
#ifndef OUTBOXD_PG_PRIVATE_H
#define OUTBOXD_PG_PRIVATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pg.h"
#include "pg_claim.h"

/* relay.on_sent = "keep": the window's values as keep_lock returns them (NULL: SQL NULL; STRAGGLERS: the
 * transactions not visible in done that had their ids then), the replay asked for (schema version 8; NULL: none),
 * then the next window's: the statement's snapshot, its highest visible id and the transaction id taken after it. */
enum {
	WIN_DONE,
	WIN_DONE_HI,
	WIN_STRAGGLERS,
	WIN_TARGET,
	WIN_HI,
	WIN_CUR,
	WIN_REPLAY_TO,
	WIN_REPLAY_CUR,
	WIN_REPLAY_TOPIC,
	WIN_NOW,
	WIN_VALUES = WIN_NOW + 3
};

struct pg {
	const struct config *cfg;
	const char *conninfo; /* the relay's, or the owner's for schema changes */
	PGconn *conn;
	char *qschema;  /* quoted schema */
	char *qtable;   /* quoted schema.table */
	char *ids_buf;  /* "{1,2,...}" for the mark statements; sized for a full batch */
	const char *marking; /* a mark or save was sent, its result not yet read: the error's context, else NULL */
	struct pg_claim_limits claim;
	int schema_version; /* of the table, as pg_prepare_relay found it */
	size_t ids_cap;
	unsigned table_oid; /* first half of each bucket's advisory lock key */
	int nbuckets;       /* 0: the table has no buckets (schema version < 4) */
	/* The claim floor (schema version 6): a raise waiting for every transaction older than the reading to end.
	 * cand_xid "": none waiting. */
	char *qfloor; /* quoted <table>_floor, NULL below version 6 */
	char cand_xid[24], cand_floor[24], cand_gen[24];
	/* relay.on_sent = "keep" (schema version 7): the progress table, and the window this transaction read from
	 * it (win_open 0: a peer holds it). */
	char *qprogress;
	char *win[WIN_VALUES];
	int win_open;
	long long epoch; /* this transaction's id, from the lock (pg_progress_epoch) */
	int replaying;   /* this transaction publishes a replay's rows, not its window's */
	/* What this transaction learnt of its window: claimed_after, the cursor its last claim began after; tail,
	 * the id after which that claim found the window empty (-1: not known); saved, the cursor it saved (-1: none).
	 * A commit that saved the tail leaves known_target and known_cur: that window is exhausted. */
	long long claimed_after, tail, saved;
	char *known_target;
	long long known_cur;
	int64_t stamp_due_ms; /* when the progress is next copied to <table>_progress_at (version 9) */
};

/* pg.c: results and errors. Each sets errbuf to "what: libpq's first line" on failure and returns (or sets *rc
 * to) the pg_rc: PG_ERR_CONN when the connection is gone or the server is going away, else PG_ERR_QUERY. */
void pgi_set_err(char *errbuf, size_t errsize, const char *what, const char *msg);
int pgi_rc_of(struct pg *pg, const PGresult *res);
/* Checks and frees (takes ownership of) the result of a statement whose rows, if any, are not needed. */
int pgi_result_ok(struct pg *pg, PGresult *res, const char *what, char *errbuf, size_t errsize);
/* res if it holds tuples (the caller PQclears it); otherwise NULL, and res is cleared. */
PGresult *pgi_tuples(struct pg *pg, PGresult *res, const char *what, int *rc, char *errbuf, size_t errsize);
/* A statement with text parameters, and a prepared one, as pgi_tuples. */
PGresult *pgi_query(struct pg *pg, const char *sql, int n, const char *const *params, const char *what, int *rc,
		    char *errbuf, size_t errsize);
PGresult *pgi_query_prepared(struct pg *pg, const char *stmt, int n, const char *const *params, const char *what,
			     int *rc, char *errbuf, size_t errsize);
/* A read of the outbox or its companion tables that fails on a healthy connection: one of them is missing or
 * not an outbox's, which is PG_ERR_SCHEMA. */
int pgi_listing_rc(int rc);
int pgi_exec(struct pg *pg, const char *sql, const char *what, char *errbuf, size_t errsize);
int pgi_prepare(struct pg *pg, const char *name, const char *sql, int nparams, char *errbuf, size_t errsize);
/* schema."table<suffix>", quoted: the objects sql/ names after the table. Caller frees; NULL when out of memory. */
char *pgi_qualified(struct pg *pg, const char *suffix, char *errbuf, size_t errsize);
/* Room in ids_buf for the ids of a batch of rows rows. */
int pgi_size_ids_buf(struct pg *pg, int rows, char *errbuf, size_t errsize);
/* COMMIT, telling a transaction that had failed (and was rolled back) from a committed one. */
int pgi_commit(struct pg *pg, char *errbuf, size_t errsize);
/* Reads what is left of a statement sent without waiting; the first error, if any, goes to errbuf. */
int pgi_drain_results(struct pg *pg, char *errbuf, size_t errsize);

/* Each statement family prepares its own statements for the relay's session (pg_session.c calls them). */
int pgi_prepare_claims(struct pg *pg, char *errbuf, size_t errsize); /* pg_claim.c */
int pgi_prepare_marks(struct pg *pg, char *errbuf, size_t errsize);  /* pg_mark.c: mark and purge */
int pgi_prepare_floor(struct pg *pg, char *errbuf, size_t errsize);  /* pg_floor.c */
/* pg_progress.c, relay.on_sent = "keep" (schema version 7). check: the table fits the mode, and a table in that
 * mode refuses the others (sets qprogress); prepare: its statements (reprepare: the claims again, after a reload
 * changed their limits or policy); claim: with after NULL, begins the transaction's window (locking the progress
 * row: NULL and rc PG_OK when a peer holds it) and claims from its cursor, opening the next window when this one is
 * delivered; otherwise claims the rows after id after, in the same window. The caller PQclears the result. cursor:
 * the id the cursor moves to, past the batch's leading settled rows (for the prepared "keep_save"); 0 when it
 * stays. above: " AND id > <the progress>" for the lag. free: forgets qprogress and the window. */
int pgi_progress_check(struct pg *pg, char *errbuf, size_t errsize);
int pgi_prepare_progress(struct pg *pg, char *errbuf, size_t errsize);
int pgi_progress_reprepare(struct pg *pg, char *errbuf, size_t errsize);
/* Before COMMIT: copies the progress to <table>_progress_at when one is due (version 9). */
int pgi_progress_stamp(struct pg *pg, char *errbuf, size_t errsize);
PGresult *pgi_progress_claim(struct pg *pg, const char *after, int *rc, char *errbuf, size_t errsize);
int pgi_progress_cursor(struct pg *pg, const struct batch *b, char *cur, size_t size);
/* The prepared statement that saves the cursor: the window's, or the replay's. */
const char *pgi_progress_save(const struct pg *pg);
void pgi_progress_claimed(struct pg *pg, const struct batch *b);
void pgi_progress_committed(struct pg *pg);
int pgi_progress_above(struct pg *pg, char *buf, size_t size, char *errbuf, size_t errsize);
void pgi_progress_free(struct pg *pg);
/* Replay with "keep" (version 8), in the caller's transaction: locks the progress row (PG_ERR_QUERY when a replay
 * is still going) and writes to sql the statement that asks the relay to publish again the delivered rows with id
 * >= $1, or with since (version 9) those delivered since the time $1 (of topic $2, unless NULL), returning how
 * many, the lowest and the highest id. */
int pgi_progress_replay_sql(struct pg *pg, int version, int since, char *sql, size_t size, char *errbuf,
			    size_t errsize);
/* PG_ERR_SCHEMA, saying what to run, when a kept table is below version need, which command (retry, replay)
 * needs. */
int pgi_keep_ops_version(struct pg *pg, int version, int need, const char *command, char *errbuf, size_t errsize);
/* *kept = 1 when the table (at version) is delivered with "keep": its progress row exists. */
int pgi_kept(struct pg *pg, int version, int *kept, char *errbuf, size_t errsize);
/* PG_ERR_SCHEMA when the table (at version) is delivered with "keep", with why the caller cannot go on. */
int pgi_refuse_if_kept(struct pg *pg, int version, const char *why, char *errbuf, size_t errsize);

/* pg_buckets.c: pg->nbuckets from <table>_buckets, with ordering by key. */
int pgi_count_buckets(struct pg *pg, char *errbuf, size_t errsize);

/* pg_claim.c: a claimed row's size in bytes as stored (key, payload, headers), and the claim's outer statement
 * around a subquery of candidate rows (see there); with is a WITH clause or "". */
#define ROW_SIZE(t)                                                                                                   \
	"(coalesce(octet_length(" t ".key), 0) + coalesce(octet_length(" t ".payload), 0)"                         \
	" + coalesce(pg_column_size(" t ".headers), 0))::bigint"
void pgi_claim_sql(const struct pg *pg, const char *with, const char *rows, char *out, size_t size);
/* The WITH of a claim that names the keys held back by the rows matching which ("blocked": topic, key). */
void pgi_blocked_keys(const struct pg *pg, const char *which, char *with, size_t size);

/* pg_floor.c: " AND id > <the floor>" for a statement on the outbox (schema version 6), else "". */
void pgi_above_floor(const struct pg *pg, char *buf, size_t size);
/* pg_mark.c: what an UPDATE that ends a row's retry schedule adds to its SET list (schema version 5 has it). */
const char *pgi_unschedule(int version);
/* pg_schema.c: the table's installed schema version (0: none). */
int pgi_read_version(struct pg *pg, int *version, char *errbuf, size_t errsize);

#endif
