/* Per-key order after a failure: later rows of a key whose earlier row was not delivered are held back. */
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
	add(b, "t", "a", ROW_TRANSIENT); /* 2: the failure */
	add(b, "t", "b", ROW_ACKED);     /* 3: other key */
	add(b, "t", "a", ROW_ACKED);     /* 4: held back */
	add(b, "u", "a", ROW_ACKED);     /* 5: same key, other topic: another stream */
	add(b, "t", NULL, ROW_ACKED);    /* 6: no key, no order */
	add(b, "t", "a", ROW_PERMANENT); /* 7: failed for good: stays failed */
	add(b, "t", "ab", ROW_ACKED);    /* 8: a longer key, not the same */
	add(b, "t", "a", ROW_ACKED);     /* 9: held back */
	assert_int_equal(batch_hold_back_keys(b), 2);
	assert_int_equal(b->rows[0].state, ROW_ACKED);
	assert_int_equal(b->rows[2].state, ROW_ACKED);
	assert_int_equal(b->rows[3].state, ROW_TRANSIENT);
	assert_non_null(strstr(b->rows[3].reason, "held back"));
	assert_int_equal(b->rows[4].state, ROW_ACKED);
	assert_int_equal(b->rows[5].state, ROW_ACKED);
	assert_int_equal(b->rows[6].state, ROW_PERMANENT);
	assert_int_equal(b->rows[7].state, ROW_ACKED);
	assert_int_equal(b->rows[8].state, ROW_TRANSIENT);
	assert_int_equal(batch_count(b, ROW_ACKED), 5);
	batch_free(b);
}

static void a_permanent_failure_does_not_block_its_key(void **state)
{
	struct batch *b = batch_new(4);

	(void)state;
	add(b, "t", "a", ROW_PERMANENT);
	add(b, "t", "a", ROW_ACKED);
	assert_int_equal(batch_hold_back_keys(b), 0);
	assert_int_equal(b->rows[1].state, ROW_ACKED);
	batch_free(b);
}

static void a_null_key_failure_blocks_nothing(void **state)
{
	struct batch *b = batch_new(4);

	(void)state;
	add(b, "t", NULL, ROW_TRANSIENT);
	add(b, "t", NULL, ROW_ACKED);
	assert_int_equal(batch_hold_back_keys(b), 0);
	batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(holds_back_later_rows_of_a_failed_key),
		cmocka_unit_test(a_permanent_failure_does_not_block_its_key),
		cmocka_unit_test(a_null_key_failure_blocks_nothing),
	};
	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
