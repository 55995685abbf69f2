/* A claimed batch of outbox rows and what happened to each one. Row fields point into the query result that
 * pg_claim_batch keeps in the batch; they are valid until batch_clear. */
#ifndef OUTBOXD_BATCH_H
#define OUTBOXD_BATCH_H

#include <stddef.h>
#include <stdint.h>

enum row_state {
	ROW_PENDING = 0, /* produced (or about to be), no delivery report yet */
	ROW_ACKED,       /* the broker acknowledged it (acks=all): may be marked sent */
	ROW_TRANSIENT,   /* not delivered, worth retrying: stays unsent, attempts + 1 */
	ROW_PERMANENT,   /* can never be delivered as it is: marked failed with reason */
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
	int suspect;      /* refused by the broker in a request that another message may have made too large */
	char *reason;     /* why a row was not acknowledged: ROW_NOTE_SIZE bytes in its batch's notes */
	int dead_letter;  /* its copy is on the way to the dead-letter topic; its own failure is in parked */
	char *parked;     /* ROW_NOTE_SIZE bytes in its batch's notes */
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

void batch_set_state(struct outbox_row *row, enum row_state state, const char *reason);

/* Zeroes row i for a new claim, keeping its note pointers and emptying the notes. */
void batch_reset_row(struct batch *b, int i);

/* Per-key order: a row acknowledged after an earlier row of the same (topic, key) in this batch was not
 * delivered (transient) must not be marked sent, or the later event would overtake the earlier one. Such rows
 * become ROW_TRANSIENT. Returns how many were held back. Rows without a key carry no order. */
int batch_hold_back_keys(struct batch *b);

/* 1 if an earlier row of row i's (topic, key) in this batch is ROW_PERMANENT. */
int batch_key_failed_before(const struct batch *b, int i);

/* Counts rows in a state. */
int batch_count(const struct batch *b, enum row_state state);

#endif
