// SPDX-License-Identifier: MIT
/*
 * test_udp_flow.c - a udp tunnel's flow table: numbering, lookups by number
 * and by address, the bound, and expiry order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "udp_flow.h"
#include "test_addr.h"

static void test_udp_flow_numbers_and_lookups(void **state)
{
	struct pktio_addr a = v4("10.0.0.1", 1000), b = v4("10.0.0.1", 1001);
	struct pktio_addr c = v6("fd00::1", 1000), x = v4("10.0.0.2", 1000);
	struct udp_flow *fa, *fb, *fc;
	struct udp_flows t;

	(void)state;
	assert_int_equal(udp_flows_init(&t, 8), 0);
	assert_int_equal(udp_flows_add(&t, 0, &a, 1, &fa), 0);
	assert_int_equal(udp_flows_add(&t, 0, &b, 2, &fb), 0);
	assert_int_equal(udp_flows_add(&t, 0, &c, 3, &fc), 0);
	assert_true(fa->id == 1 && fb->id == 2 && fc->id == 3);
	/* same address, other port: another flow; same port, other address too */
	assert_ptr_equal(udp_flows_by_addr(&t, &a), fa);
	assert_ptr_equal(udp_flows_by_addr(&t, &b), fb);
	assert_ptr_equal(udp_flows_by_addr(&t, &c), fc);
	assert_null(udp_flows_by_addr(&t, &x));
	assert_ptr_equal(udp_flows_by_id(&t, 2), fb);
	assert_null(udp_flows_by_id(&t, 4));
	/* numbers are not reused after a flow goes */
	udp_flows_del(&t, fb);
	assert_null(udp_flows_by_id(&t, 2));
	assert_null(udp_flows_by_addr(&t, &b));
	assert_int_equal(udp_flows_add(&t, 0, &b, 4, &fb), 0);
	assert_true(fb->id == 4);
	udp_flows_fini(&t);
}

static void test_udp_flow_bound_and_explicit_ids(void **state)
{
	struct udp_flows t;
	struct udp_flow *f;
	uint64_t i;

	(void)state;
	assert_int_equal(udp_flows_init(&t, 3), 0);
	for (i = 10; i < 13; i++)
		assert_int_equal(udp_flows_add(&t, i, NULL, i, &f), 0);
	assert_int_equal(udp_flows_add(&t, 99, NULL, 0, &f), -ENOSPC);
	udp_flows_del(&t, udp_flows_by_id(&t, 11));
	assert_int_equal(udp_flows_add(&t, 12, NULL, 0, &f), -EEXIST);
	assert_int_equal(udp_flows_add(&t, 99, NULL, 0, &f), 0);
	assert_ptr_equal(udp_flows_by_id(&t, 99), f);
	udp_flows_fini(&t);
	assert_int_equal(udp_flows_init(&t, 0), -EINVAL);
}

static void test_udp_flow_oldest_first(void **state)
{
	struct udp_flow *f[4];
	struct udp_flows t;
	int i;

	(void)state;
	assert_int_equal(udp_flows_init(&t, 16), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(udp_flows_add(&t, 0, NULL, (uint64_t)i, &f[i]), 0);
	assert_ptr_equal(udp_flows_oldest(&t), f[0]);
	/* use makes a flow young again */
	udp_flows_touch(&t, f[0], 10);
	assert_ptr_equal(udp_flows_oldest(&t), f[1]);
	udp_flows_del(&t, f[1]);
	assert_ptr_equal(udp_flows_oldest(&t), f[2]);
	udp_flows_touch(&t, f[3], 11); /* the youngest already: order kept */
	udp_flows_del(&t, f[2]);
	assert_ptr_equal(udp_flows_oldest(&t), f[0]);
	udp_flows_del(&t, f[0]);
	assert_ptr_equal(udp_flows_oldest(&t), f[3]);
	udp_flows_del(&t, f[3]);
	assert_null(udp_flows_oldest(&t));
	assert_int_equal(t.n, 0);
	udp_flows_fini(&t);
}

static void test_udp_flow_many(void **state)
{
	struct udp_flows t;
	struct udp_flow *f;
	unsigned int i;

	(void)state;
	assert_int_equal(udp_flows_init(&t, 4096), 0);
	for (i = 0; i < 4096; i++) {
		struct pktio_addr a = v4("192.0.2.1", (uint16_t)(1024 + i));

		assert_int_equal(udp_flows_add(&t, 0, &a, i, &f), 0);
	}
	for (i = 0; i < 4096; i++) {
		struct pktio_addr a = v4("192.0.2.1", (uint16_t)(1024 + i));

		f = udp_flows_by_addr(&t, &a);
		assert_non_null(f);
		assert_true(f->id == i + 1);
	}
	udp_flows_fini(&t);
}

static void count_gone_cb(struct udp_flow *f, void *arg)
{
	unsigned int *n = arg;

	assert_non_null(f);
	(*n)++;
}

static void test_udp_flow_expire_only_idle(void **state)
{
	struct pktio_addr a = v4("10.0.0.1", 1), b = v4("10.0.0.1", 2), c = v4("10.0.0.1", 3);
	struct udp_flow *fa, *fb, *fc;
	unsigned int gone = 0;
	struct udp_flows t;

	(void)state;
	assert_int_equal(udp_flows_init(&t, 8), 0);
	assert_int_equal(udp_flows_add(&t, 0, &a, 100, &fa), 0);
	assert_int_equal(udp_flows_add(&t, 0, &b, 200, &fb), 0);
	assert_int_equal(udp_flows_add(&t, 0, &c, 300, &fc), 0);
	udp_flows_touch(&t, fa, 400); /* a used again: now the newest */
	/* at 500 with idle 250: b (200) goes, c (300) and a (400) stay */
	udp_flows_expire(&t, 500, 250, count_gone_cb, &gone);
	assert_int_equal(gone, 1);
	assert_null(udp_flows_by_addr(&t, &b));
	assert_ptr_equal(udp_flows_by_addr(&t, &a), fa);
	assert_ptr_equal(udp_flows_by_addr(&t, &c), fc);
	/* idle exactly at the limit stays; past it goes, without a callback too */
	udp_flows_expire(&t, 550, 250, NULL, NULL);
	assert_ptr_equal(udp_flows_by_addr(&t, &c), fc);
	udp_flows_expire(&t, 551, 250, NULL, NULL);
	assert_null(udp_flows_by_addr(&t, &c));
	assert_ptr_equal(udp_flows_oldest(&t), fa);
	udp_flows_fini(&t);
}

static void test_udp_flow_defaults(void **state)
{
	unsigned int max = 0, idle = 0;

	(void)state;
	udp_flows_defaults(&max, &idle);
	assert_int_equal(max, UDP_FLOWS_DEFAULT_MAX);
	assert_int_equal(idle, UDP_FLOWS_DEFAULT_IDLE_S);
	/* what a config sets is kept */
	max = 7;
	idle = 9;
	udp_flows_defaults(&max, &idle);
	assert_int_equal(max, 7);
	assert_int_equal(idle, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_flow_numbers_and_lookups),
		cmocka_unit_test(test_udp_flow_bound_and_explicit_ids),
		cmocka_unit_test(test_udp_flow_oldest_first),
		cmocka_unit_test(test_udp_flow_many),
		cmocka_unit_test(test_udp_flow_expire_only_idle),
		cmocka_unit_test(test_udp_flow_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
