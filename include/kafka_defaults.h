#ifndef OUTBOXD_KAFKA_DEFAULTS_H
#define OUTBOXD_KAFKA_DEFAULTS_H

#include <stddef.h>

/* outboxd's producer settings, set before the operator's kafka.properties. A table of its own so that the
 * bench's Kafka-only ceiling (bench/kafka_ceiling.c) measures a producer configured exactly as the relay's. */
struct kafka_default {
	const char *name, *value;
};

extern const struct kafka_default kafka_defaults[];
extern const size_t kafka_defaults_n;

#endif
