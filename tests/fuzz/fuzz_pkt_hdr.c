// SPDX-License-Identifier: MIT
/*
 * fuzz_pkt_hdr.c - libFuzzer target for the user-space Ethernet / VLAN / IP /
 * UDP parser the AF_XDP back end runs on every frame.
 *
 * A frame that parses must name a payload inside the frame, and building the
 * same headers again must give a frame that parses to the same addresses,
 * ports and payload. Random bytes rarely carry right checksums, so when the
 * first parse fails only on a checksum, the checksums are repaired in a copy
 * and the frame is parsed again: the fuzzer reaches the code behind them.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "pkt_hdr.h"

#define FRAME_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the IP header: past Ethernet and the tags the parser saw. */
static size_t ip_off(const uint8_t *f, size_t len)
{
	size_t off = 14;
	int i;

	for (i = 0; i < PKT_MAX_VLANS && off + 4 <= len; i++) {
		uint16_t type = be16(f + off - 2);

		if (type != 0x8100 && type != 0x88a8)
			break;
		off += 4;
	}
	return off;
}

/* Repair the IPv4 header checksum and the UDP checksum of a frame whose UDP
 * header follows the IP header directly. Returns false when it cannot. */
static bool fix_checksums(uint8_t *f, size_t len)
{
	size_t off = ip_off(f, len), ihl, udp, ulen;
	uint16_t c;

	if (off + 40 > len)
		return false;
	if (f[off] >> 4 == 4) {
		ihl = (size_t)(f[off] & 0x0f) * 4;
		if (ihl < 20 || off + ihl + 8 > len)
			return false;
		f[off + 10] = f[off + 11] = 0;
		c = csum_ipv4_hdr(f + off, ihl);
		memcpy(f + off + 10, &c, 2);
		udp = off + ihl;
		ulen = be16(f + udp + 4);
		if (ulen < 8 || udp + ulen > len)
			return true;
		f[udp + 6] = f[udp + 7] = 0;
		c = csum_udp4(f + off + 12, f + off + 16, f + udp, ulen);
		memcpy(f + udp + 6, &c, 2);
		return true;
	}
	if (f[off] >> 4 != 6 || f[off + 6] != 17)
		return false;
	udp = off + 40;
	if (udp + 8 > len)
		return false;
	ulen = be16(f + udp + 4);
	if (ulen < 8 || udp + ulen > len)
		return false;
	f[udp + 6] = f[udp + 7] = 0;
	c = csum_udp6(f + off + 8, f + off + 24, f + udp, ulen);
	memcpy(f + udp + 6, &c, 2);
	return true;
}

/* Whatever parsed must build again and parse to the same datagram. */
static void check_rebuild(const uint8_t *f, const struct pkt_udp *h)
{
	static uint8_t out[FRAME_MAX + 128];
	struct pkt_udp again;
	size_t hl = pkt_udp_hdr_len(h);
	int n;

	assert(hl <= 14 + PKT_MAX_VLANS * 4 + 40 + 8);
	memcpy(out + hl, f + h->payload_off, h->payload_len);
	n = pkt_build_udp(out, sizeof(out), h, h->payload_len);
	assert(n == (int)(hl + h->payload_len));
	assert(pkt_parse_udp(out, (size_t)n, 0, &again) == PKT_OK);
	assert(again.family == h->family && again.nvlan == h->nvlan);
	assert(again.sport == h->sport && again.dport == h->dport);
	assert(!memcmp(again.saddr, h->saddr, 16) && !memcmp(again.daddr, h->daddr, 16));
	assert(again.payload_len == h->payload_len);
	assert(!memcmp(out + again.payload_off, f + h->payload_off, h->payload_len));
	assert((again.tos & 3) == (h->tos & 3));
}

static void parse_one(const uint8_t *f, size_t len, unsigned int flags)
{
	struct pkt_udp h;
	enum pkt_err err;

	memset(&h, 0xa5, sizeof(h));
	err = pkt_parse_udp(f, len, flags, &h);
	assert((unsigned int)err < PKT_ERR__MAX);
	assert(pkt_strerror(err) != NULL);
	if (err != PKT_OK)
		return;
	assert(h.family == AF_INET || h.family == AF_INET6);
	assert(h.nvlan <= PKT_MAX_VLANS);
	assert((size_t)h.payload_off + h.payload_len <= len);
	assert(h.sport && h.dport);
	check_rebuild(f, &h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[FRAME_MAX];
	struct pkt_udp h;
	enum pkt_err err;

	if (size > FRAME_MAX)
		return 0;
	/* an exact-size heap copy: ASan catches a read one byte past the frame */
	uint8_t *f = malloc(size ? size : 1);

	if (!f)
		return 0;
	memcpy(f, data, size);
	parse_one(f, size, 0);
	parse_one(f, size, PKT_PARSE_PARTIAL);

	err = pkt_parse_udp(f, size, 0, &h);
	if (err == PKT_ERR_IP_CSUM || err == PKT_ERR_UDP_CSUM) {
		memcpy(copy, data, size);
		if (fix_checksums(copy, size)) {
			memcpy(f, copy, size);
			parse_one(f, size, 0);
		}
	}
	free(f);
	return 0;
}
