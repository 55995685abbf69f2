/* From an outbox row to the parts of a Kafka message: topic check and headers (row headers JSON plus the
 * event-id header). Pure functions of the row, so they are unit-tested and fuzzed without a broker. */
#ifndef OUTBOXD_MESSAGE_H
#define OUTBOXD_MESSAGE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* 1 if name is a legal Kafka topic name (1-249 of [A-Za-z0-9._-], not "." or ".."), else 0 with why. */
int message_topic_valid(const char *name, char *why, size_t whysize);

/* Builds the headers of a message: first the event-id header (id_name = event_id), then every member of the
 * row's JSON object in order. A string member becomes its UTF-8 bytes, a null member a header without value.
 * Returns a new header list the caller owns (or hands to rd_kafka_producev), or NULL with why set when the
 * row's headers cannot be represented (not an object, a non-string value, the reserved name, bad JSON). */
rd_kafka_headers_t *message_headers_build(const char *json, size_t json_len, const char *id_name,
					  const char *event_id, char *why, size_t whysize);

#endif
