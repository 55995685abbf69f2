/* Prometheus text endpoint. libmicrohttpd does the HTTP (a hand-written server is the last thing a relay should
 * carry); this file only keeps the numbers and prints them. */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Seconds; the same bounds for the batch duration and the end-to-end latency (created_at to acknowledgement). */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define N_BOUNDS ((int)(sizeof(bounds) / sizeof(bounds[0])))

struct histogram {
	unsigned long long count[N_BOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
	double sum;
	unsigned long long n;
};

static struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *daemon;
	unsigned long long published, failed, retried, batches;
	struct histogram batch_seconds, latency_seconds;
	int have_lag;
	struct pg_lag lag;
	struct metrics_state state;
} m = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void observe(struct histogram *h, double v)
{
	int i = 0;

	while (i < N_BOUNDS && v > bounds[i])
		i++;
	h->count[i]++;
	h->sum += v;
	h->n++;
}

/* A chain's batches wait here until its transaction commits: only then were their rows marked. Only the relay
 * thread touches it, so it needs no lock. */
static struct {
	unsigned long long published, failed, retried, batches;
	struct histogram batch_seconds, latency_seconds;
} staged;

void metrics_observe_batch(const struct batch *b, double seconds, int64_t now_us)
{
	if (m.daemon == NULL)
		return;
	staged.batches++;
	observe(&staged.batch_seconds, seconds);
	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *r = &b->rows[i];
		if (r->state == ROW_ACKED) {
			staged.published++;
			observe(&staged.latency_seconds, (double)(now_us - r->created_us) / 1e6);
		}
	}
	staged.failed += (unsigned long long)(batch_count(b, ROW_FAILED) + batch_count(b, ROW_BLOCKED));
	staged.retried += (unsigned long long)batch_undelivered(b);
}

static void merge(struct histogram *into, const struct histogram *h)
{
	for (int i = 0; i <= N_BOUNDS; i++)
		into->count[i] += h->count[i];
	into->sum += h->sum;
	into->n += h->n;
}

void metrics_commit(int committed)
{
	if (m.daemon != NULL && committed) {
		pthread_mutex_lock(&m.lock);
		m.batches += staged.batches;
		m.published += staged.published;
		m.failed += staged.failed;
		m.retried += staged.retried;
		merge(&m.batch_seconds, &staged.batch_seconds);
		merge(&m.latency_seconds, &staged.latency_seconds);
		pthread_mutex_unlock(&m.lock);
	}
	memset(&staged, 0, sizeof(staged));
}

void metrics_set_lag(const struct pg_lag *lag)
{
	if (m.daemon == NULL)
		return;
	pthread_mutex_lock(&m.lock);
	m.have_lag = lag != NULL;
	if (lag != NULL)
		m.lag = *lag;
	pthread_mutex_unlock(&m.lock);
}

void metrics_set_state(const struct metrics_state *s)
{
	if (m.daemon == NULL)
		return;
	pthread_mutex_lock(&m.lock);
	m.state = *s;
	pthread_mutex_unlock(&m.lock);
}

/* NULL when ready, else why not. Call with the lock held. */
static const char *not_ready(void)
{
	const struct metrics_state *s = &m.state;

	if (!s->pg_up)
		return "PostgreSQL is not connected";
	if (!s->kafka_up)
		return "the Kafka producer is not usable or its brokers are down";
	if (s->buckets_total > 0 && (s->buckets_share < 0 || s->buckets_owned < s->buckets_share))
		return "this relay does not own its share of the buckets yet";
	if (s->failing_since_ms > 0 && clock_now_ms() - s->failing_since_ms > s->ready_max_backoff_ms)
		return "failing and backing off for longer than metrics.ready_max_backoff_ms";
	return NULL;
}

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->buf == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len)
			break;
		char *p = realloc(o->buf, o->cap * 2);
		if (p == NULL) {
			free(o->buf);
			o->buf = NULL;
			return;
		}
		o->buf = p, o->cap *= 2;
	}
	o->len += (size_t)n;
}

static void put_metric(struct out *o, const char *name, const char *type, const char *help, double v)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void put_histogram(struct out *o, const char *name, const char *help, const struct histogram *h)
{
	unsigned long long cum = 0;

	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < N_BOUNDS; i++) {
		cum += h->count[i];
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], cum);
	}
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name, h->n, name, h->sum, name, h->n);
}

/* Caller frees. NULL when out of memory. */
static char *render(size_t *len)
{
	struct out o = { .buf = malloc(8192), .cap = 8192 };

	pthread_mutex_lock(&m.lock);
	put_metric(&o, "outboxd_published_total", "counter", "Rows acknowledged by Kafka and marked sent.", (double)m.published);
	put_metric(&o, "outboxd_failed_total", "counter", "Rows marked failed (parked; with keep and block_key, also those set aside behind one).", (double)m.failed);
	put_metric(&o, "outboxd_retried_total", "counter", "Row deliveries left for a later attempt.", (double)m.retried);
	put_metric(&o, "outboxd_batches_total", "counter", "Batches claimed and finished.", (double)m.batches);
	if (m.have_lag) {
		put_metric(&o, "outboxd_pending_rows", "gauge", "Rows neither sent nor failed, at the last stats interval.",
			   (double)m.lag.pending);
		put_metric(&o, "outboxd_oldest_pending_seconds", "gauge", "Age of the oldest pending row.",
			   (double)m.lag.oldest_pending_ms / 1000.0);
		put_metric(&o, "outboxd_failed_rows", "gauge", "Rows marked failed and not retried.", (double)m.lag.failed);
	}
	put_metric(&o, "outboxd_postgres_up", "gauge", "1 while the relay's PostgreSQL session is connected.",
		   m.state.pg_up);
	put_metric(&o, "outboxd_kafka_up", "gauge", "1 while the Kafka producer is usable.", m.state.kafka_up);
	put_metric(&o, "outboxd_buckets_owned", "gauge", "Buckets this relay owns (ordering by key).",
		   m.state.buckets_owned);
	put_metric(&o, "outboxd_buckets_total", "gauge", "Buckets of the table (ordering by key; 0 without).",
		   m.state.buckets_total);
	put_metric(&o, "outboxd_ready", "gauge", "1 while GET /readyz answers 200.", not_ready() == NULL);
	put_histogram(&o, "outboxd_batch_seconds", "Time from claiming a batch to its commit.", &m.batch_seconds);
	put_histogram(&o, "outboxd_latency_seconds", "Time from a row's created_at to its acknowledgement by Kafka.",
		      &m.latency_seconds);
	pthread_mutex_unlock(&m.lock);
	*len = o.len;
	return o.buf;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body, size_t len, int owned,
				const char *type)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (resp == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* /readyz: 200 "ready", or 503 and why not. */
static enum MHD_Result answer_ready(struct MHD_Connection *c)
{
	char text[160];
	const char *why;

	pthread_mutex_lock(&m.lock);
	why = not_ready();
	snprintf(text, sizeof(text), "%s%s\n", why ? "not ready: " : "ready", why ? why : "");
	pthread_mutex_unlock(&m.lock);
	return respond(c, why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, text, strlen(text), 0,
		       "text/plain; charset=utf-8");
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **state)
{
	static char not_found[] = "not found: try /metrics, /healthz or /readyz\n", ok[] = "ok\n";
	size_t len = 0;
	char *body;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)state;
	if (strcmp(method, "GET") != 0)
		return respond(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, 0, "text/plain; charset=utf-8");
	if (strcmp(url, "/healthz") == 0)
		return respond(c, MHD_HTTP_OK, ok, sizeof(ok) - 1, 0, "text/plain; charset=utf-8");
	if (strcmp(url, "/readyz") == 0)
		return answer_ready(c);
	if (strcmp(url, "/metrics") != 0)
		return respond(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, 0, "text/plain; charset=utf-8");
	if ((body = render(&len)) == NULL) /* out of memory */
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, not_found, 0, 0, "text/plain; charset=utf-8");
	return respond(c, MHD_HTTP_OK, body, len, 1, "text/plain; version=0.0.4; charset=utf-8");
}

static int parse_listen(const char *listen, struct sockaddr_in *addr, char *errbuf, size_t errsize)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	long port;
	char *end;

	if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof(host)) {
		snprintf(errbuf, errsize, "metrics.listen: \"%s\" is not HOST:PORT", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
		snprintf(errbuf, errsize, "metrics.listen: \"%s\" is not an IPv4 address and a port", listen);
		return -1;
	}
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)port);
	return 0;
}

int metrics_check_listen(const char *listen, char *errbuf, size_t errsize)
{
	struct sockaddr_in addr;

	return listen == NULL ? 0 : parse_listen(listen, &addr, errbuf, errsize);
}

int metrics_start(const char *listen, char *errbuf, size_t errsize)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };

	if (listen == NULL)
		return 0;
	if (parse_listen(listen, &addr, errbuf, errsize) < 0)
		return -1;
	/* One internal thread, few connections and a short timeout: a scraper gets a page, nothing more. */
	m.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, ntohs(addr.sin_port), NULL, NULL, answer, NULL,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, 16,
				    MHD_OPTION_CONNECTION_TIMEOUT, 5, MHD_OPTION_END);
	if (m.daemon == NULL) {
		snprintf(errbuf, errsize, "metrics.listen: cannot listen on %s (address in use or not available)", listen);
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	if (m.daemon != NULL)
		MHD_stop_daemon(m.daemon);
	m.daemon = NULL;
}
