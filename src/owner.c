/* Bucket ownership for ordering by key. The policy lives here; every statement is in pg.c.
 *
 * Fair share: live members sorted by name, K buckets, N members: the first K % N members take K / N + 1, the rest
 * K / N, so shares differ by at most one and add up to K once every member has seen the same membership. Members
 * only take free buckets and give back surplus between batches, so a bucket is never claimed by two relays: the
 * advisory lock decides. */
#include "owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pg_claim.h"

struct owner {
	const struct config *cfg;
	int buckets;         /* 0 with on_sent "keep": the relay leads alone, by the progress row's lock */
	char instance[256];
	struct pg *hb;       /* heartbeat connection */
	int nbuckets;        /* K, from the claiming session's view of the table */
	unsigned char owned[PG_MAX_BUCKETS];
	long long epoch[PG_MAX_BUCKETS];
	int n_owned;
	struct pg_members members;
	int have_members;    /* the last heartbeat succeeded */
	int fresh;           /* a heartbeat succeeded since the last rebalance */
	int fenced_now;      /* a heartbeat ended a peer's session: let its batch die before taking over */
	int64_t lease_from_ms; /* when the last successful heartbeat was sent */
	int64_t next_hb_ms;
	int last_n;          /* membership size last logged */
	int hb_failing;      /* the last heartbeat failed: log the next failure only once it recovered */
	char filter[PG_MAX_BUCKETS * 5 + 3];
	char err[512];
};

struct owner *owner_new(const struct config *cfg)
{
	struct owner *o = calloc(1, sizeof(*o));
	char host[200] = "localhost";

	if (o == NULL)
		return NULL;
	o->cfg = cfg;
	o->buckets = cfg->on_sent != ON_SENT_KEEP;
	if ((o->hb = pg_new(cfg)) == NULL) {
		free(o);
		return NULL;
	}
	if (cfg->instance != NULL) {
		snprintf(o->instance, sizeof(o->instance), "%s", cfg->instance);
	} else {
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(o->instance, sizeof(o->instance), "%s:%d", host, (int)getpid());
	}
	o->lease_from_ms = -1;
	return o;
}

void owner_free(struct owner *o)
{
	if (o == NULL)
		return;
	if (pg_connected(o->hb) && pg_leave(o->hb, o->instance, o->err, sizeof(o->err)) != PG_OK)
		log_warn("cannot leave the relay membership", "error=%s", log_q(o->err));
	pg_free(o->hb);
	free(o);
}

void owner_reset(struct owner *o)
{
	if (o->n_owned > 0)
		log_warn("buckets lost with the PostgreSQL session", "buckets=%d", o->n_owned);
	memset(o->owned, 0, sizeof(o->owned));
	o->n_owned = 0;
	o->nbuckets = 0;
}

static int fair_share(const struct owner *o)
{
	const struct pg_members *m = &o->members;

	if (!o->have_members || !m->registered || m->n < 1)
		return o->n_owned; /* no view of the membership: keep what we have, take nothing */
	return o->nbuckets / m->n + (m->rank < o->nbuckets % m->n);
}

static void log_membership(struct owner *o)
{
	const struct pg_members *m = &o->members;

	if (m->fenced[0])
		log_warn("ended the session of a relay whose heartbeat expired", "relays=%s lease_ttl_ms=%d",
			 log_q(m->fenced), o->cfg->lease_ttl_ms);
	if (m->other_ordering > 0)
		log_warn("a peer relays this table with another relay.ordering: per-key order is not guaranteed",
			 "peers=%d", m->other_ordering);
	if (m->n != o->last_n)
		log_info("relay membership", "instance=%s relays=%d rank=%d", log_q(o->instance), m->n, m->rank);
	o->last_n = m->n;
}

void owner_heartbeat(struct owner *o, const struct pg *claim)
{
	int64_t now = clock_now_ms();

	if (now < o->next_hb_ms)
		return;
	o->next_hb_ms = now + o->cfg->heartbeat_ms;
	o->have_members = 0;
	if ((!pg_connected(o->hb) && pg_connect(o->hb, o->err, sizeof(o->err)) != PG_OK) ||
	    pg_heartbeat(o->hb, o->instance, pg_backend_pid(claim), o->cfg->lease_ttl_ms, &o->members, o->err,
			 sizeof(o->err)) != PG_OK) {
		/* Once per outage: the relay's own connection already reports PostgreSQL being away. */
		if (!o->hb_failing)
			log_warn("heartbeat failed, will retry", "error=%s", log_q(o->err));
		o->hb_failing = 1;
		pg_disconnect(o->hb);
		return;
	}
	o->hb_failing = 0;
	o->have_members = 1;
	o->fresh = 1;
	if (o->members.fenced[0] != '\0') {
		/* Take the fenced peer's buckets a little later, not a whole heartbeat: see owner_rebalance. */
		o->fenced_now = 1;
		o->next_hb_ms = now + o->cfg->heartbeat_ms / 4;
	}
	if (o->members.registered && pg_connected(claim))
		o->lease_from_ms = now;
	log_membership(o);
}

/* "{b,...}" of the owned buckets, the highest first when only the first limit are wanted. */
static const char *owned_list(struct owner *o, int limit)
{
	size_t p = 0;
	int n = 0;

	o->filter[p++] = '{';
	for (int b = o->nbuckets - 1; b >= 0 && n < limit; b--) {
		if (!o->owned[b])
			continue;
		p += (size_t)snprintf(o->filter + p, sizeof(o->filter) - p, "%s%d", n ? "," : "", b);
		n++;
	}
	snprintf(o->filter + p, sizeof(o->filter) - p, "}");
	return o->filter;
}

static int give_back(struct owner *o, struct pg *claim, int surplus)
{
	const char *list = owned_list(o, surplus);

	if (pg_release_buckets(claim, list, o->err, sizeof(o->err)) != PG_OK) {
		log_warn("cannot release buckets", "error=%s", log_q(o->err));
		return -1;
	}
	for (int b = o->nbuckets - 1, n = 0; b >= 0 && n < surplus; b--) {
		if (o->owned[b])
			o->owned[b] = 0, o->n_owned--, n++;
	}
	log_info("released buckets", "released=%d owned=%d", surplus, o->n_owned);
	return 0;
}

static int take(struct owner *o, struct pg *claim, int want)
{
	int got[PG_MAX_BUCKETS], n = 0;
	long long ep[PG_MAX_BUCKETS];

	if (pg_take_buckets(claim, o->instance, owned_list(o, o->nbuckets), want, got, ep, &n, o->err,
			    sizeof(o->err)) != PG_OK) {
		log_warn("cannot take buckets", "error=%s", log_q(o->err));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (got[i] < 0 || got[i] >= o->nbuckets || o->owned[got[i]])
			continue;
		o->owned[got[i]] = 1;
		o->epoch[got[i]] = ep[i];
		o->n_owned++;
	}
	if (n > 0)
		log_info("took buckets", "taken=%d owned=%d of=%d", n, o->n_owned, o->nbuckets);
	return 0;
}

int owner_rebalance(struct owner *o, struct pg *claim)
{
	int share, fenced;

	owner_heartbeat(o, claim);
	if (!o->buckets)
		return 0;
	if (!o->fresh || !o->have_members)
		return 0; /* rebalance once per successful heartbeat */
	o->fresh = 0;
	fenced = o->fenced_now;
	o->fenced_now = 0;
	o->nbuckets = pg_nbuckets(claim);
	share = fair_share(o);
	if (o->n_owned > share)
		return give_back(o, claim, o->n_owned - share);
	/* A peer fenced just now may wake and publish the batch it claimed before it froze (its lease looked fresh
	 * to it until its session died): its buckets are taken at the next, early, heartbeat, so anything it
	 * publishes on waking lands before our first message of those keys. */
	if (o->n_owned < share && !fenced && owner_lease_valid(o))
		return take(o, claim, share - o->n_owned);
	return 0;
}

int owner_buckets(const struct owner *o)
{
	return o->buckets;
}

int owner_share(const struct owner *o)
{
	return o->buckets && o->have_members && o->members.registered && o->nbuckets > 0 ? fair_share(o) : -1;
}

int owner_count(const struct owner *o)
{
	return o->n_owned;
}

const char *owner_filter(struct owner *o)
{
	if (o->n_owned > 0 && o->n_owned == o->nbuckets)
		return NULL;
	return owned_list(o, o->nbuckets);
}

int owner_lease_valid(const struct owner *o)
{
	/* A peer fences us once our heartbeat is lease_ttl_ms old by the server's clock; keep a quarter as margin
	 * for the time the heartbeat took and for clocks running at different rates. */
	return o->lease_from_ms >= 0 && clock_now_ms() - o->lease_from_ms < o->cfg->lease_ttl_ms * 3 / 4;
}

void owner_stamp(const struct owner *o, const struct pg *claim, struct batch *b)
{
	if (!o->buckets) {
		long long epoch = pg_progress_epoch(claim);

		for (int i = 0; i < b->n; i++)
			b->rows[i].epoch = epoch;
		return;
	}
	for (int i = 0; i < b->n; i++) {
		int k = b->rows[i].bucket;
		b->rows[i].epoch = k >= 0 && k < o->nbuckets ? o->epoch[k] : 0;
	}
}

int owner_due_ms(const struct owner *o)
{
	int64_t d = o->next_hb_ms - clock_now_ms();

	return d < 0 ? 0 : (int)d;
}
