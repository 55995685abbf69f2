/* What an operator asks of the outbox table, for the one-shot commands: the failed rows, making them pending
 * again, replaying sent rows, and who relays the table (the heartbeat table and each bucket's owner and lag).
 * Results come to a callback as structs, valid until it returns. */
#ifndef OUTBOXD_PG_ADMIN_H
#define OUTBOXD_PG_ADMIN_H

#include <stddef.h>

#include "pg.h"

struct pg_failed_row {
	long long id;
	const char *event_id, *topic, *key; /* key "" when it has none */
	int attempts;
	const char *failed_at, *last_error; /* as PostgreSQL prints a timestamptz; "" when none */
};

/* Calls each for every failed row, in id order; *n receives how many. A listing that fails on a healthy
 * connection means the table is missing or not an outbox: PG_ERR_SCHEMA. */
int pg_failed_rows(struct pg *pg, void (*each)(const struct pg_failed_row *row, void *arg), void *arg, int *n,
		   char *errbuf, size_t errsize);

/* Makes failed rows pending again: the given ids (validated decimal numbers; each must be a failed row, or
 * nothing changes and PG_ERR_QUERY says how many were) or all of them. *retried receives how many; *moved is 1
 * when the table is delivered with "keep", where each row moved to a new id (same event id). */
int pg_retry_failed(struct pg *pg, const char *const *ids, int n_ids, int all, long long *retried, int *moved,
		    char *errbuf, size_t errsize);

/* Replay: makes sent rows pending again, in one statement: id >= from_id, or sent_at >= since (a time
 * PostgreSQL parses; exactly one of the two), and topic = topic when topic is not NULL. */
struct pg_replayed {
	long long rows, min_id, max_id;
};
int pg_replay_sent(struct pg *pg, const char *from_id, const char *since, const char *topic, struct pg_replayed *out,
		   char *errbuf, size_t errsize);

/* A relay in the heartbeat table (schema version 4). */
struct pg_relay_state {
	const char *instance, *ordering;
	int pid;
	long long heartbeat_age_ms;
	int alive; /* its claiming session exists */
};

/* A bucket: whoever holds its advisory lock now ("-" if nobody; "pid N" for a session not in the heartbeat
 * table), its epoch, its pending rows and the age of the oldest in seconds. */
struct pg_bucket_state {
	int bucket;
	const char *owner;
	long long epoch, pending, oldest_pending_s;
};

/* A replay of a table delivered with "keep" (version 8): *to, the highest id to publish again, and *cur, where the
 * relay is; *to = -1 when none is going (or the table is not kept). */
int pg_replay_state(struct pg *pg, int version, long long *to, long long *cur, char *errbuf, size_t errsize);

/* Calls each for every relay (by instance name) and every bucket (in order); *n receives how many. */
int pg_relays(struct pg *pg, void (*each)(const struct pg_relay_state *relay, void *arg), void *arg, int *n,
	      char *errbuf, size_t errsize);
int pg_bucket_status(struct pg *pg, void (*each)(const struct pg_bucket_state *bucket, void *arg), void *arg, int *n,
		     char *errbuf, size_t errsize);

#endif
