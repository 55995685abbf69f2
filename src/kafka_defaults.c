/* outboxd's producer settings (see include/kafka_defaults.h for why they stand alone). */
#include "kafka_defaults.h"

const struct kafka_default kafka_defaults[] = {
	{ "client.id", "outboxd" },
	{ "enable.idempotence", "true" },
	{ "acks", "all" },
	{ "message.timeout.ms", "0" },
	/* Keys land on the partitions a Java producer (Debezium, Kafka Connect) would choose. */
	{ "partitioner", "murmur2_random" },
	{ "linger.ms", "5" },
	/* librdkafka's default queue is 1 GiB; one batch in flight needs far less, and RSS follows it. */
	{ "queue.buffering.max.kbytes", "16384" },
	{ "socket.keepalive.enable", "true" },
	{ "topic.metadata.propagation.max.ms", "10000" },
};

const size_t kafka_defaults_n = sizeof(kafka_defaults) / sizeof(kafka_defaults[0]);
