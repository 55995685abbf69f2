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
/* Connection states and bucket ownership, as the relay last saw them. */
void metrics_set_state(int pg_up, int kafka_up, int buckets_owned);

#endif
