/* Bucket ownership (ordering by key, schema version 4): the heartbeat table through which relays see each other,
 * and the advisory locks on the claiming session that make a relay a bucket's owner. owner.c holds the policy. */
#ifndef OUTBOXD_PG_BUCKETS_H
#define OUTBOXD_PG_BUCKETS_H

#include <stddef.h>

#include "pg.h"

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

#endif
