/* The optional Prometheus endpoint (metrics.listen): GET /metrics in the text exposition format, served by
 * libmicrohttpd from a thread of its own. The relay hands over its figures through the calls below; the server
 * thread only reads a snapshot under a mutex, so a slow scraper never slows the relay. */
#ifndef OUTBOXD_METRICS_H
#define OUTBOXD_METRICS_H

#include "batch.h"
#include "pg_claim.h"

/* Starts serving on listen ("HOST:PORT", HOST an IPv4 address). Returns 0, or -1 with errbuf set. A no-op
 * returning 0 when listen is NULL. */
int metrics_start(const char *listen, char *errbuf, size_t errsize);
void metrics_stop(void);
/* Only checks that listen (may be NULL) is HOST:PORT, for check-config. */
int metrics_check_listen(const char *listen, char *errbuf, size_t errsize);

/* After each batch is marked: its duration, and per row its outcome and, when acknowledged, the time since
 * created_at. Counted once metrics_commit says its transaction committed, forgotten if it did not. */
void metrics_observe_batch(const struct batch *b, double seconds, int64_t now_us);
void metrics_commit(int committed);
/* At each stats interval: the lag (NULL when the database could not be read). */
void metrics_set_lag(const struct pg_lag *lag);
/* What the relay last saw of itself: its connections, its buckets and whether it is backing off after a failed
 * attempt. GET /readyz answers 200 when PostgreSQL and Kafka are up, the relay owns at least its share of the
 * buckets (ordering by key) and has not been failing for longer than ready_max_backoff_ms; 503 with the reason
 * otherwise. GET /healthz answers 200 while the process serves. */
struct metrics_state {
	int pg_up;
	int kafka_up; /* the producer is usable and its brokers were not all reported down since the last ack */
	int buckets_total;         /* 0 without ordering by key */
	int buckets_owned;
	int buckets_share;         /* -1: no view of the membership yet */
	int64_t failing_since_ms;  /* clock_now_ms() of the first of the failed attempts in a row; 0: none */
	int ready_max_backoff_ms;
};
void metrics_set_state(const struct metrics_state *s);

#endif
