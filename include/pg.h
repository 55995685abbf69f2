/* PostgreSQL: connection, claiming and marking batches, NOTIFY wake-ups, lag figures, schema versions. Every
 * SQL statement the daemon runs is here (the schema itself is in sql/). Never exits, never decides policy: each
 * call returns a pg_rc and fills errbuf. */
#ifndef OUTBOXD_PG_H
#define OUTBOXD_PG_H

#include <stddef.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"

enum pg_rc {
	PG_OK = 0,
	PG_ERR_CONN = -1,   /* cannot connect, or the connection broke: reconnect and retry */
	PG_ERR_QUERY = -2,  /* a statement failed on a healthy connection */
	PG_ERR_SCHEMA = -3, /* the outbox table is missing or its schema version is not one we can use */
};

struct pg;

/* What one claim may take (see pg_claim_batch). */
struct pg_claim_limits {
	int rows;      /* at most this many rows */
	int bytes;     /* stop adding rows once the batch holds this many bytes (one row may cross it) */
	int row_bytes; /* rows larger than this come back with their size but without key, payload and headers */
};

struct pg_lag {
	long long pending;           /* rows not yet sent and not failed */
	long long oldest_pending_ms; /* age of the oldest of them, 0 if none */
	long long failed;            /* rows marked failed */
};

/* A handle for cfg (which must outlive it); not yet connected. Caller frees with pg_free. */
struct pg *pg_new(const struct config *cfg);
/* As pg_new, connecting with postgres.owner_conninfo when set: for schema install and grant. */
struct pg *pg_new_owner(const struct config *cfg);
void pg_free(struct pg *pg);

/* Opens the connection with keepalives and the configured passfile. */
int pg_connect(struct pg *pg, char *errbuf, size_t errsize);

/* Checks the table exists at schema version need_version or later, sets up the relay session (synchronous_commit
 * off, prepared statements, the claim shaped by lim) and LISTENs on the table's channel. Call after pg_connect. */
int pg_prepare_relay(struct pg *pg, const struct pg_claim_limits *lim, int need_version, char *errbuf,
		     size_t errsize);

/* SIGHUP: claims from now on take lim (prepared again at once when connected, else on the next connect). Call
 * between batches. */
int pg_set_claim_limits(struct pg *pg, const struct pg_claim_limits *lim, char *errbuf, size_t errsize);

void pg_disconnect(struct pg *pg);
int pg_connected(const struct pg *pg);
int pg_socket(const struct pg *pg);

/* Reads pending notifications without blocking. Returns how many arrived, or PG_ERR_CONN. */
int pg_drain_notifies(struct pg *pg);

/* The claim floor (schema version 6; a no-op below it): outside a transaction, raises the floor by a reading
 * taken earlier once it is proved safe, and takes the next reading. Each statement commits on its own. */
int pg_floor_step(struct pg *pg, char *errbuf, size_t errsize);

/* Claims unsent rows in id order, within the limits given to pg_prepare_relay, into b, which then owns the
 * result; b->more says rows were left for the next batch. With ordering by key, only rows of buckets ("{1,5,...}",
 * NULL: all) and waiting for row locks; otherwise any row, FOR UPDATE SKIP LOCKED. With in_flight NULL it begins
 * a transaction; otherwise it claims the next batch of a chain in the open one, leaving out in_flight's rows
 * (claimed, still pending, on their way to Kafka). The transaction stays open until pg_commit or pg_abort. */
int pg_claim_batch(struct pg *pg, struct batch *b, const char *buckets, const struct batch *in_flight, char *errbuf,
		   size_t errsize);

/* Decodes row i of a claim result (binary format) into r, which must be zeroed (batch_reset_row) and then points
 * into res. Returns 0, or -1 with why set when a value does not have the shape the claim statement promises. */
int pg_row_decode(const PGresult *res, int i, struct outbox_row *r, char *why, size_t whysize);

/* Writes each row's outcome in the open transaction (ACKED: sent_at, or deleted with on_sent = "delete";
 * PERMANENT: failed_at and reason; TRANSIENT or PENDING: attempts + 1, reason and the next attempt's time). When
 * every row was acknowledged, that is one statement, which is sent without waiting for it, so that the caller can
 * work meanwhile without the connection; pg_mark_batch_wait then reads its outcome (and is a no-op otherwise). */
int pg_mark_batch_send(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize);
int pg_mark_batch_wait(struct pg *pg, char *errbuf, size_t errsize);

/* Commits the open transaction. PG_ERR_CONN means the outcome of COMMIT is unknown: treat as not marked. */
int pg_commit(struct pg *pg, char *errbuf, size_t errsize);

/* Rolls back an open transaction; a broken connection is closed. */
void pg_abort(struct pg *pg);

int pg_lag(struct pg *pg, struct pg_lag *out, char *errbuf, size_t errsize);

/* Schema install: in one transaction under an advisory lock, reads the table's schema version (0 if none), asks
 * render for the SQL from there, runs it and commits. *from and *to receive the versions. */
typedef char *(*pg_render_fn)(const char *schema, const char *table, int from, char *errbuf, size_t errsize);
int pg_schema_install(struct pg *pg, pg_render_fn render, int latest, int *from, int *to, char *errbuf,
		      size_t errsize);

/* The table's installed schema version (0: none). */
int pg_schema_version(struct pg *pg, int *version, char *errbuf, size_t errsize);

/* Runs a rendered script (the grant, the Debezium trigger) in one transaction. */
int pg_schema_grant(struct pg *pg, const char *sql, char *errbuf, size_t errsize);

/* The failed rows: id, event_id, topic, key, attempts, failed_at, last_error (text format), in id order. The
 * caller PQclears the result; NULL with errbuf set on failure. */
PGresult *pg_failed_rows(struct pg *pg, char *errbuf, size_t errsize);

/* Makes failed rows pending again: the given ids (each must be a failed row, or nothing changes) or all of
 * them. *retried receives how many. */
int pg_retry_failed(struct pg *pg, const char *const *ids, int n_ids, int all, long long *retried, char *errbuf,
		    size_t errsize);

/* Replay: makes sent rows pending again, in one transaction: id >= from_id, or sent_at >= since (a time
 * PostgreSQL parses; exactly one of the two), and topic = topic when topic is not NULL. */
struct pg_replayed {
	long long rows, min_id, max_id;
};
int pg_replay_sent(struct pg *pg, const char *from_id, const char *since, const char *topic, struct pg_replayed *out,
		   char *errbuf, size_t errsize);

/* Retention: deletes up to max_rows rows sent more than older_than_s seconds ago, in one autocommitted
 * statement through the table's purge function (schema version 3; a no-op on older tables). */
int pg_purge_sent(struct pg *pg, int older_than_s, int max_rows, int *deleted, char *errbuf, size_t errsize);

/* Bucket ownership (ordering by key, schema version 4). */
#define PG_MAX_BUCKETS 4096

struct pg_members {
	int registered;     /* our row was renewed (our claiming session exists) */
	int rank;           /* live members whose name sorts before ours */
	int n;              /* live members, us included */
	int other_ordering; /* live peers configured with another relay.ordering */
	char fenced[256];   /* peers whose session this heartbeat ended, comma-separated */
};

/* Buckets of the table as pg_prepare_relay found them; 0 without ordering by key. */
int pg_nbuckets(const struct pg *pg);
/* The server process of this connection, which other relays fence by ending it. */
int pg_backend_pid(const struct pg *pg);

/* On a connection of its own (it must run while a batch holds the claiming one): renews this relay's row in
 * <table>_relays for its claiming session claim_pid, ends the sessions of peers silent for ttl_ms, forgets
 * peers whose session is gone, and reports the live membership. */
int pg_heartbeat(struct pg *pg, const char *instance, int claim_pid, int ttl_ms, struct pg_members *out,
		 char *errbuf, size_t errsize);
/* Removes this relay's row, so peers rebalance without waiting for the TTL. */
int pg_leave(struct pg *pg, const char *instance, char *errbuf, size_t errsize);

/* On the claiming connection, outside a batch: locks up to want free buckets not in owned ("{...}"), bumps
 * their epochs and returns them in buckets and epochs (room for want each); *n says how many. On an error the
 * caller must disconnect (a lock may be held that is not reported). */
int pg_take_buckets(struct pg *pg, const char *instance, const char *owned, int want, int *buckets,
		    long long *epochs, int *n, char *errbuf, size_t errsize);
/* Unlocks the buckets in "{...}". */
int pg_release_buckets(struct pg *pg, const char *buckets, char *errbuf, size_t errsize);

/* For `outboxd status`: per bucket, its owner now, epoch, pending rows and age of the oldest in seconds; and per
 * relay in the heartbeat table, instance, pid, ordering, heartbeat age in ms and whether its session exists. The
 * caller PQclears; NULL with errbuf set on failure. */
PGresult *pg_bucket_status(struct pg *pg, char *errbuf, size_t errsize);
PGresult *pg_relays(struct pg *pg, char *errbuf, size_t errsize);

/* `schema debezium`: checks that schema.table has the columns cols (id, route-by, key, payload), the id uuid or
 * text, the payload json, jsonb or text, and says in *payload_kind ("json" or "text") how to read the payload.
 * PG_ERR_QUERY with errbuf naming what is wrong. */
int pg_debezium_check(struct pg *pg, const char *schema, const char *table, const char *const cols[4],
		      const char **payload_kind, char *errbuf, size_t errsize);

/* The libpq and server versions, for the start-up log line. */
int pg_server_version(const struct pg *pg);

#endif
