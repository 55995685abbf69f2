/* mktopic: creates a topic with settings, through librdkafka's Admin API.
 *   mktopic BROKERS TOPIC PARTITIONS [name=value ...]   e.g. max.message.bytes=2000
 * replication.factor=N is the topic's replication factor (default 1), not a topic config. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t nres;
	int rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: mktopic BROKERS TOPIC PARTITIONS [name=value ...]\n");
		return 2;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mktopic: %s\n", err);
		return 1;
	}
	int rf = 1;
	for (int i = 4; i < argc; i++)
		if (strncmp(argv[i], "replication.factor=", 19) == 0)
			rf = atoi(argv[i] + 19);
	if ((nt = rd_kafka_NewTopic_new(argv[2], atoi(argv[3]), rf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mktopic: %s\n", err);
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || strncmp(argv[i], "replication.factor=", 19) == 0)
			continue;
		*eq = '\0';
		rd_kafka_NewTopic_set_config(nt, argv[i], eq + 1);
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	if (ev == NULL || rd_kafka_event_error(ev)) {
		fprintf(stderr, "mktopic: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
		rc = 1;
	} else {
		res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
		if (nres != 1 || rd_kafka_topic_result_error(res[0])) {
			fprintf(stderr, "mktopic: %s\n", nres ? rd_kafka_topic_result_error_string(res[0]) : "no result");
			rc = 1;
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return rc;
}
