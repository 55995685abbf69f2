/* Bucket ownership, for relay.ordering = "key" (and the lease alone for relay.on_sent = "keep"): which buckets
 * of the outbox this relay may claim, shared fairly with its peers through PostgreSQL alone. A bucket is owned by
 * holding its advisory lock on the claiming session; peers see each other in the heartbeat table, each takes about
 * K/N buckets, gives its surplus back between batches, and ends the session of a peer whose heartbeat is older
 * than relay.lease_ttl_ms. The relay produces only while its own lease is fresh, so a relay that was frozen does
 * not publish after being replaced. */
#ifndef OUTBOXD_OWNER_H
#define OUTBOXD_OWNER_H

#include "batch.h"
#include "config.h"
#include "pg_buckets.h"

struct owner;

/* A new owner for cfg (which must outlive it), owning nothing, with a heartbeat connection of its own (opened
 * when first needed). Caller frees with owner_free. NULL when out of memory. */
struct owner *owner_new(const struct config *cfg);
/* Leaves the membership (peers rebalance at once) and closes the heartbeat connection. */
void owner_free(struct owner *o);

/* The claiming session changed: its locks, and so all buckets, are gone. */
void owner_reset(struct owner *o);

/* Heartbeat when due (at most every relay.heartbeat_ms); never touches the claiming session, so it may run while
 * a batch is open. */
void owner_heartbeat(struct owner *o, const struct pg *claim);

/* Between batches: heartbeat when due, then give back surplus buckets or take this relay's share. Returns -1
 * when the claiming session failed: the caller must drop it (it may hold a lock we did not record). */
int owner_rebalance(struct owner *o, struct pg *claim);

/* 1 when the relay claims by buckets; 0 with relay.on_sent = "keep", where one relay delivers at a time (the
 * progress row's lock) and the owner only keeps the lease and fences a silent peer, whose held lock would
 * otherwise stall delivery until the server noticed the dead connection. */
int owner_buckets(const struct owner *o);

/* This relay's fair share of the buckets as its last heartbeat saw the membership; -1 while it has no view of it. */
int owner_share(const struct owner *o);

/* How many buckets this relay owns, and the claim filter: NULL when it owns them all, else "{b,...}". */
int owner_count(const struct owner *o);
const char *owner_filter(struct owner *o);

/* 1 while the last heartbeat is recent enough that no peer can have fenced this relay. */
int owner_lease_valid(const struct owner *o);

/* Sets each row's fencing epoch: its bucket's, or without buckets ("keep") the id of claim's transaction. */
void owner_stamp(const struct owner *o, const struct pg *claim, struct batch *b);

/* Milliseconds until the next heartbeat is due (0: now). */
int owner_due_ms(const struct owner *o);

#endif
