// SPDX-License-Identifier: MIT
/*
 * quic_pn.c - packet number widening and freshness (see quic_pn.h).
 */
#include "quic_pn.h"

int64_t quic_pn_decode(int64_t largest, uint64_t truncated, unsigned int bits)
{
	int64_t expected = largest + 1, win = (int64_t)1 << bits, hwin = win / 2;
	int64_t cand = (expected & ~(win - 1)) | (int64_t)(truncated & (uint64_t)(win - 1));

	if (cand <= expected - hwin && cand < QUIC_PN_MAX - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

bool quic_pn_from_short_header(const uint8_t *hdr, size_t len, uint64_t *truncated,
			       unsigned int *bits)
{
	size_t n, i;

	if (!len || (hdr[0] & 0x80))
		return false;
	n = (size_t)(hdr[0] & 0x03) + 1;
	if (len < 1 + n)
		return false;
	*truncated = 0;
	for (i = len - n; i < len; i++)
		*truncated = *truncated << 8 | hdr[i];
	*bits = (unsigned int)n * 8;
	return true;
}

bool quic_pn_advance(int64_t *largest, int64_t pn)
{
	if (pn <= *largest)
		return false;
	*largest = pn;
	return true;
}
