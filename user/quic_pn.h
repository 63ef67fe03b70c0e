/* SPDX-License-Identifier: MIT */
/*
 * quic_pn.h - QUIC packet numbers as a receiver sees them: the truncated
 * number of a short-header packet widened against the largest one received
 * (RFC 9000, A.3), and whether a packet is newer than all before it.
 *
 * ngtcp2 authenticates a packet before it drops it as a duplicate, and its
 * read call succeeds either way: quic.c uses this to tell a genuine packet
 * from a replay of one before it lets the packet vouch for its path.
 */
#ifndef BEAM_QUIC_PN_H
#define BEAM_QUIC_PN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_PN_MAX ((int64_t)1 << 62) /* packet numbers are below this */

/* The full packet number whose low @bits (8, 16, 24 or 32) are @truncated,
 * nearest to @largest + 1 (@largest: -1 when none was received yet). */
int64_t quic_pn_decode(int64_t largest, uint64_t truncated, unsigned int bits);

/*
 * The truncated packet number of a short-header packet from its header as
 * AEAD authenticates it (header protection removed): the first byte's low two
 * bits give its length, it ends the header. False for a long header or a
 * header too short to hold it.
 */
bool quic_pn_from_short_header(const uint8_t *hdr, size_t len, uint64_t *truncated,
			       unsigned int *bits);

/* Whether packet number @pn is above *@largest; if so it becomes the largest. */
bool quic_pn_advance(int64_t *largest, int64_t pn);

#endif /* BEAM_QUIC_PN_H */
