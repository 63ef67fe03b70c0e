// SPDX-License-Identifier: MIT
/*
 * test_quic_pn.c - packet number widening (RFC 9000's worked example and the
 * edges of the window), reading it from a short header, and the freshness
 * rule that keeps a replayed packet from counting as new.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quic_pn.h"

static void test_decode_rfc_example(void **state)
{
	(void)state;
	/* RFC 9000, A.3: largest 0xa82f30ea, 16 bits 0x9b32 */
	assert_int_equal(quic_pn_decode(0xa82f30ea, 0x9b32, 16), 0xa82f9b32);
}

static void test_decode_window_edges(void **state)
{
	(void)state;
	assert_int_equal(quic_pn_decode(-1, 0, 8), 0); /* the first packet */
	assert_int_equal(quic_pn_decode(-1, 5, 8), 5);
	assert_int_equal(quic_pn_decode(250, 3, 8), 259);	      /* wrapped forward */
	assert_int_equal(quic_pn_decode(259, 250, 8), 250);	      /* a late one, behind */
	assert_int_equal(quic_pn_decode(1000, 1000 & 0xff, 8), 1000); /* the largest again */
	assert_int_equal(quic_pn_decode(0x10000, 0xffff, 16), 0xffff);
	assert_int_equal(quic_pn_decode(QUIC_PN_MAX - 2, 0xff, 8) < QUIC_PN_MAX, 1);
}

static void test_short_header(void **state)
{
	/* first byte 0x42: short header, 3-byte packet number after an 8-byte DCID */
	const uint8_t hdr[] = {0x42, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x02, 0x03};
	const uint8_t lng[] = {0xc0, 0, 0, 0, 1};
	uint64_t pn = 0;
	unsigned int bits = 0;

	(void)state;
	assert_true(quic_pn_from_short_header(hdr, sizeof(hdr), &pn, &bits));
	assert_int_equal(pn, 0x010203);
	assert_int_equal(bits, 24);
	assert_false(quic_pn_from_short_header(lng, sizeof(lng), &pn, &bits));
	assert_false(quic_pn_from_short_header(hdr, 3, &pn, &bits)); /* cut short */
	assert_false(quic_pn_from_short_header(hdr, 0, &pn, &bits));
}

static void test_replay_is_not_fresh(void **state)
{
	int64_t largest = -1;

	(void)state;
	assert_true(quic_pn_advance(&largest, 0));
	assert_true(quic_pn_advance(&largest, 1));
	assert_true(quic_pn_advance(&largest, 7));
	assert_false(quic_pn_advance(&largest, 7)); /* the same packet again */
	assert_false(quic_pn_advance(&largest, 1)); /* an old one replayed */
	assert_int_equal(largest, 7);
	assert_true(quic_pn_advance(&largest, quic_pn_decode(largest, 8, 8)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_rfc_example),
		cmocka_unit_test(test_decode_window_edges),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_replay_is_not_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
