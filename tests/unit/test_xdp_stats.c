// SPDX-License-Identifier: MIT
/*
 * test_xdp_stats.c - the xdp_stats module: names, human units, addresses,
 * flow ordering and verdict totals (no BPF needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "xdp_stats.h"

static void test_xdp_stats_reason_names_are_complete(void **state)
{
	unsigned int r;

	(void)state;
	for (r = 0; r < BEAM_REASON__MAX; r++)
		assert_string_not_equal(xdp_stats_reason_name(r), "unknown");
	assert_string_equal(xdp_stats_reason_name(BEAM_REASON__MAX), "unknown");
	assert_string_equal(xdp_stats_reason_name(BEAM_REASON_SHORT_INITIAL), "short_initial");
	assert_string_equal(xdp_stats_verdict_name(BEAM_VERDICT_DROP), "drop");
}

/* The cause labels of beam_xdp_steer_misses_total are documented: fixed. */
static void test_xdp_stats_steer_miss_names(void **state)
{
	(void)state;
	assert_string_equal(xdp_stats_steer_miss_name(BEAM_STEER_MISS_OTHER_PORT), "other_port");
	assert_string_equal(xdp_stats_steer_miss_name(BEAM_STEER_MISS_TOO_BIG), "too_big");
	assert_string_equal(xdp_stats_steer_miss_name(BEAM_STEER_MISS_OTHER_WORKER),
			    "other_worker");
	assert_string_equal(xdp_stats_steer_miss_name(BEAM_STEER_MISS_NO_SOCKET), "no_socket");
	assert_int_equal(BEAM_STEER_MISS__MAX, 4);
	assert_string_equal(xdp_stats_steer_miss_name(BEAM_STEER_MISS__MAX), "unknown");
}

static void test_xdp_stats_human_units(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(xdp_fmt_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(xdp_fmt_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(xdp_fmt_bytes(1536, b, sizeof(b)), "1.5 KiB");
	assert_string_equal(xdp_fmt_bytes(3ull << 30, b, sizeof(b)), "3.0 GiB");
	assert_string_equal(xdp_fmt_count(999, b, sizeof(b)), "999");
	assert_string_equal(xdp_fmt_count(1234, b, sizeof(b)), "1.2k");
	assert_string_equal(xdp_fmt_count(5600000, b, sizeof(b)), "5.6M");
	assert_string_equal(xdp_fmt_ns(850, b, sizeof(b)), "850ns");
	assert_string_equal(xdp_fmt_ns(1200000, b, sizeof(b)), "1.2ms");
	assert_string_equal(xdp_fmt_ns(90ull * 1000000000, b, sizeof(b)), "1.5m");
	assert_string_equal(xdp_fmt_bytes(1536, b, 4), "1.5");
}

static void test_xdp_stats_addresses(void **state)
{
	__u8 v4[16] = {[10] = 0xff, [11] = 0xff, [12] = 10, [13] = 0, [14] = 0, [15] = 1};
	__u8 v6[16] = {[0] = 0xfd, [15] = 1};
	__u8 cid[3] = {0x0a, 0xff, 0x00};
	char b[64];

	(void)state;
	assert_true(xdp_addr_is_v4(v4));
	assert_false(xdp_addr_is_v4(v6));
	assert_string_equal(xdp_fmt_addr(v4, b, sizeof(b)), "10.0.0.1");
	assert_string_equal(xdp_fmt_addr(v6, b, sizeof(b)), "fd00::1");
	assert_string_equal(xdp_fmt_hex(cid, 3, b, sizeof(b)), "0aff00");
	assert_string_equal(xdp_fmt_hex(cid, 3, b, 5), "0aff");
	assert_string_equal(xdp_fmt_hex(cid, 0, b, sizeof(b)), "");
}

static void test_xdp_stats_flows_busiest_first(void **state)
{
	struct xdp_flow_entry f[4];

	(void)state;
	memset(f, 0, sizeof(f));
	f[0].flow.bytes = 10, f[0].flow.packets = 1;
	f[1].flow.bytes = 500, f[1].flow.packets = 2;
	f[2].flow.bytes = 10, f[2].flow.packets = 9;
	f[3].flow.bytes = 90, f[3].flow.packets = 1;
	xdp_flows_sort(f, 4);
	assert_int_equal(f[0].flow.bytes, 500);
	assert_int_equal(f[1].flow.bytes, 90);
	assert_int_equal(f[2].flow.packets, 9);
	assert_int_equal(f[3].flow.packets, 1);
}

static void test_xdp_stats_verdict_totals(void **state)
{
	struct beam_counter reasons[BEAM_REASON__MAX] = {0}, v[BEAM_VERDICT__MAX];

	(void)state;
	reasons[BEAM_REASON_TO_SOCKET] = (struct beam_counter){3, 300};
	reasons[BEAM_REASON_NOT_IP] = (struct beam_counter){1, 60};
	reasons[BEAM_REASON_MALFORMED] = (struct beam_counter){2, 20};
	reasons[BEAM_REASON_INITIAL_RATE] = (struct beam_counter){5, 6000};
	reasons[BEAM_REASON_TO_XSK] = (struct beam_counter){7, 700};
	xdp_stats_verdicts(reasons, v);
	assert_int_equal(v[BEAM_VERDICT_PASS].packets, 4);
	assert_int_equal(v[BEAM_VERDICT_PASS].bytes, 360);
	assert_int_equal(v[BEAM_VERDICT_DROP].packets, 7);
	assert_int_equal(v[BEAM_VERDICT_DROP].bytes, 6020);
	assert_int_equal(v[BEAM_VERDICT_REDIRECT].packets, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xdp_stats_reason_names_are_complete),
		cmocka_unit_test(test_xdp_stats_steer_miss_names),
		cmocka_unit_test(test_xdp_stats_human_units),
		cmocka_unit_test(test_xdp_stats_addresses),
		cmocka_unit_test(test_xdp_stats_flows_busiest_first),
		cmocka_unit_test(test_xdp_stats_verdict_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
