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

#define SLICE_SECONDS 0.03
#define ROUNDS	      15

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

/* Thread CPU time: while another program has the CPU, the clock stops, so
 * a routine is not charged for time it did not run. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One run of about SLICE_SECONDS of CPU time: GB/s. */
static double run_once(csum_fn fn, const uint8_t *buf, size_t len)
{
	volatile uint32_t sink = 0;
	double start = now_s(), elapsed;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 1024; i++, n++)
			sink = fn(buf, len, sink);
		elapsed = now_s() - start;
	} while (elapsed < SLICE_SECONDS);
	return n * (double)len / elapsed / 1e9;
}

/* Every routine of @impls (and naive16 last) in turn, ROUNDS times, so load
 * from elsewhere falls on all of them alike; each keeps its best round
 * (other work on the machine only ever makes a run slower). */
static void bench_size(const struct csum_impl *impls, size_t n, const uint8_t *buf, size_t len,
		       double *best, double *naive_best)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		best[i] = 0;
	*naive_best = 0;
	for (r = 0; r < ROUNDS; r++) {
		double v;

		for (i = 0; i < n; i++) {
			v = run_once(impls[i].fn, buf, len);
			if (v > best[i])
				best[i] = v;
		}
		v = run_once(naive16, buf, len);
		if (v > *naive_best)
			*naive_best = v;
	}
}

int main(int argc, char **argv)
{
	double gbps[8][NSIZES], naive[NSIZES];
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

	for (s = 0; s < NSIZES; s++) {
		double best[8];

		/* Offset 2: an Ethernet frame's IP header starts at 14. */
		bench_size(impls, n, buf + 2, sizes[s], best, &naive[s]);
		for (i = 0; i < n; i++)
			gbps[i][s] = best[i];
	}
	for (i = 0; i < n; i++) {
		for (s = 0; s < NSIZES; s++) {
			printf("csum-%s-%zu %.2f GB/s", impls[i].name, sizes[s], gbps[i][s]);
			if (i)
				printf(" (%.1fx scalar)", gbps[i][s] / gbps[0][s]);
			printf("\n");
		}
	}
	for (s = 0; s < NSIZES; s++)
		printf("csum-naive16-%zu %.2f GB/s (active %s: %.1fx naive16)\n", sizes[s],
		       naive[s], impls[n - 1].name, gbps[n - 1][s] / naive[s]);
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
