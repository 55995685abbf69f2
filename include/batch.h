/* A claimed batch of outbox rows and what happened to each one. Row fields point into the query result that
 * pg_claim_batch keeps in the batch; they are valid until batch_clear.
 *
 * A row's state moves here alone, through the batch_row_* and batch_* calls below: kafka.c reports what the
 * producer and the broker said of a row, the relay what its deadlines and its policy decided, and this module
 * turns that into the row's next state and its reason. pg_mark.c reads the states (README: "When a row cannot be
 * delivered"):
 *
 *   PENDING --delivered--> ACKED ------------------------------------------> marked sent
 *      |  \--refused, may succeed later--> RETRY ---------------------------> attempts + 1, scheduled
 *      |   \--refused for its size--> SUSPECT --tried alone--> PENDING
 *      |    \--refused for good--> FAILED --dead-letter topic set--> DEAD_LETTER --copy delivered--> FAILED
 *      |                              |                                  \--copy not delivered--> RETRY
 *      |                              \--------------------------------------------------------> marked failed
 *      \--an earlier row of its key not delivered (or failed, with block_key)--> HELD --> retried
 *       \--on_sent "keep" and block_key: an earlier event of its key failed--> BLOCKED --> marked failed, never
 *                                                                              published (retry moves it) */
#ifndef OUTBOXD_BATCH_H
#define OUTBOXD_BATCH_H

#include <stddef.h>
#include <stdint.h>

enum row_state {
	ROW_PENDING = 0, /* handed to librdkafka, or about to be: no delivery report yet */
	ROW_ACKED,       /* delivered: the broker acknowledged it (acks=all) */
	ROW_HELD,        /* held back behind an earlier row of its key that was not delivered: retried */
	ROW_RETRY,       /* not delivered, worth retrying: stays unsent, attempts + 1 */
	ROW_SUSPECT,     /* refused for size in a request that another row may have made too large */
	ROW_DEAD_LETTER, /* failed; its copy is on its way to the dead-letter topic, the failure kept in parked */
	ROW_FAILED,      /* can never be delivered as it is: marked failed with its reason */
	ROW_BLOCKED,     /* "keep" with block_key: behind a failed event of its key; set aside as failed, unpublished,
			  * so that the progress can pass it (README: "Delivery without rewriting rows") */
};

/* What Kafka said of a row: kafka.c classifies librdkafka's errors into these. */
enum row_fault {
	FAULT_NONE,      /* delivered */
	FAULT_RETRY,     /* may succeed later (or on a new producer) */
	FAULT_PERMANENT, /* this message can never be delivered as it is */
	FAULT_SIZE,      /* too large, perhaps only because of another message in the same request */
};

struct outbox_row {
	int64_t id;
	char event_id[37]; /* canonical text form of the uuid */
	const char *topic; /* NUL-terminated */
	const char *key;   /* NULL: no message key */
	size_t key_len;
	const char *payload; /* NULL: tombstone */
	size_t payload_len;
	const char *headers; /* JSON text of a jsonb object, NULL if none */
	size_t headers_len;
	int64_t created_us; /* Unix time in microseconds */
	int attempts;
	long long size;   /* key + payload + stored headers, as the claim measured it; above the claim's row_bytes,
			   * key, payload and headers were not fetched */
	int bucket;       /* with ordering by key; -1 otherwise */
	long long epoch;  /* the bucket's ownership epoch when claimed (0: none) */
	enum row_state state;
	char *reason;     /* why a row was not delivered: ROW_NOTE_SIZE bytes in its batch's notes */
	char *parked;     /* ROW_DEAD_LETTER: why it failed; ROW_NOTE_SIZE bytes in its batch's notes */
};

#define ROW_NOTE_SIZE 160

struct batch {
	struct outbox_row *rows;
	char *notes; /* each row's reason and parked; kept apart, so that their memory is touched only by failures */
	int n;
	int cap;
	uint64_t generation; /* tells a late delivery report of an abandoned batch from a current one */
	int outstanding;     /* produced rows still waiting for a delivery report */
	int more;            /* the claim stopped at the byte budget: more rows are waiting */
	void *result;        /* owner of the row data (a PGresult) */
	void (*release)(void *result);
};

/* Allocates a batch for up to cap rows; caller frees with batch_free. NULL when out of memory. A row's reason and
 * parked point into the batch for its life: whoever fills a row keeps them (see batch_reset_row). */
struct batch *batch_new(int cap);
void batch_free(struct batch *b);

/* Drops the rows and releases the data they point into. */
void batch_clear(struct batch *b);

/* Zeroes row i for a new claim (ROW_PENDING), keeping its note pointers and emptying the notes. */
void batch_reset_row(struct batch *b, int i);

/* 1 while a delivery report is awaited for the row (PENDING, or DEAD_LETTER for its copy). */
int batch_row_waiting(const struct outbox_row *row);

/* What Kafka said of row i, at once or in its delivery report (FAULT_NONE: delivered). A row not waiting for it
 * keeps its state. */
void batch_row_report(struct batch *b, int i, enum row_fault fault, const char *reason);

/* Every row still waiting is given up on: not delivered, retried (reason says why). */
void batch_rows_unreported(struct batch *b, const char *reason);

/* Rows larger than max_bytes were not fetched; they can never be a message: FAILED with their size. */
void batch_fail_oversize(struct batch *b, long long max_bytes);

/* block_key: 1 (and row i in state held, HELD or BLOCKED) when an earlier row of its (topic, key) in this batch
 * FAILED. */
int batch_hold_behind_failure(struct batch *b, int i, enum row_state held);

/* "keep" with block_key: the claim found an earlier event of row i's key failed. Row i becomes BLOCKED. */
void batch_block_row(struct batch *b, int i);

/* Per-key order: a row acknowledged after an earlier row of the same (topic, key) in this batch was not
 * delivered must not be marked sent, or the later event would overtake the earlier one. Such rows become
 * ROW_HELD. Returns how many were held back. Rows without a key carry no order. */
int batch_hold_back_keys(struct batch *b);

/* SUSPECT rows: row i is tried again alone (PENDING). batch_suspects_settle ends them: those before row tried were
 * refused alone, or were the only suspect, so too large by themselves: FAILED, their reason kept; the rest were
 * never tried alone: retried, with untried_reason. */
void batch_row_alone(struct batch *b, int i);
void batch_suspects_settle(struct batch *b, int tried, const char *untried_reason);

/* The dead-letter topic: every FAILED row becomes DEAD_LETTER (its failure kept in parked) until the report on its
 * copy says whether it arrived. Returns how many. */
int batch_begin_dead_letters(struct batch *b);

/* Counts rows in a state, and rows that will be retried (neither delivered, failed nor blocked). */
int batch_count(const struct batch *b, enum row_state state);
int batch_undelivered(const struct batch *b);

#endif
