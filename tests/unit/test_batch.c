/* A row's states (batch.c owns every move): what Kafka's reports make of a row, the dead-letter phase, rows refused
 * for size, and per-key order after a failure: later rows of a key whose earlier row was not delivered are held
 * back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"

static void add(struct batch *b, const char *topic, const char *key, enum row_state st)
{
	struct outbox_row *r = &b->rows[b->n];

	batch_reset_row(b, b->n);
	r->id = b->n + 1;
	r->topic = topic;
	r->key = key;
	r->key_len = key ? strlen(key) : 0;
	r->state = st;
	b->n++;
}

static void holds_back_later_rows_of_a_failed_key(void **state)
{
	struct batch *b = batch_new(16);

	(void)state;
	add(b, "t", "a", ROW_ACKED);     /* 1: before the failure: stays acked */
	add(b, "t", "a", ROW_RETRY);     /* 2: the failure */
	add(b, "t", "b", ROW_ACKED);     /* 3: other key */
	add(b, "t", "a", ROW_ACKED);     /* 4: held back */
	add(b, "u", "a", ROW_ACKED);     /* 5: same key, other topic: another stream */
	add(b, "t", NULL, ROW_ACKED);    /* 6: no key, no order */
	add(b, "t", "a", ROW_FAILED);    /* 7: failed for good: stays failed */
	add(b, "t", "ab", ROW_ACKED);    /* 8: a longer key, not the same */
	add(b, "t", "a", ROW_ACKED);     /* 9: held back */
	assert_int_equal(batch_hold_back_keys(b), 2);
	assert_int_equal(b->rows[0].state, ROW_ACKED);
	assert_int_equal(b->rows[2].state, ROW_ACKED);
	assert_int_equal(b->rows[3].state, ROW_HELD);
	assert_non_null(strstr(b->rows[3].reason, "held back"));
	assert_int_equal(b->rows[4].state, ROW_ACKED);
	assert_int_equal(b->rows[5].state, ROW_ACKED);
	assert_int_equal(b->rows[6].state, ROW_FAILED);
	assert_int_equal(b->rows[7].state, ROW_ACKED);
	assert_int_equal(b->rows[8].state, ROW_HELD);
	assert_int_equal(batch_count(b, ROW_ACKED), 5);
	batch_free(b);
}

static void a_permanent_failure_does_not_block_its_key(void **state)
{
	struct batch *b = batch_new(4);

	(void)state;
	add(b, "t", "a", ROW_FAILED);
	add(b, "t", "a", ROW_ACKED);
	assert_int_equal(batch_hold_back_keys(b), 0);
	assert_int_equal(b->rows[1].state, ROW_ACKED);
	batch_free(b);
}

static void a_null_key_failure_blocks_nothing(void **state)
{
	struct batch *b = batch_new(4);

	(void)state;
	add(b, "t", NULL, ROW_RETRY);
	add(b, "t", NULL, ROW_ACKED);
	assert_int_equal(batch_hold_back_keys(b), 0);
	batch_free(b);
}

static void reports_move_only_waiting_rows(void **state)
{
	struct batch *b = batch_new(8);

	(void)state;
	for (int i = 0; i < 5; i++)
		add(b, "t", "k", ROW_PENDING);
	batch_row_report(b, 0, FAULT_NONE, NULL);
	batch_row_report(b, 1, FAULT_RETRY, "kafka: down");
	batch_row_report(b, 2, FAULT_PERMANENT, "kafka: bad topic");
	batch_row_report(b, 3, FAULT_SIZE, "kafka: too large");
	assert_int_equal(b->rows[0].state, ROW_ACKED);
	assert_int_equal(b->rows[1].state, ROW_RETRY);
	assert_string_equal(b->rows[1].reason, "kafka: down");
	assert_int_equal(b->rows[2].state, ROW_FAILED);
	assert_int_equal(b->rows[3].state, ROW_SUSPECT);
	/* A late report changes nothing once a row has its outcome. */
	batch_row_report(b, 0, FAULT_PERMANENT, "late");
	batch_row_report(b, 2, FAULT_NONE, NULL);
	assert_int_equal(b->rows[0].state, ROW_ACKED);
	assert_int_equal(b->rows[2].state, ROW_FAILED);
	/* The deadline: what is still waiting is retried. */
	batch_rows_unreported(b, "not acknowledged in time");
	assert_int_equal(b->rows[4].state, ROW_RETRY);
	assert_string_equal(b->rows[4].reason, "not acknowledged in time");
	assert_int_equal(b->rows[3].state, ROW_SUSPECT);
	assert_int_equal(batch_undelivered(b), 3);
	batch_free(b);
}

static void dead_letter_copies_decide_the_outcome(void **state)
{
	struct batch *b = batch_new(8);

	(void)state;
	for (int i = 0; i < 4; i++)
		add(b, "t", "k", ROW_PENDING);
	for (int i = 0; i < 3; i++)
		batch_row_report(b, i, FAULT_PERMANENT, "bad headers");
	assert_int_equal(batch_begin_dead_letters(b), 3);
	assert_int_equal(b->rows[0].state, ROW_DEAD_LETTER);
	assert_true(batch_row_waiting(&b->rows[0]));
	assert_string_equal(b->rows[0].parked, "bad headers");
	batch_row_report(b, 0, FAULT_NONE, NULL);
	batch_row_report(b, 1, FAULT_PERMANENT, "dlq refused");
	batch_rows_unreported(b, "timed out");
	assert_int_equal(b->rows[0].state, ROW_FAILED);
	assert_string_equal(b->rows[0].reason, "bad headers (copied to the dead-letter topic)");
	assert_int_equal(b->rows[1].state, ROW_FAILED);
	assert_string_equal(b->rows[1].reason, "bad headers; the dead-letter topic refused it too: dlq refused");
	assert_int_equal(b->rows[2].state, ROW_RETRY);
	assert_string_equal(b->rows[2].reason, "bad headers; not yet copied to the dead-letter topic: timed out");
	assert_int_equal(b->rows[3].state, ROW_RETRY);
	batch_free(b);
}

static void suspects_tried_alone_fail_the_rest_retry(void **state)
{
	struct batch *b = batch_new(8);

	(void)state;
	for (int i = 0; i < 4; i++)
		add(b, "t", "k", ROW_PENDING);
	for (int i = 0; i < 4; i++)
		batch_row_report(b, i, FAULT_SIZE, "too large");
	batch_row_alone(b, 0);
	assert_int_equal(b->rows[0].state, ROW_PENDING);
	batch_row_report(b, 0, FAULT_NONE, NULL); /* it was a neighbour's fault */
	batch_row_alone(b, 1);
	batch_row_report(b, 1, FAULT_SIZE, "too large"); /* its own */
	batch_suspects_settle(b, 2, "never tried alone");
	assert_int_equal(b->rows[0].state, ROW_ACKED);
	assert_int_equal(b->rows[1].state, ROW_FAILED);
	assert_string_equal(b->rows[1].reason, "too large");
	assert_int_equal(b->rows[2].state, ROW_RETRY);
	assert_string_equal(b->rows[3].reason, "never tried alone");
	batch_free(b);
}

static void block_key_and_oversize(void **state)
{
	struct batch *b = batch_new(8);

	(void)state;
	add(b, "t", "a", ROW_PENDING);
	add(b, "t", "b", ROW_PENDING);
	add(b, "t", "a", ROW_PENDING);
	b->rows[0].size = 2000;
	batch_fail_oversize(b, 1000);
	assert_int_equal(b->rows[0].state, ROW_FAILED);
	assert_non_null(strstr(b->rows[0].reason, "row is 2000 bytes"));
	assert_int_equal(batch_hold_behind_failure(b, 1, ROW_HELD), 0);
	assert_int_equal(batch_hold_behind_failure(b, 2, ROW_HELD), 1);
	assert_int_equal(b->rows[2].state, ROW_HELD);
	assert_int_equal(batch_undelivered(b), 2);
	batch_free(b);
}

/* With "keep" a row behind a failure of its key is set aside (BLOCKED), as is one the claim found blocked: neither
 * is to be retried, so the batch has nothing undelivered once the rest is acknowledged. */
static void keep_blocks_rows_behind_a_failure(void **state)
{
	struct batch *b = batch_new(8);

	(void)state;
	add(b, "t", "a", ROW_PENDING);
	add(b, "t", "a", ROW_PENDING);
	add(b, "t", "b", ROW_PENDING);
	add(b, "t", "c", ROW_PENDING);
	b->rows[0].size = 2000;
	batch_fail_oversize(b, 1000);
	assert_int_equal(batch_hold_behind_failure(b, 1, ROW_BLOCKED), 1);
	assert_int_equal(b->rows[1].state, ROW_BLOCKED);
	assert_non_null(strstr(b->rows[1].reason, "block_key"));
	assert_int_equal(batch_hold_behind_failure(b, 2, ROW_BLOCKED), 0);
	batch_block_row(b, 3);
	assert_int_equal(b->rows[3].state, ROW_BLOCKED);
	assert_int_equal(batch_undelivered(b), 1); /* row 2, still pending */
	batch_row_report(b, 2, FAULT_NONE, NULL);
	assert_int_equal(batch_undelivered(b), 0);
	batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reports_move_only_waiting_rows),
		cmocka_unit_test(dead_letter_copies_decide_the_outcome),
		cmocka_unit_test(suspects_tried_alone_fail_the_rest_retry),
		cmocka_unit_test(block_key_and_oversize),
		cmocka_unit_test(keep_blocks_rows_behind_a_failure),
		cmocka_unit_test(holds_back_later_rows_of_a_failed_key),
		cmocka_unit_test(a_permanent_failure_does_not_block_its_key),
		cmocka_unit_test(a_null_key_failure_blocks_nothing),
	};
	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
