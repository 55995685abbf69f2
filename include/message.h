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

/* CloudEvents binary content mode, per the CloudEvents 1.0 Kafka protocol binding: the event's attributes as
 * ce_ headers. source must be set; type and content_type are used for a row that carries no ce_type or
 * content-type header of its own. */
struct message_ce {
	const char *source, *type, *content_type;
};

/* Adds ce_specversion (1.0), ce_id (event_id), ce_source, ce_time (created_us, RFC 3339 in UTC; left out when
 * out of range) and, unless hdrs has them already, ce_type and content-type. Returns 0, or -1 with why when
 * the row cannot be an event: it sets one of the four attributes outboxd owns, or it has no type. */
int message_cloudevents_add(rd_kafka_headers_t *hdrs, const struct message_ce *ce, const char *event_id,
			    long long created_us, char *why, size_t whysize);

#endif
