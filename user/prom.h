/* SPDX-License-Identifier: MIT */
/*
 * prom.h - Prometheus text exposition format 0.0.4 writer.
 *
 * Builds the body of a /metrics answer in a growable buffer: metric families
 * (HELP and TYPE lines), samples with escaped labels, and histograms made
 * from beam's log2 nanosecond histograms (struct beam_hist), in seconds.
 * No I/O and no libevent here, so the format is unit-tested on its own.
 */
#ifndef BEAM_PROM_H
#define BEAM_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam_maps.h"

enum prom_type {
	PROM_COUNTER = 0,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM__MAX,
};

/* A growable text buffer; @failed is set once an allocation failed and stays set. */
struct prom_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

/* Longest label set prom_labels() builds, escaped, without braces. */
#define PROM_LABELS_MAX 512

void prom_buf_init(struct prom_buf *b);
void prom_buf_fini(struct prom_buf *b);

/* Append printf-style text; on allocation failure sets b->failed. */
void prom_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type"; @help must not contain newlines. */
void prom_family(struct prom_buf *b, const char *name, enum prom_type type, const char *help);

/*
 * Build a label set from NULL-terminated (key, value) string pairs into @out
 * (PROM_LABELS_MAX bytes): `k1="v1",k2="v2"`, values escaped (\\, \", \n).
 * Returns 0, or -ENOSPC when it does not fit (out is then empty).
 */
int prom_labels(char *out, size_t len, ...) __attribute__((sentinel));

/* One sample; @labels from prom_labels() or NULL/"" for none. */
void prom_sample_u64(struct prom_buf *b, const char *name, const char *labels, uint64_t value);
void prom_sample_double(struct prom_buf *b, const char *name, const char *labels, double value);

/*
 * A histogram's samples: name_bucket{...,le="..."} (cumulative, in seconds,
 * ending with +Inf), name_sum (seconds) and name_count. The family line is
 * the caller's (one family may hold several label sets).
 */
void prom_histogram(struct prom_buf *b, const char *name, const char *labels,
		    const struct beam_hist *h);

/* First and last log2 bucket shown as its own `le`: 2^10 ns (~1 us) to 2^36 ns (~69 s). */
#define PROM_HIST_FIRST 9
#define PROM_HIST_LAST	35

#endif /* BEAM_PROM_H */
