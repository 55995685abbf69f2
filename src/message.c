#include "message.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int message_topic_valid(const char *name, char *why, size_t whysize)
{
	size_t len = strlen(name);

	if (len == 0 || len > 249) {
		snprintf(why, whysize, "invalid topic name: length %zu is not 1 to 249", len);
		return 0;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(why, whysize, "invalid topic name: \"%s\"", name);
		return 0;
	}
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-')) {
			snprintf(why, whysize, "invalid topic name: character 0x%02x at offset %zu (allowed: A-Z a-z 0-9 . _ -)",
				 (unsigned char)c, (size_t)(p - name));
			return 0;
		}
	}
	return 1;
}

static int add_members(rd_kafka_headers_t *hdrs, json_t *obj, const char *id_name, char *why, size_t whysize)
{
	const char *name;
	json_t *val;

	json_object_foreach(obj, name, val) {
		if (strcmp(name, id_name) == 0) {
			snprintf(why, whysize, "headers: \"%.64s\" is reserved for the event id", name);
			return -1;
		}
		if (json_is_string(val)) {
			if (rd_kafka_header_add(hdrs, name, -1, json_string_value(val),
						(ssize_t)json_string_length(val)) != RD_KAFKA_RESP_ERR_NO_ERROR)
				goto add_failed;
		} else if (json_is_null(val)) {
			if (rd_kafka_header_add(hdrs, name, -1, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR)
				goto add_failed;
		} else {
			snprintf(why, whysize, "headers: value of \"%.64s\" is not a string", name);
			return -1;
		}
	}
	return 0;
add_failed:
	snprintf(why, whysize, "headers: cannot add \"%.64s\"", name);
	return -1;
}

rd_kafka_headers_t *message_headers_build(const char *json, size_t json_len, const char *id_name,
					  const char *event_id, char *why, size_t whysize)
{
	rd_kafka_headers_t *hdrs;
	json_t *root = NULL;
	json_error_t jerr;

	if (json != NULL) {
		/* jsonb never holds \u0000, but the decoder is also fed by fuzzers: refuse NUL explicitly. */
		root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (root == NULL) {
			snprintf(why, whysize, "headers: malformed JSON at offset %d: %s", jerr.position, jerr.text);
			return NULL;
		}
		if (!json_is_object(root)) {
			snprintf(why, whysize, "headers: not a JSON object");
			json_decref(root);
			return NULL;
		}
	}
	hdrs = rd_kafka_headers_new(root ? json_object_size(root) + 1 : 1);
	if (rd_kafka_header_add(hdrs, id_name, -1, event_id, -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(why, whysize, "headers: cannot add the event id");
		goto fail;
	}
	if (root != NULL && add_members(hdrs, root, id_name, why, whysize) < 0)
		goto fail;
	json_decref(root);
	return hdrs;
fail:
	rd_kafka_headers_destroy(hdrs);
	json_decref(root);
	return NULL;
}
