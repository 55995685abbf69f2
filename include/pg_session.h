/* The relay's session: checks that the outbox can be relayed as configured (its schema version, buckets with
 * ordering by key, the DELETE privilege with on_sent = "delete"), sets the session up and prepares every statement
 * the relay runs, and LISTENs for new rows. */
#ifndef OUTBOXD_PG_SESSION_H
#define OUTBOXD_PG_SESSION_H

#include <stddef.h>

#include "pg.h"
#include "pg_claim.h"

/* Checks the table exists at schema version need_version or later, sets up the relay session (synchronous_commit
 * off, prepared statements, the claim shaped by lim) and LISTENs on the table's channel. Call after pg_connect. */
int pg_prepare_relay(struct pg *pg, const struct pg_claim_limits *lim, int need_version, char *errbuf,
		     size_t errsize);

#endif
