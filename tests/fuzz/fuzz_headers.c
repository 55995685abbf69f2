/* Fuzz target: a row's headers JSON (as jsonb hands it over) into Kafka headers, and the topic check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256], topic[300];
	rd_kafka_headers_t *h;

	h = message_headers_build((const char *)data, size, "id", "00000000-0000-0000-0000-000000000000", why,
				  sizeof(why));
	if (h != NULL)
		rd_kafka_headers_destroy(h);
	/* The same bytes as a topic name (text values never hold NUL, so stop at one). */
	size = size < sizeof(topic) - 1 ? size : sizeof(topic) - 1;
	memcpy(topic, data, size);
	topic[size] = '\0';
	message_topic_valid(topic, why, sizeof(why));
	return 0;
}
