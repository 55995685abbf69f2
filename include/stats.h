/* Counters and the periodic lag line:
 *   msg=stats pending=N oldest_pending_ms=N published_total=N rate_eps=N failed_total=N
 * also sent to systemd as STATUS= so `systemctl status outboxd` shows it. */
#ifndef OUTBOXD_STATS_H
#define OUTBOXD_STATS_H

#include <stdint.h>

#include "batch.h"
#include "pg_claim.h"

struct stats {
	long long published_total; /* rows acknowledged by Kafka and marked sent */
	long long failed_total;    /* rows marked failed */
	long long retried_total;   /* row deliveries that will be retried */
	long long last_published;  /* published_total at the previous report */
	int64_t last_ms;           /* time of the previous report */
	struct {
		long long published, failed, retried;
	} staged; /* the open transaction's batches, counted once it commits */
};

void stats_init(struct stats *s, int64_t now_ms);

/* A batch's outcome waits in staged until stats_commit says whether its transaction committed: only then were
 * its rows marked. */
void stats_stage(struct stats *s, const struct batch *b);
void stats_commit(struct stats *s, int committed);

/* Logs one stats line and updates the systemd status. lag may be NULL when the database was unreachable. */
void stats_report(struct stats *s, const struct pg_lag *lag, int64_t now_ms);

#endif
