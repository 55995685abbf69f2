/* From row to message: topic names, headers JSON, error classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kafka.h"
#include "message.h"

static void topic_names(void **state)
{
	char why[160];
	char long_name[260];

	(void)state;
	assert_true(message_topic_valid("orders", why, sizeof(why)));
	assert_true(message_topic_valid("outbox.event.Order_v1-x", why, sizeof(why)));
	assert_false(message_topic_valid("", why, sizeof(why)));
	assert_false(message_topic_valid(".", why, sizeof(why)));
	assert_false(message_topic_valid("..", why, sizeof(why)));
	assert_false(message_topic_valid("bad topic", why, sizeof(why)));
	assert_non_null(strstr(why, "0x20 at offset 3"));
	assert_false(message_topic_valid("ünicode", why, sizeof(why)));
	memset(long_name, 'a', 249);
	long_name[249] = '\0';
	assert_true(message_topic_valid(long_name, why, sizeof(why)));
	long_name[249] = 'a';
	long_name[250] = '\0';
	assert_false(message_topic_valid(long_name, why, sizeof(why)));
}

/* Returns the value of header name (NULL value allowed) and its size; fails the test when absent. */
static const char *header(rd_kafka_headers_t *h, const char *name, size_t *size)
{
	const void *v = NULL;

	assert_int_equal(rd_kafka_header_get_last(h, name, &v, size), RD_KAFKA_RESP_ERR_NO_ERROR);
	return v;
}

static void headers_from_json(void **state)
{
	const char *json = "{\"a\": \"1\", \"ü\": \"✓\", \"n\": null, \"e\": \"\"}";
	char why[160];
	size_t sz;
	rd_kafka_headers_t *h = message_headers_build(json, strlen(json), "id", "0000-id", why, sizeof(why));

	(void)state;
	assert_non_null(h);
	assert_int_equal(rd_kafka_header_cnt(h), 5);
	assert_memory_equal(header(h, "id", &sz), "0000-id", 7);
	assert_memory_equal(header(h, "a", &sz), "1", 1);
	assert_int_equal(sz, 1);
	assert_memory_equal(header(h, "ü", &sz), "✓", strlen("✓"));
	assert_null(header(h, "n", &sz));
	header(h, "e", &sz);
	assert_int_equal(sz, 0);
	rd_kafka_headers_destroy(h);
}

static void no_headers_still_carry_the_event_id(void **state)
{
	char why[160];
	size_t sz;
	rd_kafka_headers_t *h = message_headers_build(NULL, 0, "event-id", "abc", why, sizeof(why));

	(void)state;
	assert_non_null(h);
	assert_int_equal(rd_kafka_header_cnt(h), 1);
	assert_memory_equal(header(h, "event-id", &sz), "abc", 3);
	rd_kafka_headers_destroy(h);
}

static void refuse(const char *json, const char *needle)
{
	char why[160] = "";
	rd_kafka_headers_t *h = message_headers_build(json, strlen(json), "id", "x", why, sizeof(why));

	assert_null(h);
	if (strstr(why, needle) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
}

static void bad_headers_are_refused_with_a_reason(void **state)
{
	(void)state;
	refuse("[1, 2]", "not a JSON object");
	refuse("\"s\"", "not a JSON object");
	refuse("{\"n\": 1}", "value of \"n\" is not a string");
	refuse("{\"o\": {\"x\": \"y\"}}", "value of \"o\" is not a string");
	refuse("{\"b\": true}", "value of \"b\" is not a string");
	refuse("{\"id\": \"spoof\"}", "\"id\" is reserved for the event id");
	refuse("{\"a\": ", "malformed JSON");
	refuse("{\"a\": \"\\u0000\"}", "malformed JSON");
	refuse("{\"a\": \"x\", \"a\": \"y\"}", "malformed JSON");
}

static void header_is(rd_kafka_headers_t *h, const char *name, const char *want)
{
	size_t sz;
	const char *v = header(h, name, &sz);

	assert_int_equal(sz, strlen(want));
	assert_memory_equal(v, want, sz);
}

static void cloudevents_attributes(void **state)
{
	const struct message_ce ce = { "/orders", "order.created", "application/json" };
	const char *own = "{\"ce_type\": \"order.paid\", \"content-type\": \"text/plain\", \"traceparent\": \"00-ab-cd-01\"}";
	char why[160];
	rd_kafka_headers_t *h = message_headers_build(NULL, 0, "id", "e1", why, sizeof(why));

	(void)state;
	/* 2026-12-03T07:30:00.000042Z */
	assert_int_equal(message_cloudevents_add(h, &ce, "e1", 1796283000000042LL, why, sizeof(why)), 0);
	header_is(h, "ce_specversion", "1.0");
	header_is(h, "ce_id", "e1");
	header_is(h, "ce_source", "/orders");
	header_is(h, "ce_type", "order.created");
	header_is(h, "ce_time", "2026-12-03T07:30:00.000042Z");
	header_is(h, "content-type", "application/json");
	rd_kafka_headers_destroy(h);

	/* The row's own type and content type win; trace context passes through; before 1970 works. */
	h = message_headers_build(own, strlen(own), "id", "e2", why, sizeof(why));
	assert_int_equal(message_cloudevents_add(h, &ce, "e2", -1, why, sizeof(why)), 0);
	header_is(h, "ce_type", "order.paid");
	header_is(h, "content-type", "text/plain");
	header_is(h, "traceparent", "00-ab-cd-01");
	header_is(h, "ce_time", "1969-12-31T23:59:59.999999Z");
	assert_int_equal(rd_kafka_header_cnt(h), 8);
	rd_kafka_headers_destroy(h);

	/* created_at 'infinity' has no RFC 3339 form: ce_time (optional) is left out. */
	h = message_headers_build(NULL, 0, "id", "e3", why, sizeof(why));
	assert_int_equal(message_cloudevents_add(h, &ce, "e3", INT64_MAX, why, sizeof(why)), 0);
	assert_int_not_equal(rd_kafka_header_get_last(h, "ce_time", &(const void *){ NULL }, &(size_t){ 0 }),
			     RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_headers_destroy(h);
}

static void cloudevents_refusals(void **state)
{
	const struct message_ce untyped = { "/orders", NULL, NULL };
	const char *owns = "{\"ce_id\": \"mine\"}";
	char why[160];
	rd_kafka_headers_t *h = message_headers_build(NULL, 0, "id", "e1", why, sizeof(why));

	(void)state;
	assert_int_equal(message_cloudevents_add(h, &untyped, "e1", 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no ce_type header and cloudevents.type is not set"));
	rd_kafka_headers_destroy(h);
	h = message_headers_build(owns, strlen(owns), "id", "e1", why, sizeof(why));
	assert_int_equal(message_cloudevents_add(h, &untyped, "e1", 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "\"ce_id\" is set by outboxd"));
	rd_kafka_headers_destroy(h);
}

static void error_classes(void **state)
{
	(void)state;
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), KAFKA_ERR_PERMANENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), KAFKA_ERR_PERMANENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), KAFKA_ERR_PERMANENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION), KAFKA_ERR_PERMANENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__TRANSPORT), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__PURGE_QUEUE), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE), KAFKA_ERR_TRANSIENT);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__FATAL), KAFKA_ERR_FATAL);
	assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER), KAFKA_ERR_FATAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(topic_names),
		cmocka_unit_test(headers_from_json),
		cmocka_unit_test(no_headers_still_carry_the_event_id),
		cmocka_unit_test(bad_headers_are_refused_with_a_reason),
		cmocka_unit_test(cloudevents_attributes),
		cmocka_unit_test(cloudevents_refusals),
		cmocka_unit_test(error_classes),
	};
	return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
