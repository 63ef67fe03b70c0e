// SPDX-License-Identifier: MIT
/*
 * prom.c - Prometheus text exposition format writer (see prom.h).
 */
#include "prom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[PROM__MAX] = {
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

void prom_buf_init(struct prom_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void prom_buf_fini(struct prom_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool prom_reserve(struct prom_buf *b, size_t more)
{
	size_t cap;
	char *data;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !prom_reserve(b, n))
		return;

	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

void prom_family(struct prom_buf *b, const char *name, enum prom_type type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type_names[type]);
}

/* Append @s escaped for a label value; returns false when @out is full. */
static bool append_escaped(char *out, size_t len, size_t *pos, const char *s)
{
	for (; *s; s++) {
		const char *esc = *s == '\\'   ? "\\\\"
				  : *s == '"'  ? "\\\""
				  : *s == '\n' ? "\\n"
					       : NULL;
		size_t n = esc ? 2 : 1;

		if (*pos + n >= len)
			return false;
		if (esc)
			memcpy(out + *pos, esc, 2);
		else
			out[*pos] = *s;
		*pos += n;
	}
	return true;
}

int prom_labels(char *out, size_t len, ...)
{
	const char *key, *value;
	size_t pos = 0;
	va_list ap;
	int err = 0;

	if (!len)
		return -ENOSPC;
	va_start(ap, len);
	while ((key = va_arg(ap, const char *))) {
		value = va_arg(ap, const char *);
		if (!value)
			value = "";
		if (pos + strlen(key) + 3 >= len) {
			err = -ENOSPC;
			break;
		}
		pos += sprintf(out + pos, "%s%s=\"", pos ? "," : "", key);
		if (!append_escaped(out, len, &pos, value) || pos + 1 >= len) {
			err = -ENOSPC;
			break;
		}
		out[pos++] = '"';
	}
	va_end(ap);
	out[err ? 0 : pos] = '\0';
	return err;
}

void prom_sample_u64(struct prom_buf *b, const char *name, const char *labels, uint64_t value)
{
	if (labels && *labels)
		prom_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		prom_printf(b, "%s %llu\n", name, (unsigned long long)value);
}

void prom_sample_double(struct prom_buf *b, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		prom_printf(b, "%s{%s} %.9g\n", name, labels, value);
	else
		prom_printf(b, "%s %.9g\n", name, value);
}

void prom_histogram(struct prom_buf *b, const char *name, const char *labels,
		    const struct beam_hist *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cumulative = 0;
	int i;

	if (!labels)
		labels = "";
	/* Buckets below PROM_HIST_FIRST fold into the first one shown. */
	for (i = 0; i < PROM_HIST_FIRST; i++)
		cumulative += h->buckets[i];
	for (i = PROM_HIST_FIRST; i <= PROM_HIST_LAST; i++) {
		/* Bucket i holds 2^i <= v < 2^(i+1) ns: its upper bound is 2^(i+1) ns. */
		double le = (double)(1ull << (i + 1)) / 1e9;

		cumulative += h->buckets[i];
		prom_printf(b, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, labels, sep, le,
			    (unsigned long long)cumulative);
	}
	for (; i < BEAM_HIST_BUCKETS; i++)
		cumulative += h->buckets[i];
	/* count is updated apart from the buckets; never let +Inf fall below a bucket. */
	if (cumulative < h->count)
		cumulative = h->count;
	prom_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		    (unsigned long long)cumulative);
	if (*labels) {
		prom_printf(b, "%s_sum{%s} %.9g\n", name, labels, h->sum_ns / 1e9);
		prom_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cumulative);
	} else {
		prom_printf(b, "%s_sum %.9g\n", name, h->sum_ns / 1e9);
		prom_printf(b, "%s_count %llu\n", name, (unsigned long long)cumulative);
	}
}
