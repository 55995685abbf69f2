/* mktopic: creates a topic with settings, or replaces a topic's settings, through librdkafka's Admin API.
 *   mktopic BROKERS TOPIC PARTITIONS [name=value ...]   e.g. max.message.bytes=2000
 *   mktopic --alter BROKERS TOPIC [name=value ...]      (settings not given return to their defaults) */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int alter(rd_kafka_t *rk, const char *topic, int n, char **settings)
{
	rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	const rd_kafka_ConfigResource_t **res;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_event_t *ev;
	size_t nres;
	int rc = 0;

	for (int i = 0; i < n; i++) {
		char *eq = strchr(settings[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		rd_kafka_ConfigResource_set_config(cr, settings[i], eq + 1);
	}
	rd_kafka_AlterConfigs(rk, &cr, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	if (ev == NULL || rd_kafka_event_error(ev)) {
		fprintf(stderr, "mktopic: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
		rc = 1;
	} else {
		res = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &nres);
		if (nres != 1 || rd_kafka_ConfigResource_error(res[0])) {
			fprintf(stderr, "mktopic: %s\n", nres ? rd_kafka_ConfigResource_error_string(res[0]) : "no result");
			rc = 1;
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_ConfigResource_destroy(cr);
	rd_kafka_queue_destroy(q);
	return rc;
}

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

	int altering = argc > 1 && strcmp(argv[1], "--alter") == 0;

	if (argc < 4) {
		fprintf(stderr, "usage: mktopic BROKERS TOPIC PARTITIONS [name=value ...] | --alter BROKERS TOPIC [name=value ...]\n");
		return 2;
	}
	argv += altering, argc -= altering;
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mktopic: %s\n", err);
		return 1;
	}
	if (altering) {
		rc = alter(rk, argv[2], argc - 3, argv + 3);
		rd_kafka_destroy(rk);
		return rc;
	}
	nt = rd_kafka_NewTopic_new(argv[2], atoi(argv[3]), 1, err, sizeof(err));
	for (int i = 4; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL)
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
