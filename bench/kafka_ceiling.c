/* kafka_ceiling: Kafka alone, with the relay's own producer settings (include/kafka_defaults.h): N events of
 * 1 KB over 1,000 keys, each with an "id" header, produced as fast as the producer's queue takes them. Prints
 * "kafka_ceiling events=N ms=T eps=E" once every delivery report is in; exits 1 if any event failed.
 *   kafka_ceiling BROKERS TOPIC N
 * The clock starts after one event has been delivered, so the topic's creation and metadata are not timed. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_defaults.h"

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int produce(rd_kafka_t *rk, const char *topic, long i, const char *payload)
{
	char key[16], id[40];
	rd_kafka_resp_err_t err;

	snprintf(key, sizeof(key), "key-%ld", i % 1000);
	snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012lx", i);
	for (;;) {
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
					RD_KAFKA_V_VALUE((void *)payload, 1024), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_HEADER("id", id, (ssize_t)strlen(id)), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(rk, 5);
	}
	if (err) {
		fprintf(stderr, "kafka_ceiling: produce: %s\n", rd_kafka_err2str(err));
		return -1;
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512], payload[1024];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	long n;
	long long t0, ms;

	if (argc != 4 || (n = atol(argv[3])) <= 0) {
		fputs("usage: kafka_ceiling BROKERS TOPIC N\n", stderr);
		return 2;
	}
	memset(payload, 'x', sizeof(payload));
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
		goto conf_fail;
	for (size_t i = 0; i < kafka_defaults_n; i++) {
		if (rd_kafka_conf_set(conf, kafka_defaults[i].name, kafka_defaults[i].value, err, sizeof(err)) !=
		    RD_KAFKA_CONF_OK)
			goto conf_fail;
	}
	/* Not a producer setting: only the idempotence PID's "coordinator load in progress" retries kept off stderr. */
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "kafka_ceiling: %s\n", err);
		return 1;
	}
	if (produce(rk, argv[2], -1, payload) < 0 || rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    delivered != 1) {
		fprintf(stderr, "kafka_ceiling: the first event was not delivered within 60 s\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	delivered = 0;
	t0 = now_ms();
	for (long i = 0; i < n; i++) {
		if (produce(rk, argv[2], i, payload) < 0)
			break;
	}
	rd_kafka_flush(rk, 600000);
	ms = now_ms() - t0;
	rd_kafka_destroy(rk);
	printf("kafka_ceiling events=%ld ms=%lld eps=%lld failed=%ld\n", delivered, ms, ms > 0 ? delivered * 1000 / ms : 0,
	       failed);
	return delivered == n && failed == 0 ? 0 : 1;

conf_fail:
	fprintf(stderr, "kafka_ceiling: %s\n", err);
	rd_kafka_conf_destroy(conf);
	return 1;
}
