/* SPDX-License-Identifier: MIT */
/*
 * csum.h - the Internet checksum (RFC 1071) for the headers beam builds and
 * checks in user space (AF_XDP back end): one portable scalar routine and
 * SIMD routines (AVX2 and SSE2 on x86-64, NEON on arm64), the best one picked
 * at run time from what the CPU has.
 *
 * Sums are kept in the machine's byte order, as loaded from memory (RFC 1071
 * section 2(B): the one's complement sum does not depend on byte order), so a
 * folded checksum is stored into a header as is, with memcpy or a plain
 * 16-bit store, never through htons().
 */
#ifndef BEAM_CSUM_H
#define BEAM_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One way to compute a partial sum; see csum_partial(). */
typedef uint32_t (*csum_fn)(const void *buf, size_t len, uint32_t sum);

struct csum_impl {
	const char *name; /* "scalar", "sse2", "avx2", "neon" */
	csum_fn fn;
};

/*
 * Add the 16-bit words of @buf (@len bytes, any alignment) to the partial sum
 * @sum and return the new partial sum (not complemented, not fully folded).
 * An odd last byte counts as if followed by a zero byte; so when partial sums
 * of several pieces are chained, only the last piece may have an odd length.
 * Uses the routine chosen at run time.
 */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

/* The portable scalar routine, the reference the SIMD ones are held to. */
uint32_t csum_partial_scalar(const void *buf, size_t len, uint32_t sum);

/* Add two partial sums (one's complement addition). */
static inline uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s + (s < a);
}

/* Fold a partial sum to 16 bits and complement it: the value to store in a
 * checksum field, or, summed over data that includes its checksum, 0 when
 * the data is intact. */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The routines usable on this CPU, scalar first; *@n gets their count. The
 * array is static. For tests and benchmarks.
 */
const struct csum_impl *csum_impls(size_t *n);

/* Name of the routine csum_partial() uses. */
const char *csum_impl_name(void);

/*
 * Make csum_partial() use the routine called @name (tests, benchmarks, and a
 * way to rule SIMD out). Returns 0, or -ENOENT when this CPU has no such one.
 * Not thread safe against concurrent csum_partial() callers' expectations:
 * call it before workers start.
 */
int csum_select(const char *name);

/* Partial sums of the UDP/TCP pseudo-headers (RFC 768, RFC 8200 section 8.1).
 * Addresses in network byte order as in the IP header; @len in host order. */
uint32_t csum_pseudo4(const void *saddr, const void *daddr, uint8_t proto, uint32_t len);
uint32_t csum_pseudo6(const void *saddr, const void *daddr, uint8_t proto, uint32_t len);

/* Checksum of an IPv4 header of @len bytes whose checksum field is zero. */
uint16_t csum_ipv4_hdr(const void *hdr, size_t len);

/*
 * Checksum to store in a UDP header: over the pseudo-header and @len bytes of
 * UDP header and payload at @udp, whose checksum field must be zero. A result
 * of zero is sent as 0xffff (RFC 768), since zero means "none" over IPv4.
 */
uint16_t csum_udp4(const void *saddr, const void *daddr, const void *udp, size_t len);
uint16_t csum_udp6(const void *saddr, const void *daddr, const void *udp, size_t len);

/* True when a received UDP datagram (checksum field in place, non-zero) is
 * intact. */
bool csum_udp4_ok(const void *saddr, const void *daddr, const void *udp, size_t len);
bool csum_udp6_ok(const void *saddr, const void *daddr, const void *udp, size_t len);

#endif /* BEAM_CSUM_H */
