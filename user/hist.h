/* SPDX-License-Identifier: MIT */
/*
 * hist.h - recording samples into beam's log2 histograms (struct beam_hist,
 * the values of the `latency` map). Lock-free: workers record concurrently
 * into a shared (often mmapped) histogram with relaxed atomic adds.
 */
#ifndef BEAM_HIST_H
#define BEAM_HIST_H

#include <stdint.h>

#include "beam_maps.h"

/* The bucket a sample of @ns nanoseconds falls in: floor(log2(ns)), 0 for 0 and 1. */
static inline unsigned int hist_bucket(uint64_t ns)
{
	return ns > 1 ? 63u - (unsigned int)__builtin_clzll(ns) : 0u;
}

/* Record one sample of @ns nanoseconds into @h. */
static inline void hist_record(struct beam_hist *h, uint64_t ns)
{
	__atomic_fetch_add(&h->buckets[hist_bucket(ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

#endif /* BEAM_HIST_H */
