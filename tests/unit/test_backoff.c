/* Backoff: grows exponentially, capped, jittered within [d/2, d], resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backoff.h"

static void grows_and_caps(void **state)
{
	struct backoff b;
	int nominal[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };

	(void)state;
	backoff_init(&b, 100, 5000, 42);
	for (unsigned i = 0; i < sizeof(nominal) / sizeof(nominal[0]); i++) {
		int d = backoff_next(&b);
		assert_in_range(d, nominal[i] / 2, nominal[i]);
	}
	for (int i = 0; i < 100; i++)
		assert_in_range(backoff_next(&b), 2500, 5000);
}

static void jitter_spreads(void **state)
{
	struct backoff b;
	int lo = 1 << 30, hi = 0;

	(void)state;
	backoff_init(&b, 1000, 1000, 7);
	for (int i = 0; i < 1000; i++) {
		int d = backoff_next(&b);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < 600);
	assert_true(hi > 900);
}

static void resets(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 10, 100000, 1);
	for (int i = 0; i < 10; i++)
		backoff_next(&b);
	backoff_reset(&b);
	assert_in_range(backoff_next(&b), 5, 10);
}

static void survives_many_attempts(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 1, 3600000, 3);
	for (int i = 0; i < 10000; i++)
		assert_in_range(backoff_next(&b), 0, 3600000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_and_caps),
		cmocka_unit_test(jitter_spreads),
		cmocka_unit_test(resets),
		cmocka_unit_test(survives_many_attempts),
	};
	return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
