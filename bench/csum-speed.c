// SPDX-License-Identifier: MIT
/*
 * csum-speed.c - Internet checksum speed of each routine this CPU can run
 * (scalar, SSE2, AVX2 or NEON) on 64, 1500 and 9000-byte buffers, in GB/s,
 * and each SIMD routine's speed-up over the scalar one.
 *
 * For context it also times "naive16", RFC 1071's loop read literally (one
 * 16-bit word per addition, no unrolling), which is not part of beam: the
 * module's scalar routine (deferred carries over 32-bit words) is the
 * reference the speed-ups are given against.
 *
 * Prints "csum-<routine>-<size> <GB/s> GB/s" lines, then one JSON object on
 * the last line when given --json. The buffer stays in L1/L2 on purpose: the
 * AF_XDP path checksums frames it just wrote.
 */
#include "csum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUN_SECONDS 0.3
#define ROUNDS	    3

static const size_t sizes[] = {64, 1500, 9000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

__attribute__((optimize("no-tree-vectorize"))) static uint32_t naive16(const void *buf, size_t len,
								       uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	uint16_t w;

	for (; len > 1; len -= 2, p += 2) {
		memcpy(&w, p, 2);
		s += w;
	}
	if (len)
		s += *p; /* little-endian: the odd byte is the low one */
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Best of ROUNDS runs of RUN_SECONDS each: other work on the machine only
 * ever makes a run slower. */
static double bench_one(csum_fn fn, const uint8_t *buf, size_t len)
{
	double best = 0;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		volatile uint32_t sink = 0;
		double start = now_s(), elapsed;
		unsigned long n = 0;

		do {
			for (int i = 0; i < 4096; i++, n++)
				sink = fn(buf, len, sink);
			elapsed = now_s() - start;
		} while (elapsed < RUN_SECONDS);
		if (n * (double)len / elapsed / 1e9 > best)
			best = n * (double)len / elapsed / 1e9;
	}
	return best;
}

int main(int argc, char **argv)
{
	double gbps[8][NSIZES];
	const struct csum_impl *impls;
	uint8_t *buf;
	size_t n, i, s;
	int json = argc > 1 && !strcmp(argv[1], "--json");

	impls = csum_impls(&n);
	if (n > 8)
		n = 8;
	buf = aligned_alloc(64, 9024);
	if (!buf) {
		fprintf(stderr, "csum-speed: out of memory\n");
		return 1;
	}
	for (i = 0; i < 9024; i++)
		buf[i] = (uint8_t)(i * 131 + 7);

	for (i = 0; i < n; i++) {
		for (s = 0; s < NSIZES; s++) {
			/* Offset 2: an Ethernet frame's IP header starts at 14. */
			gbps[i][s] = bench_one(impls[i].fn, buf + 2, sizes[s]);
			printf("csum-%s-%zu %.2f GB/s", impls[i].name, sizes[s], gbps[i][s]);
			if (i)
				printf(" (%.1fx scalar)", gbps[i][s] / gbps[0][s]);
			printf("\n");
		}
	}
	for (s = 0; s < NSIZES; s++) {
		double naive = bench_one(naive16, buf + 2, sizes[s]);

		printf("csum-naive16-%zu %.2f GB/s (active %s: %.1fx naive16)\n", sizes[s], naive,
		       impls[n - 1].name, gbps[n - 1][s] / naive);
	}
	printf("csum-active %s\n", csum_impl_name());

	if (json) {
		printf("{\"csum_active\":\"%s\",\"csum_gbps\":{", csum_impl_name());
		for (i = 0; i < n; i++) {
			printf("%s\"%s\":{", i ? "," : "", impls[i].name);
			for (s = 0; s < NSIZES; s++)
				printf("%s\"%zu\":%.3f", s ? "," : "", sizes[s], gbps[i][s]);
			printf("}");
		}
		printf("}}\n");
	}
	free(buf);
	return 0;
}
