// SPDX-License-Identifier: MIT
/*
 * test_log.c - the log module: levels, verbosity and the rate limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

static void test_log_verbosity_raises_level(void **state)
{
	(void)state;
	log_set_verbosity(0);
	assert_true(log_enabled(LOG_LVL_INFO));
	assert_false(log_enabled(LOG_LVL_DEBUG));
	log_set_verbosity(2);
	assert_true(log_enabled(LOG_LVL_TRACE));
	log_set_verbosity(40);
	assert_int_equal(log_get_level(), LOG_LVL_TRACE);
}

static void test_log_ratelimit_caps_burst(void **state)
{
	struct log_ratelimit rl = {0};
	unsigned int i, ok = 0;

	(void)state;
	for (i = 0; i < 100; i++)
		ok += log_ratelimit_ok(&rl, 5);
	assert_int_equal(ok, 5);
	assert_int_equal(rl.missed, 95);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_verbosity_raises_level),
		cmocka_unit_test(test_log_ratelimit_caps_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
