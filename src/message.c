#include "message.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static int has_header(rd_kafka_headers_t *hdrs, const char *name)
{
	const void *v;
	size_t n;

	return rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* RFC 3339 with microseconds, as PostgreSQL keeps them; 0 when the instant has no such form. */
static int rfc3339(long long us, char *out, size_t size)
{
	time_t s = (time_t)(us / 1000000 - (us % 1000000 < 0));
	long frac = (long)(us - (long long)s * 1000000);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return 0;
	return snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac) < (int)size;
}

int message_cloudevents_add(rd_kafka_headers_t *hdrs, const struct message_ce *ce, const char *event_id,
			    long long created_us, char *why, size_t whysize)
{
	static const char *const owned[] = { "ce_specversion", "ce_id", "ce_source", "ce_time" };
	char when[40];
	int ok = 1;

	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		if (has_header(hdrs, owned[i])) {
			snprintf(why, whysize, "headers: \"%s\" is set by outboxd in cloudevents mode", owned[i]);
			return -1;
		}
	}
	if (!has_header(hdrs, "ce_type") && ce->type == NULL) {
		snprintf(why, whysize, "cloudevents: the row has no ce_type header and cloudevents.type is not set");
		return -1;
	}
	ok &= rd_kafka_header_add(hdrs, "ce_specversion", -1, "1.0", -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	ok &= rd_kafka_header_add(hdrs, "ce_id", -1, event_id, -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	ok &= rd_kafka_header_add(hdrs, "ce_source", -1, ce->source, -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	if (rfc3339(created_us, when, sizeof(when)))
		ok &= rd_kafka_header_add(hdrs, "ce_time", -1, when, -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	if (!has_header(hdrs, "ce_type"))
		ok &= rd_kafka_header_add(hdrs, "ce_type", -1, ce->type, -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	if (!has_header(hdrs, "content-type") && ce->content_type != NULL)
		ok &= rd_kafka_header_add(hdrs, "content-type", -1, ce->content_type, -1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	if (!ok)
		snprintf(why, whysize, "cloudevents: cannot add the event's headers");
	return ok ? 0 : -1;
}
