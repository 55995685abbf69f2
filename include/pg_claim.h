/* The claim: unsent rows in id order, within a row and byte budget, in binary format; decoding them into a batch;
 * and the lag (pending rows, the age of the oldest, failed rows), read from the same indexes. */
#ifndef OUTBOXD_PG_CLAIM_H
#define OUTBOXD_PG_CLAIM_H

#include <stddef.h>

#include "batch.h"
#include "pg.h"

struct pg_result; /* libpq's PGresult */

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

/* SIGHUP: claims from now on take lim (prepared again at once when connected, else on the next connect). Call
 * between batches. */
int pg_set_claim_limits(struct pg *pg, const struct pg_claim_limits *lim, char *errbuf, size_t errsize);

/* Claims unsent rows in id order, within the limits given to pg_prepare_relay, into b, which then owns the
 * result; b->more says rows were left for the next batch. With ordering by key, only rows of buckets ("{1,5,...}",
 * NULL: all) and waiting for row locks; otherwise any row, FOR UPDATE SKIP LOCKED. With in_flight NULL it begins
 * a transaction; otherwise it claims the next batch of a chain in the open one, leaving out in_flight's rows
 * (claimed, still pending, on their way to Kafka). The transaction stays open until pg_commit or pg_abort. */
int pg_claim_batch(struct pg *pg, struct batch *b, const char *buckets, const struct batch *in_flight, char *errbuf,
		   size_t errsize);

/* With relay.on_sent = "keep": the fencing epoch of the rows claimed in this transaction, its transaction id. A
 * relay that takes the progress row after another does so in a later transaction, so its epoch is higher, and a
 * consumer that drops a lower epoch than it has seen for a key drops what a replaced leader sends late. 0 before
 * the first claim. */
long long pg_progress_epoch(const struct pg *pg);

/* Decodes row i of a claim result (binary format) into r, which must be zeroed (batch_reset_row) and then points
 * into res. Returns 0, or -1 with why set when a value does not have the shape the claim statement promises. */
int pg_row_decode(const struct pg_result *res, int i, struct outbox_row *r, char *why, size_t whysize);

/* PG_ERR_SCHEMA when the table is missing or not an outbox. */
int pg_lag(struct pg *pg, struct pg_lag *out, char *errbuf, size_t errsize);

#endif
