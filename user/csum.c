// SPDX-License-Identifier: MIT
/*
 * csum.c - RFC 1071 Internet checksum: a scalar routine with deferred carries
 * (RFC 1071 section 2(C)) and SIMD routines that add 16-bit words into 32-bit
 * vector lanes (pmaddwd on x86, vpadal on arm64), picked at run time by what
 * the CPU reports.
 *
 * Every routine keeps its lane accumulators from overflowing by working in
 * blocks of at most CSUM_BLOCK bytes and folding each block into a 64-bit
 * total; the last bytes that do not fill a vector go through the scalar code.
 */
#include "csum.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* A 32-bit lane moves by at most 2 * 0xffff per vector it sees; 64 KiB
 * blocks keep it far inside 32 bits whatever the vector width. */
#define CSUM_BLOCK (64u * 1024u)

static inline uint32_t csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * 32-bit words into a 64-bit accumulator, so carries are deferred to the end.
 * Kept scalar on purpose (no auto-vectorization): it is the reference the SIMD
 * routines are measured and tested against.
 */
__attribute__((optimize("no-tree-vectorize"))) uint32_t
csum_partial_scalar(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t total = sum;

	while (len >= 16) {
		/* A 64-bit total absorbs 2^32 words: fold well before that. */
		size_t chunk = len < (1u << 30) ? len & ~(size_t)15 : (1u << 30);
		uint64_t s0 = 0, s1 = 0;
		size_t i;

		for (i = 0; i < chunk; i += 16) {
			s0 += load32(p + i);
			s1 += load32(p + i + 4);
			s0 += load32(p + i + 8);
			s1 += load32(p + i + 12);
		}
		total = (uint64_t)csum_fold64(total) + csum_fold64(s0) + csum_fold64(s1);
		p += chunk;
		len -= chunk;
	}
	while (len >= 4) {
		total += load32(p);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		total += load16(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		total += load16(last);
	}
	return csum_fold64(total);
}

#if defined(__x86_64__)

/* Sum of the four signed 32-bit lanes of @v (SSE2 has no sign extension:
 * the sign words come from a compare). */
__attribute__((target("sse2"))) static int64_t csum_hsum_sse2(__m128i v)
{
	__m128i sign = _mm_cmpgt_epi32(_mm_setzero_si128(), v);
	__m128i s = _mm_add_epi64(_mm_unpacklo_epi32(v, sign), _mm_unpackhi_epi32(v, sign));

	return _mm_cvtsi128_si64(s) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}

/* The same vpmaddwd trick as the AVX2 routine below, 16 bytes at a time. */
__attribute__((target("sse2"))) static uint32_t csum_partial_sse2(const void *buf, size_t len,
								  uint32_t sum)
{
	const __m128i flip = _mm_set1_epi16((short)0x8000);
	const __m128i ones = _mm_set1_epi16(1);
	const uint8_t *p = buf;
	uint64_t total = sum;

	while (len >= 16) {
		size_t block = (len < CSUM_BLOCK ? len : CSUM_BLOCK) & ~(size_t)15;
		__m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
		size_t i = 0;

		for (; i + 64 <= block; i += 64) {
			__m128i v0 = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i v1 = _mm_loadu_si128((const __m128i *)(p + i + 16));
			__m128i v2 = _mm_loadu_si128((const __m128i *)(p + i + 32));
			__m128i v3 = _mm_loadu_si128((const __m128i *)(p + i + 48));

			s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_xor_si128(v0, flip), ones));
			s1 = _mm_add_epi32(s1, _mm_madd_epi16(_mm_xor_si128(v1, flip), ones));
			s2 = _mm_add_epi32(s2, _mm_madd_epi16(_mm_xor_si128(v2, flip), ones));
			s3 = _mm_add_epi32(s3, _mm_madd_epi16(_mm_xor_si128(v3, flip), ones));
		}
		for (; i < block; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(p + i));

			s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_xor_si128(v, flip), ones));
		}
		/* At most 4096 vectors per block: the total stays within +-2^28. */
		s0 = _mm_add_epi32(_mm_add_epi32(s0, s1), _mm_add_epi32(s2, s3));
		total = csum_fold64(total) +
			(uint64_t)(csum_hsum_sse2(s0) + (int64_t)(block / 16) * 4 * 65536);
		p += block;
		len -= block;
	}
	return csum_partial_scalar(p, len, csum_fold64(total));
}

/* Sum of the eight 32-bit lanes of @v, modulo 2^32. */
__attribute__((target("avx2"))) static uint32_t csum_hsum_avx2(__m256i v)
{
	__m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
	return (uint32_t)_mm_cvtsi128_si32(h);
}

/* 32 bytes of zeros, 32 of ones, 32 of zeros. A 32-byte load at offset k
 * keeps the last k bytes of a vector (tail, 0 < k < 32); at offset 64 - k it
 * keeps the first k (head). */
static const uint8_t csum_mask_avx2[96] __attribute__((aligned(64))) = {
	[32 ... 63] = 0xff,
};

/* One's complement addition of two 32-bit partial sums, two instructions
 * long, so a sum that arrives late (the @sum argument) adds little latency. */
static inline uint32_t csum_add_eac(uint32_t a, uint32_t b)
{
	__asm__("addl %1, %0\n\tadcl $0, %0" : "+r"(a) : "r"(b) : "cc");
	return a;
}

/* Bytes per round of the AVX2 loop: eight vectors, then four 64-bit words
 * for the integer units. */
#define CSUM_AVX2_ROUND 288

/* The four vectors from @off bytes past %[q]: flip each, pair its words into
 * 32-bit lanes, add the four in a tree, add that into accumulator @acc. */
/* clang-format off */
#define CSUM_AVX2_QUAD(off, t, u, v, w, acc)				\
	"vpxor " #off "(%[q]), %[flip], %%" #t "\n\t"			\
	"vpxor " #off "+32(%[q]), %[flip], %%" #u "\n\t"		\
	"vpxor " #off "+64(%[q]), %[flip], %%" #v "\n\t"		\
	"vpxor " #off "+96(%[q]), %[flip], %%" #w "\n\t"		\
	"vpmaddwd %[ones], %%" #t ", %%" #t "\n\t"			\
	"vpmaddwd %[ones], %%" #u ", %%" #u "\n\t"			\
	"vpmaddwd %[ones], %%" #v ", %%" #v "\n\t"			\
	"vpmaddwd %[ones], %%" #w ", %%" #w "\n\t"			\
	"vpaddd %%" #t ", %%" #u ", %%" #t "\n\t"			\
	"vpaddd %%" #v ", %%" #w ", %%" #v "\n\t"			\
	"vpaddd %%" #t ", %%" #v ", %%" #t "\n\t"			\
	"vpaddd %%" #t ", %[" #acc "], %[" #acc "]\n\t"
/* clang-format on */

/* Flipped, word-paired sum of the 32 bytes at @ptr. */
#define CSUM_AVX2_VEC(ptr) \
	_mm256_madd_epi16(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(ptr)), flip), ones)

/*
 * vpmaddwd adds adjacent 16-bit words into 32-bit lanes in one instruction,
 * but reads them as signed. Flipping each word's top bit (x ^ 0x8000 is
 * x - 32768 read as signed) makes every word come out 32768 short: a fixed
 * 65536 per lane per vector, added back at the end from the vector count.
 *
 * Three vector operations per 32 bytes fill Zen 3's four vector pipes, so
 * each round of 288 bytes also gives 32 to the integer units, which are
 * idle otherwise: add/adc over four 64-bit words, the carry out counted in
 * @ca (more than 32 was slower: 64 per round measured 3.5x instead of 4x).
 * Mod 2^64 - 1 (a multiple of 0xffff) a carry out is worth 1, so the 64-bit
 * sum folded plus the carry count is the words' sum.
 *
 * Line-splitting loads cost both units dearly, so an even buffer is first
 * brought to a 32-byte boundary: the 2-30 bytes before it come from one
 * masked load at the start of the buffer. An odd address keeps unaligned
 * loads (an odd head would pair the rest's bytes the other way round). The
 * 1-31 bytes after the last whole vector come from one load that ends at the
 * buffer's end, the bytes counted already masked to zero; masked words count
 * as 32768 short like every other word. An odd length's last byte is added
 * on its own, as the low byte of a word (x86 is little-endian).
 *
 * @len is 32..CSUM_BLOCK after an odd last byte is set aside: no lane
 * moves by more than 2^27, and the words' sum (under 2^31) comes out exact
 * from 32-bit arithmetic once the flip is added back. @sum is added last,
 * so a caller's chain of partial sums waits two instructions per call, not
 * the whole routine.
 */
__attribute__((target("avx2"), always_inline)) static inline uint32_t
csum_block_avx2(const uint8_t *p, size_t len, uint32_t sum)
{
	__m256i flip = _mm256_set1_epi16((short)0x8000);
	__m256i ones = _mm256_set1_epi16(1);
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
	uint32_t nvec = 0, x;
	uint64_t a = 0, ca = 0, y;
	size_t head, rounds;

	/* Kept in registers: rebuilding them before each use (gcc's choice)
	 * puts a broadcast's latency in front of every step of the tail. */
	__asm__("" : "+x"(flip), "+x"(ones));
	/* An odd last byte joins the carry count: both are plain addends. */
	if (len & 1)
		ca = p[--len];
	head = -(uintptr_t)p & 31;
	if (head && !(head & 1)) {
		__m256i m = _mm256_loadu_si256((const __m256i *)(csum_mask_avx2 + 64 - head));
		__m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)p), m);

		s3 = _mm256_madd_epi16(_mm256_xor_si256(v, flip), ones);
		nvec = 1;
		p += head;
		len -= head;
	}
	rounds = len / CSUM_AVX2_ROUND;
	/* Every 32 bytes or part of them is one vector, but for the integer
	 * units' share of each round. */
	nvec += (uint32_t)((len + 31) / 32 - rounds);
	if (rounds) {
		len -= rounds * CSUM_AVX2_ROUND;
		/* The loop starts on a 64-byte boundary, so how it is fetched does
		 * not change with where the linker puts this function. */
		/* clang-format off */
		__asm__(".p2align 6\n1:\n\t"
			CSUM_AVX2_QUAD(0, ymm8, ymm9, ymm10, ymm11, s0)
			CSUM_AVX2_QUAD(128, ymm12, ymm13, ymm14, ymm15, s1)
			"addq 256(%[q]), %[a]\n\t"
			"adcq 264(%[q]), %[a]\n\t"
			"adcq 272(%[q]), %[a]\n\t"
			"adcq 280(%[q]), %[a]\n\t"
			"adcq $0, %[ca]\n\t"
			"addq $288, %[q]\n\t"
			"subq $1, %[n]\n\t"
			"jnz 1b"
			: [q] "+r"(p), [n] "+r"(rounds), [s0] "+x"(s0), [s1] "+x"(s1),
			  [a] "+r"(a), [ca] "+r"(ca)
			: [flip] "x"(flip), [ones] "x"(ones),
			  "m"(*(const uint8_t(*)[CSUM_BLOCK])p)
			: "cc", "xmm8", "xmm9", "xmm10", "xmm11",
			  "xmm12", "xmm13", "xmm14", "xmm15");
		/* clang-format on */
	}
	while (len >= 128) {
		s0 = _mm256_add_epi32(s0,
				      _mm256_add_epi32(CSUM_AVX2_VEC(p), CSUM_AVX2_VEC(p + 32)));
		s1 = _mm256_add_epi32(
			s1, _mm256_add_epi32(CSUM_AVX2_VEC(p + 64), CSUM_AVX2_VEC(p + 96)));
		p += 128;
		len -= 128;
	}
	if (len >= 64) {
		s2 = _mm256_add_epi32(s2,
				      _mm256_add_epi32(CSUM_AVX2_VEC(p), CSUM_AVX2_VEC(p + 32)));
		p += 64;
		len -= 64;
	}
	if (len >= 32) {
		s3 = _mm256_add_epi32(s3, CSUM_AVX2_VEC(p));
		p += 32;
		len -= 32;
	}
	if (len) {
		/* The 32 bytes ending at the buffer's end; only the last @len are new. */
		__m256i m = _mm256_loadu_si256((const __m256i *)(csum_mask_avx2 + len));
		__m256i v =
			_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + len - 32)), m);

		s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_xor_si256(v, flip), ones));
	}
	s0 = _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3));
	x = csum_hsum_avx2(s0) + nvec * 8 * 65536;
	y = (uint64_t)csum_fold64(a) + ca;
	return csum_add_eac(x, csum_add_eac(csum_fold64(y), sum));
}

/* Buffers over CSUM_BLOCK, block by block (kept out of line so the common
 * case stays small). */
__attribute__((target("avx2"), noinline)) static uint32_t
csum_partial_avx2_long(const uint8_t *p, size_t len, uint32_t sum)
{
	while (len > CSUM_BLOCK) {
		sum = csum_block_avx2(p, CSUM_BLOCK, sum);
		p += CSUM_BLOCK;
		len -= CSUM_BLOCK;
	}
	if (len < 32)
		return csum_partial_scalar(p, len, sum);
	return csum_block_avx2(p, len, sum);
}

/*
 * On Zen 3 (bench/csum-speed, frames at offset 2) this is 4.0-4.1x the scalar
 * routine at 1500 bytes and 5.2x at 9000. The 1500-byte figure moves by a few
 * per cent with code layout (gcc's register choices, a callee-saved register
 * pushed): measure after any change here.
 */
__attribute__((target("avx2"))) static uint32_t csum_partial_avx2(const void *buf, size_t len,
								  uint32_t sum)
{
	if (len < 33)
		return csum_partial_scalar(buf, len, sum);
	if (len > CSUM_BLOCK)
		return csum_partial_avx2_long(buf, len, sum);
	return csum_block_avx2(buf, len, sum);
}

#elif defined(__aarch64__)

static uint32_t csum_partial_neon(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t total = sum;

	while (len >= 64) {
		size_t block = (len < CSUM_BLOCK ? len : CSUM_BLOCK) & ~(size_t)63;
		uint32x4_t s0 = vdupq_n_u32(0), s1 = s0, s2 = s0, s3 = s0;
		size_t i;

		for (i = 0; i < block; i += 64) {
			/* vpadalq: adjacent 16-bit words summed into 32-bit lanes. */
			s0 = vpadalq_u16(s0, vreinterpretq_u16_u8(vld1q_u8(p + i)));
			s1 = vpadalq_u16(s1, vreinterpretq_u16_u8(vld1q_u8(p + i + 16)));
			s2 = vpadalq_u16(s2, vreinterpretq_u16_u8(vld1q_u8(p + i + 32)));
			s3 = vpadalq_u16(s3, vreinterpretq_u16_u8(vld1q_u8(p + i + 48)));
		}
		total = csum_fold64(total);
		total += vaddlvq_u32(s0) + vaddlvq_u32(s1);
		total += vaddlvq_u32(s2) + vaddlvq_u32(s3);
		p += block;
		len -= block;
	}
	return csum_partial_scalar(p, len, csum_fold64(total));
}

#endif

static struct csum_impl csum_usable[4];
static size_t csum_nusable;
static csum_fn csum_active = csum_partial_scalar;

__attribute__((constructor)) static void csum_init(void)
{
	csum_usable[csum_nusable++] = (struct csum_impl){"scalar", csum_partial_scalar};
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse2"))
		csum_usable[csum_nusable++] = (struct csum_impl){"sse2", csum_partial_sse2};
	if (__builtin_cpu_supports("avx2"))
		csum_usable[csum_nusable++] = (struct csum_impl){"avx2", csum_partial_avx2};
#elif defined(__aarch64__)
	/* Advanced SIMD is part of every ARMv8-A core. */
	csum_usable[csum_nusable++] = (struct csum_impl){"neon", csum_partial_neon};
#endif
	/* The last one listed is the widest. */
	csum_active = csum_usable[csum_nusable - 1].fn;
}

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	csum_fn fn = __atomic_load_n(&csum_active, __ATOMIC_RELAXED);

	return fn(buf, len, sum);
}

const struct csum_impl *csum_impls(size_t *n)
{
	*n = csum_nusable;
	return csum_usable;
}

const char *csum_impl_name(void)
{
	csum_fn fn = __atomic_load_n(&csum_active, __ATOMIC_RELAXED);
	size_t i;

	for (i = 0; i < csum_nusable; i++)
		if (csum_usable[i].fn == fn)
			return csum_usable[i].name;
	return "scalar";
}

int csum_select(const char *name)
{
	size_t i;

	for (i = 0; i < csum_nusable; i++) {
		if (!strcmp(csum_usable[i].name, name)) {
			__atomic_store_n(&csum_active, csum_usable[i].fn, __ATOMIC_RELAXED);
			return 0;
		}
	}
	return -ENOENT;
}

uint32_t csum_pseudo4(const void *saddr, const void *daddr, uint8_t proto, uint32_t len)
{
	uint64_t s = (uint64_t)load32(saddr) + load32(daddr);

	/* Zero byte, protocol, then a 16-bit length: as 16-bit words in memory
	 * order these are htons(proto) and htons(len). */
	s += htons(proto);
	s += htons((uint16_t)len);
	return csum_fold64(s);
}

uint32_t csum_pseudo6(const void *saddr, const void *daddr, uint8_t proto, uint32_t len)
{
	const uint8_t *s8 = saddr, *d8 = daddr;
	uint64_t s = 0;
	int i;

	for (i = 0; i < 16; i += 4)
		s += (uint64_t)load32(s8 + i) + load32(d8 + i);
	/* A 32-bit length, three zero bytes and the next header value. */
	s += htons((uint16_t)(len >> 16));
	s += htons((uint16_t)len);
	s += htons(proto);
	return csum_fold64(s);
}

uint16_t csum_ipv4_hdr(const void *hdr, size_t len)
{
	return csum_fold(csum_partial_scalar(hdr, len, 0));
}

static uint16_t csum_udp_finish(uint32_t pseudo, const void *udp, size_t len)
{
	uint16_t c = csum_fold(csum_partial(udp, len, pseudo));

	return c ? c : 0xffff;
}

uint16_t csum_udp4(const void *saddr, const void *daddr, const void *udp, size_t len)
{
	return csum_udp_finish(csum_pseudo4(saddr, daddr, IPPROTO_UDP, len), udp, len);
}

uint16_t csum_udp6(const void *saddr, const void *daddr, const void *udp, size_t len)
{
	return csum_udp_finish(csum_pseudo6(saddr, daddr, IPPROTO_UDP, len), udp, len);
}

bool csum_udp4_ok(const void *saddr, const void *daddr, const void *udp, size_t len)
{
	return csum_fold(csum_partial(udp, len, csum_pseudo4(saddr, daddr, IPPROTO_UDP, len))) == 0;
}

bool csum_udp6_ok(const void *saddr, const void *daddr, const void *udp, size_t len)
{
	return csum_fold(csum_partial(udp, len, csum_pseudo6(saddr, daddr, IPPROTO_UDP, len))) == 0;
}
