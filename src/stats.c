#include "stats.h"

#include <stdio.h>

#include "log.h"
#include "service.h"

void stats_init(struct stats *s, int64_t now_ms)
{
	*s = (struct stats){ .last_ms = now_ms };
}

void stats_stage(struct stats *s, const struct batch *b)
{
	s->staged.published += batch_count(b, ROW_ACKED);
	s->staged.failed += batch_count(b, ROW_FAILED) + batch_count(b, ROW_BLOCKED);
	s->staged.retried += batch_undelivered(b);
}

void stats_commit(struct stats *s, int committed)
{
	if (committed) {
		s->published_total += s->staged.published;
		s->failed_total += s->staged.failed;
		s->retried_total += s->staged.retried;
	}
	s->staged.published = s->staged.failed = s->staged.retried = 0;
}

void stats_report(struct stats *s, const struct pg_lag *lag, int64_t now_ms)
{
	long long rate = 0;
	char status[256];

	if (now_ms > s->last_ms)
		rate = (s->published_total - s->last_published) * 1000 / (now_ms - s->last_ms);
	s->last_published = s->published_total;
	s->last_ms = now_ms;
	if (lag != NULL) {
		log_info("stats", "pending=%lld oldest_pending_ms=%lld published_total=%lld rate_eps=%lld failed_total=%lld failed_rows=%lld",
			 lag->pending, lag->oldest_pending_ms, s->published_total, rate, s->failed_total, lag->failed);
		snprintf(status, sizeof(status), "pending=%lld oldest_pending_ms=%lld rate_eps=%lld failed_rows=%lld",
			 lag->pending, lag->oldest_pending_ms, rate, lag->failed);
	} else {
		log_info("stats", "pending=unknown published_total=%lld rate_eps=%lld failed_total=%lld",
			 s->published_total, rate, s->failed_total);
		snprintf(status, sizeof(status), "database unreachable; published_total=%lld", s->published_total);
	}
	service_status(status);
}
