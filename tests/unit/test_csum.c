// SPDX-License-Identifier: MIT
/*
 * test_csum.c - the checksum module: every SIMD routine equals the scalar one
 * on random buffers of every length 0..9000 at every alignment 0..63, the
 * RFC 1071 example, and IPv4 header and UDP checksums against a byte-wise
 * big-endian reference written here, independent of the module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "csum.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEN	  9000
#define MAX_ALIGN 64

/* The SIMD routine every CPU of the architecture has (SSE2 is part of x86-64,
 * Advanced SIMD of ARMv8-A): it must be listed, or the comparisons below
 * would pass with nothing but the scalar routine to compare. */
#if defined(__x86_64__)
#define BASELINE_SIMD "sse2"
#elif defined(__aarch64__)
#define BASELINE_SIMD "neon"
#else
#define BASELINE_SIMD ""
#endif

/* Reference: RFC 1071 read literally, big-endian 16-bit words, one by one. */
static uint16_t ref_sum(const uint8_t *p, size_t len, uint64_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint64_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The module's checksum as the two bytes that go on the wire, big-endian. */
static uint16_t wire16(uint16_t stored)
{
	uint8_t b[2];

	memcpy(b, &stored, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void fill_random(uint8_t *p, size_t len, unsigned int *seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rand_r(seed);
}

static void test_csum_baseline_simd_listed(void **state)
{
	const struct csum_impl *impls;
	size_t n, i;

	(void)state;
	if (!*BASELINE_SIMD)
		skip();
	impls = csum_impls(&n);
	for (i = 0; i < n; i++)
		if (!strcmp(impls[i].name, BASELINE_SIMD))
			return;
	fail_msg("csum_impls() does not list %s, which every CPU of this architecture has",
		 BASELINE_SIMD);
}

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: these bytes sum to ddf2 (after end-around carries). */
	static const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	const struct csum_impl *impls;
	size_t n, i;

	(void)state;
	impls = csum_impls(&n);
	for (i = 0; i < n; i++) {
		uint16_t c = csum_fold(impls[i].fn(bytes, sizeof(bytes), 0));

		assert_int_equal(wire16(c), (uint16_t)~0xddf2);
	}
	assert_int_equal(ref_sum(bytes, sizeof(bytes), 0), 0xddf2);
	/* Byte order independence (section 2(B)): the swapped sum is the swap. */
	assert_int_equal(wire16(csum_fold(csum_partial(bytes, sizeof(bytes), 0))), 0x220d);
}

static void test_csum_fold_edges(void **state)
{
	uint8_t ones[64], zeros[64] = {0};

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(csum_fold(0), 0xffff);
	assert_int_equal(csum_fold(0xffff), 0);
	assert_int_equal(csum_fold(0xffffffffu), 0);
	assert_int_equal(csum_add(0xffffffffu, 1), 1);
	assert_int_equal(csum_fold(csum_partial(zeros, sizeof(zeros), 0)), 0xffff);
	assert_int_equal(csum_fold(csum_partial(ones, sizeof(ones), 0)), 0);
	assert_int_equal(csum_fold(csum_partial(ones, 0, 0)), 0xffff);
}

/* Every routine against the scalar one, also against the byte-wise reference
 * on a coarser grid (the reference is slow). Buffers of 0xff stress carries. */
static void check_all_lengths(uint8_t *buf, unsigned int *seed)
{
	const struct csum_impl *impls;
	size_t n, i, len, off;

	impls = csum_impls(&n);
	for (off = 0; off < MAX_ALIGN; off++) {
		for (len = 0; len <= MAX_LEN; len++) {
			uint32_t init = (len % 7 == 0) ? (uint32_t)rand_r(seed) : 0;
			uint16_t want = csum_fold(csum_partial_scalar(buf + off, len, init));

			for (i = 1; i < n; i++) {
				uint16_t got = csum_fold(impls[i].fn(buf + off, len, init));

				if (got != want)
					fail_msg("%s: len %zu offset %zu: %04x, scalar %04x",
						 impls[i].name, len, off, got, want);
			}
			if (len % 61 == 0 && off % 8 == 0 && !init) {
				uint16_t ref = (uint16_t)~ref_sum(buf + off, len, 0);

				if (wire16(want) != ref)
					fail_msg("scalar: len %zu offset %zu: %04x, reference %04x",
						 len, off, wire16(want), ref);
			}
		}
	}
}

static void test_csum_simd_equals_scalar(void **state)
{
	unsigned int seed = 0xbea7;
	uint8_t *buf = malloc(MAX_LEN + MAX_ALIGN);
	size_t n;

	(void)state;
	assert_non_null(buf);
	csum_impls(&n);
	print_message("# checksum routines on this CPU: %zu, active %s\n", n, csum_impl_name());
	fill_random(buf, MAX_LEN + MAX_ALIGN, &seed);
	check_all_lengths(buf, &seed);
	memset(buf, 0xff, MAX_LEN + MAX_ALIGN);
	check_all_lengths(buf, &seed);
	/* Zeros are the other extreme of the pmaddwd routines' signed view. */
	memset(buf, 0, MAX_LEN + MAX_ALIGN);
	check_all_lengths(buf, &seed);
	free(buf);
}

static void test_csum_large_buffer(void **state)
{
	/* Crosses the 64 KiB block boundary of the SIMD routines several times. */
	size_t len = 300 * 1024 + 13, n, i;
	uint8_t *buf = malloc(len);
	unsigned int seed = 7;
	uint16_t want;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0xff, len);
	fill_random(buf + len / 2, len / 2, &seed);
	want = csum_fold(csum_partial_scalar(buf, len, 0));
	assert_int_equal(wire16(want), (uint16_t)~ref_sum(buf, len, 0));
	for (const struct csum_impl *impls = csum_impls(&n), *x = impls; x < impls + n; x++)
		assert_int_equal(csum_fold(x->fn(buf, len, 0)), want);
	for (i = 0; i < n; i++)
		assert_int_equal(csum_select(csum_impls(&n)[i].name), 0);
	assert_int_equal(csum_select("no-such-routine"), -ENOENT);
	free(buf);
}

/* Every routine against the scalar one on @len bytes at @p, from each of
 * the partial sums at the edges of 32 bits. */
static void check_edge_sums(const uint8_t *p, size_t len)
{
	static const uint32_t sums[] = {0,	     1,		  0xffff,     0x10000,
					0xfffeffffu, 0xfffffffeu, 0xffffffffu};
	const struct csum_impl *impls;
	size_t n, i, k;

	impls = csum_impls(&n);
	for (k = 0; k < sizeof(sums) / sizeof(sums[0]); k++) {
		uint16_t want = csum_fold(csum_partial_scalar(p, len, sums[k]));

		for (i = 1; i < n; i++) {
			uint16_t got = csum_fold(impls[i].fn(p, len, sums[k]));

			if (got != want)
				fail_msg("%s: len %zu at %zu mod 64, sum %08x: %04x, scalar %04x",
					 impls[i].name, len, (size_t)((uintptr_t)p % 64), sums[k],
					 got, want);
		}
	}
}

/* The lengths where the SIMD routines change path: around the integer
 * units' share of a round (288 bytes), a 64 KiB block and several blocks,
 * at even, odd and 32-byte-crossing offsets; random bytes, then all 0xff
 * (a carry out of every 64-bit addition). */
static void test_csum_block_edges(void **state)
{
	static const size_t bases[] = {288, 576, 1440, 65536, 131072, 196608};
	static const size_t offs[] = {0, 1, 2, 30, 31, 33, 62};
	size_t cap = 196608 + 128, b, o, d;
	uint8_t *buf = aligned_alloc(64, cap);
	unsigned int seed = 0x5eed;
	int pattern;

	(void)state;
	assert_non_null(buf);
	for (pattern = 0; pattern < 2; pattern++) {
		if (pattern)
			memset(buf, 0xff, cap);
		else
			fill_random(buf, cap, &seed);
		for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
			for (d = 0; d <= 64; d++) {
				/* Every length near the small bases, a sample near the big. */
				if (bases[b] > 2048 && d % 8 && d != 31 && d != 33)
					continue;
				for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
					check_edge_sums(buf + offs[o], bases[b] + d - 32);
			}
		}
	}
	free(buf);
}

static void test_csum_ipv4_header(void **state)
{
	/* 20-byte header plus 4 bytes of options (NOP NOP NOP EOL): ihl 6. */
	uint8_t h[24] = {0x46, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
			 0x0a, 0x01, 0x02, 0x03, 0xc0, 0xa8, 0x07, 0x09, 0x01, 0x01, 0x01, 0x00};
	uint16_t c;

	(void)state;
	c = csum_ipv4_hdr(h, sizeof(h));
	assert_int_equal(wire16(c), (uint16_t)~ref_sum(h, sizeof(h), 0));
	memcpy(h + 10, &c, 2);
	assert_int_equal(ref_sum(h, sizeof(h), 0), 0xffff);
	assert_int_equal(csum_fold(csum_partial(h, sizeof(h), 0)), 0);
}

static void build_udp(uint8_t *udp, size_t len, unsigned int *seed)
{
	fill_random(udp + 8, len - 8, seed);
	udp[0] = 0xc3, udp[1] = 0x50; /* 50000 */
	udp[2] = 0x11, udp[3] = 0x51; /* 4433 */
	udp[4] = (uint8_t)(len >> 8), udp[5] = (uint8_t)len;
	udp[6] = udp[7] = 0;
}

static void test_csum_udp_ipv4(void **state)
{
	static const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 200, 0, 254};
	uint8_t pseudo[12 + 1500], udp[1500];
	unsigned int seed = 42;
	size_t len;

	(void)state;
	for (len = 8; len <= sizeof(udp); len += 97) {
		uint16_t c, ref;

		build_udp(udp, len, &seed);
		/* The pseudo-header laid out byte by byte, as RFC 768 draws it. */
		memcpy(pseudo, src, 4);
		memcpy(pseudo + 4, dst, 4);
		pseudo[8] = 0, pseudo[9] = IPPROTO_UDP;
		pseudo[10] = (uint8_t)(len >> 8), pseudo[11] = (uint8_t)len;
		memcpy(pseudo + 12, udp, len);
		ref = (uint16_t)~ref_sum(pseudo, 12 + len, 0);
		if (!ref)
			ref = 0xffff;

		c = csum_udp4(src, dst, udp, len);
		assert_int_equal(wire16(c), ref);
		memcpy(udp + 6, &c, 2);
		assert_true(csum_udp4_ok(src, dst, udp, len));
		udp[len - 1] ^= 0x20;
		assert_false(csum_udp4_ok(src, dst, udp, len));
	}
}

static void test_csum_udp_ipv6(void **state)
{
	static const uint8_t src[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t dst[16] = {0xfd, 0, 0xbe, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	uint8_t pseudo[40 + 1500], udp[1500];
	unsigned int seed = 4242;
	size_t len;

	(void)state;
	for (len = 8; len <= sizeof(udp); len += 89) {
		uint16_t c, ref;

		build_udp(udp, len, &seed);
		/* RFC 8200 section 8.1: addresses, 32-bit length, 3 zeros, next header. */
		memcpy(pseudo, src, 16);
		memcpy(pseudo + 16, dst, 16);
		pseudo[32] = 0, pseudo[33] = 0;
		pseudo[34] = (uint8_t)(len >> 8), pseudo[35] = (uint8_t)len;
		pseudo[36] = pseudo[37] = pseudo[38] = 0, pseudo[39] = IPPROTO_UDP;
		memcpy(pseudo + 40, udp, len);
		ref = (uint16_t)~ref_sum(pseudo, 40 + len, 0);
		if (!ref)
			ref = 0xffff;

		c = csum_udp6(src, dst, udp, len);
		assert_int_equal(wire16(c), ref);
		memcpy(udp + 6, &c, 2);
		assert_true(csum_udp6_ok(src, dst, udp, len));
		udp[len - 1] ^= 0x01;
		assert_false(csum_udp6_ok(src, dst, udp, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_baseline_simd_listed),
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_fold_edges),
		cmocka_unit_test(test_csum_simd_equals_scalar),
		cmocka_unit_test(test_csum_large_buffer),
		cmocka_unit_test(test_csum_block_edges),
		cmocka_unit_test(test_csum_ipv4_header),
		cmocka_unit_test(test_csum_udp_ipv4),
		cmocka_unit_test(test_csum_udp_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
