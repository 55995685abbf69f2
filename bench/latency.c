/* latency: end-to-end latency at a steady insert rate, for `make bench`. Writer threads enqueue events at RATE
 * events/s in total for SECONDS, one transaction per event up to 1,000 events/s and then RATE/1000 events per
 * transaction (a commit waits for the WAL flush, so single-event transactions top out near 1,500/s here); each
 * event records the time its transaction's COMMIT returned. One warm-up event goes first, unmeasured. A consumer
 * thread reads the topic and records when each event arrived. Both use CLOCK_REALTIME of this process, so the
 * difference is the latency an application would see. Prints one line:
 *   latency rate=R achieved_eps=A events=N received=M p50_ms=X p99_ms=Y max_ms=Z
 * Usage: latency CONNINFO BROKERS TOPIC RATE SECONDS [WRITERS] */
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS 16

static const char *conninfo, *brokers, *topic;
static int rate, seconds, writers = 4;
static long per_writer;                 /* events each writer sends */
static int per_tx = 1;                  /* events per transaction */
static int64_t *sent_us[MAX_WRITERS];   /* commit-returned time per event, 0 if not committed */
static int64_t *recv_us[MAX_WRITERS];   /* first arrival time per event */
static volatile int writers_done;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	PGconn *pg = PQconnectdb(conninfo);
	int64_t start = now_us(), interval = (int64_t)1000000 * writers * per_tx / rate;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "latency: writer %d: %s", w, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	for (long i = 0; i < per_writer; i += per_tx) {
		char wbuf[16], from[24], to[24];
		const char *params[4] = { topic, wbuf, from, to };
		long n = per_writer - i < per_tx ? per_writer - i : per_tx;
		int64_t due = start + i / per_tx * interval, t;
		PGresult *res;

		while ((t = now_us()) < due) {
			struct timespec d = { 0, (long)((due - t) * 1000) };
			nanosleep(&d, NULL);
		}
		snprintf(wbuf, sizeof(wbuf), "%d", w);
		snprintf(from, sizeof(from), "%ld", i);
		snprintf(to, sizeof(to), "%ld", i + n - 1);
		res = PQexecParams(pg,
				   "SELECT outbox_enqueue($1, 'key-' || ((s * 16 + $2::int) % 1000),"
				   " convert_to('lat:' || $2 || ':' || s, 'UTF8')) FROM generate_series($3::bigint, $4::bigint) s",
				   4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			int64_t committed = now_us(); /* autocommit: the statement's return is its COMMIT's */
			for (long j = i; j < i + n; j++)
				sent_us[w][j] = committed;
		}
		PQclear(res);
	}
	PQfinish(pg);
	return NULL;
}

static volatile int warmed_up;

static void see(const rd_kafka_message_t *m)
{
	char buf[64];
	int w;
	long i;

	if (m->len == 0 || m->len >= sizeof(buf))
		return;
	memcpy(buf, m->payload, m->len);
	buf[m->len] = '\0';
	if (strcmp(buf, "warmup") == 0) {
		warmed_up = 1;
		return;
	}
	if (sscanf(buf, "lat:%d:%ld", &w, &i) != 2 || w < 0 || w >= writers || i < 0 || i >= per_writer)
		return;
	if (recv_us[w][i] == 0)
		recv_us[w][i] = now_us();
}

/* The consumer reads every partition by assignment, not through a group: joining a group takes a second or
 * more, which would be measured as latency of the first events. The writers start once it fetches. */
static volatile int consumer_ready;

static int assign_all(rd_kafka_t *rk)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
	const struct rd_kafka_metadata *md = NULL;
	int n = 0;

	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
		for (int p = 0; p < md->topics[0].partition_cnt; p++, n++)
			rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[p].id)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
	}
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	if (n > 0 && rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		n = 0;
	rd_kafka_topic_partition_list_destroy(parts);
	return n;
}

static void *consumer(void *arg)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	int64_t idle_since = 0, ready_at;

	(void)arg;
	rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", "latency", err, sizeof(err)); /* required, never joined */
	rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", err, sizeof(err));
	rd_kafka_conf_set(conf, "fetch.error.backoff.ms", "5", err, sizeof(err));
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "latency: %s\n", err);
		consumer_ready = -1;
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	if (assign_all(rk) == 0) {
		fprintf(stderr, "latency: cannot assign the partitions of %s\n", topic);
		consumer_ready = -1;
		rd_kafka_destroy(rk);
		return NULL;
	}
	ready_at = now_us() + 1000000;
	/* Until the writers are done and nothing has arrived for 5 s. */
	for (;;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!consumer_ready && now_us() >= ready_at)
			consumer_ready = 1;
		if (m != NULL) {
			if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
				see(m);
			rd_kafka_message_destroy(m);
			idle_since = 0;
		} else if (writers_done) {
			if (idle_since == 0)
				idle_since = now_us();
			else if (now_us() - idle_since > 5000000)
				break;
		}
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	pthread_t wt[MAX_WRITERS], ct;
	int64_t *lat, start, elapsed;
	long n = 0, sent = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: latency CONNINFO BROKERS TOPIC RATE SECONDS [WRITERS]\n");
		return 2;
	}
	conninfo = argv[1], brokers = argv[2], topic = argv[3], rate = atoi(argv[4]), seconds = atoi(argv[5]);
	if (argc > 6)
		writers = atoi(argv[6]);
	if (rate < 1 || seconds < 1 || writers < 1 || writers > MAX_WRITERS)
		return 2;
	per_writer = (long)rate * seconds / writers;
	per_tx = rate > 1000 ? rate / 1000 : 1;
	for (int w = 0; w < writers; w++) {
		sent_us[w] = calloc((size_t)per_writer, sizeof(int64_t));
		recv_us[w] = calloc((size_t)per_writer, sizeof(int64_t));
	}
	pthread_create(&ct, NULL, consumer, NULL);
	while (consumer_ready == 0) {
		struct timespec d = { 0, 10000000 };
		nanosleep(&d, NULL);
	}
	if (consumer_ready < 0)
		return 1;
	/* One event first, unmeasured: the relay's first message to a topic waits for the topic's metadata (most of
	 * a second here), which is start-up, not steady state. */
	{
		PGconn *pg = PQconnectdb(conninfo);
		const char *params[1] = { topic };
		PQclear(PQexecParams(pg, "SELECT outbox_enqueue($1, 'warmup', convert_to('warmup', 'UTF8'))", 1, NULL,
				     params, NULL, NULL, 0));
		PQfinish(pg);
		for (int i = 0; i < 3000 && !warmed_up; i++) {
			struct timespec d = { 0, 10000000 };
			nanosleep(&d, NULL);
		}
		if (!warmed_up) {
			fprintf(stderr, "latency: the warm-up event did not arrive within 30 s\n");
			return 1;
		}
	}
	start = now_us();
	for (int w = 0; w < writers; w++)
		pthread_create(&wt[w], NULL, writer, (void *)(intptr_t)w);
	for (int w = 0; w < writers; w++)
		pthread_join(wt[w], NULL);
	elapsed = now_us() - start;
	writers_done = 1;
	pthread_join(ct, NULL);
	lat = calloc((size_t)per_writer * (size_t)writers, sizeof(int64_t));
	for (int w = 0; w < writers; w++) {
		for (long i = 0; i < per_writer; i++) {
			sent += sent_us[w][i] != 0;
			if (sent_us[w][i] != 0 && recv_us[w][i] != 0)
				lat[n++] = recv_us[w][i] - sent_us[w][i];
		}
	}
	if (getenv("LATENCY_TRACE") != NULL) {
		/* The worst latency of the events sent in each second, to see whether slow ones cluster. */
		for (int sec = 0; sec < seconds; sec++) {
			int64_t worst = 0;
			for (int w = 0; w < writers; w++) {
				for (long i = 0; i < per_writer; i++) {
					if (sent_us[w][i] >= start + (int64_t)sec * 1000000 &&
					    sent_us[w][i] < start + (int64_t)(sec + 1) * 1000000 && recv_us[w][i] != 0 &&
					    recv_us[w][i] - sent_us[w][i] > worst)
						worst = recv_us[w][i] - sent_us[w][i];
				}
			}
			fprintf(stderr, "second %d: worst %.1f ms\n", sec, worst / 1000.0);
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("latency rate=%d achieved_eps=%ld events=%ld received=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", rate,
	       (long)(sent * 1000000 / (elapsed > 0 ? elapsed : 1)), sent, n, n ? lat[n / 2] / 1000.0 : -1.0,
	       n ? lat[n * 99 / 100] / 1000.0 : -1.0, n ? lat[n - 1] / 1000.0 : -1.0);
	return n == sent ? 0 : 1;
}
