// SPDX-License-Identifier: MIT
/*
 * test_prom.c - the Prometheus text writer: labels, samples, histograms.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist.h"
#include "prom.h"

static void test_prom_labels_escape_values(void **state)
{
	char labels[PROM_LABELS_MAX];

	(void)state;
	assert_int_equal(
		prom_labels(labels, sizeof(labels), "iface", "eth0", "why", "a\"b\\c\nd", NULL), 0);
	assert_string_equal(labels, "iface=\"eth0\",why=\"a\\\"b\\\\c\\nd\"");
}

static void test_prom_labels_too_long_is_enospc(void **state)
{
	char labels[16];

	(void)state;
	assert_int_equal(prom_labels(labels, sizeof(labels), "tunnel", "a-very-long-name", NULL),
			 -ENOSPC);
	assert_string_equal(labels, "");
}

static void test_prom_family_and_samples(void **state)
{
	struct prom_buf b;

	(void)state;
	prom_buf_init(&b);
	prom_family(&b, "beam_streams_total", PROM_COUNTER, "Streams carried.");
	prom_sample_u64(&b, "beam_streams_total", "result=\"ok\"", 18446744073709551615ull);
	prom_sample_double(&b, "beam_up", NULL, 1);
	assert_false(b.failed);
	assert_string_equal(b.data, "# HELP beam_streams_total Streams carried.\n"
				    "# TYPE beam_streams_total counter\n"
				    "beam_streams_total{result=\"ok\"} 18446744073709551615\n"
				    "beam_up 1\n");
	prom_buf_fini(&b);
}

static unsigned long long bucket_value(const char *text, const char *le)
{
	char needle[128];
	const char *p;

	snprintf(needle, sizeof(needle), "le=\"%s\"} ", le);
	p = strstr(text, needle);
	assert_non_null(p);
	return strtoull(p + strlen(needle), NULL, 10);
}

static void test_prom_histogram_is_cumulative_in_seconds(void **state)
{
	struct beam_hist h = {0};
	unsigned long long prev = 0, v;
	struct prom_buf b;
	const char *p;

	(void)state;
	hist_record(&h, 0);	     /* folded into the first bucket shown */
	hist_record(&h, 1500);	     /* 1.5 us: bucket 10, le 2.048e-06 */
	hist_record(&h, 1000000);    /* 1 ms: bucket 19, le 0.001048576 */
	hist_record(&h, 1ull << 40); /* ~18 min: above the last bucket shown, only in +Inf */
	prom_buf_init(&b);
	prom_histogram(&b, "beam_rtt_seconds", "kind=\"tcp\"", &h);
	assert_false(b.failed);

	assert_int_equal(bucket_value(b.data, "1.024e-06"), 1);
	assert_int_equal(bucket_value(b.data, "2.048e-06"), 2);
	assert_int_equal(bucket_value(b.data, "0.000524288"), 2);
	assert_int_equal(bucket_value(b.data, "0.001048576"), 3);
	assert_int_equal(bucket_value(b.data, "68.7194767"), 3);
	assert_int_equal(bucket_value(b.data, "+Inf"), 4);
	assert_non_null(strstr(b.data, "beam_rtt_seconds_count{kind=\"tcp\"} 4\n"));
	assert_non_null(strstr(b.data, "beam_rtt_seconds_sum{kind=\"tcp\"} 1099.51"));

	/* Every bucket line is >= the one before it. */
	for (p = strstr(b.data, "_bucket"); p; p = strstr(p + 1, "_bucket")) {
		v = strtoull(strstr(p, "} ") + 2, NULL, 10);
		assert_true(v >= prev);
		prev = v;
	}
	prom_buf_fini(&b);
}

static void test_prom_hist_bucket_edges(void **state)
{
	(void)state;
	assert_int_equal(hist_bucket(0), 0);
	assert_int_equal(hist_bucket(1), 0);
	assert_int_equal(hist_bucket(2), 1);
	assert_int_equal(hist_bucket(3), 1);
	assert_int_equal(hist_bucket(1024), 10);
	assert_int_equal(hist_bucket(UINT64_MAX), 63);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_labels_escape_values),
		cmocka_unit_test(test_prom_labels_too_long_is_enospc),
		cmocka_unit_test(test_prom_family_and_samples),
		cmocka_unit_test(test_prom_histogram_is_cumulative_in_seconds),
		cmocka_unit_test(test_prom_hist_bucket_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
