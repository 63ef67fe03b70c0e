// SPDX-License-Identifier: MIT
/*
 * test_proxy_proto.c - the PROXY protocol headers the agent writes to the
 * local service: exact v1 lines and v2 bytes for IPv4 and IPv6, mixed
 * families, IPv4-mapped sources, and buffers that are too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "proxy_proto.h"
#include "test_addr.h"

static void expect_v1(const struct pktio_addr *src, const struct pktio_addr *dst, const char *want)
{
	uint8_t buf[PROXY_PROTO_MAX];
	int n = proxy_proto_encode(PROXY_PROTO_V1, src, dst, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
}

static void test_proxy_proto_v1(void **state)
{
	struct pktio_addr c4 = v4("192.0.2.7", 51000), e4 = v4("198.51.100.1", 40123);
	struct pktio_addr c6 = v6("2001:db8::7", 443), e6 = v6("2001:db8::1", 8443);
	struct pktio_addr mapped = v6("::ffff:192.0.2.9", 1234);

	(void)state;
	expect_v1(&c4, &e4, "PROXY TCP4 192.0.2.7 198.51.100.1 51000 40123\r\n");
	expect_v1(&c6, &e6, "PROXY TCP6 2001:db8::7 2001:db8::1 443 8443\r\n");
	/* an IPv4 client of an IPv6 edge: the destination becomes 0.0.0.0 */
	expect_v1(&c4, &e6, "PROXY TCP4 192.0.2.7 0.0.0.0 51000 8443\r\n");
	expect_v1(&mapped, &e4, "PROXY TCP4 192.0.2.9 198.51.100.1 1234 40123\r\n");
	expect_v1(&c6, NULL, "PROXY TCP6 2001:db8::7 :: 443 0\r\n");
}

static void test_proxy_proto_v1_longest_fits(void **state)
{
	struct pktio_addr c = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	struct pktio_addr e = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	uint8_t buf[PROXY_PROTO_MAX];
	int n;

	(void)state;
	/* the spec's worst case is 107 bytes */
	n = proxy_proto_encode(PROXY_PROTO_V1, &c, &e, buf, sizeof(buf));
	assert_true(n > 0 && n <= 107);
	assert_int_equal(proxy_proto_encode(PROXY_PROTO_V1, &c, &e, buf, (size_t)n), -ENOSPC);
}

static void test_proxy_proto_v2_ipv4(void **state)
{
	static const uint8_t want[] = {
		0x0d,
		0x0a,
		0x0d,
		0x0a,
		0x00,
		0x0d,
		0x0a,
		0x51,
		0x55,
		0x49,
		0x54,
		0x0a, /* sig */
		/* v2 PROXY, TCP over IPv4, 12 bytes */
		0x21,
		0x11,
		0x00,
		0x0c,
		/* source 192.0.2.7, destination 198.51.100.1 */
		0xc0,
		0x00,
		0x02,
		0x07,
		0xc6,
		0x33,
		0x64,
		0x01,
		/* ports 51000, 40123 */
		0xc7,
		0x38,
		0x9c,
		0xbb,
	};
	struct pktio_addr c = v4("192.0.2.7", 51000), e = v4("198.51.100.1", 40123);
	uint8_t buf[PROXY_PROTO_MAX];

	(void)state;
	assert_int_equal(proxy_proto_encode(PROXY_PROTO_V2, &c, &e, buf, sizeof(buf)),
			 (int)sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(proxy_proto_encode(PROXY_PROTO_V2, &c, &e, buf, sizeof(want) - 1),
			 -ENOSPC);
}

static void test_proxy_proto_v2_ipv6(void **state)
{
	struct pktio_addr c = v6("2001:db8::7", 443), e = v6("2001:db8::1", 8443);
	uint8_t buf[PROXY_PROTO_MAX];
	int n;

	(void)state;
	n = proxy_proto_encode(PROXY_PROTO_V2, &c, &e, buf, sizeof(buf));
	assert_int_equal(n, 16 + 36);
	assert_int_equal(buf[12], 0x21);
	assert_int_equal(buf[13], 0x21); /* TCP over IPv6 */
	assert_int_equal(buf[14] << 8 | buf[15], 36);
	assert_memory_equal(buf + 16, &c.in6.sin6_addr, 16);
	assert_memory_equal(buf + 32, &e.in6.sin6_addr, 16);
	assert_int_equal(buf[48] << 8 | buf[49], 443);
	assert_int_equal(buf[50] << 8 | buf[51], 8443);
}

static void test_proxy_proto_bad_input(void **state)
{
	struct pktio_addr c = v4("192.0.2.7", 1), none = {0};
	uint8_t buf[PROXY_PROTO_MAX];

	(void)state;
	assert_int_equal(proxy_proto_encode(PROXY_PROTO_NONE, &c, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(proxy_proto_encode(PROXY_PROTO_V1, &none, &c, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(proxy_proto_parse("v1"), PROXY_PROTO_V1);
	assert_int_equal(proxy_proto_parse("2"), PROXY_PROTO_V2);
	assert_int_equal(proxy_proto_parse("v3"), PROXY_PROTO_NONE);
	assert_int_equal(proxy_proto_parse(""), PROXY_PROTO_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_proto_v1),
		cmocka_unit_test(test_proxy_proto_v1_longest_fits),
		cmocka_unit_test(test_proxy_proto_v2_ipv4),
		cmocka_unit_test(test_proxy_proto_v2_ipv6),
		cmocka_unit_test(test_proxy_proto_bad_input),
	};

	return cmocka_run_group_tests_name("proxy_proto", tests, NULL, NULL);
}
