/* SPDX-License-Identifier: MIT */
/*
 * beam_parse.bpf.h - header parsers for the XDP program, BPF side only.
 *
 * Each parser takes a cursor (the next unread byte), checks the header fits
 * before data_end, advances the cursor past it and returns the header (or
 * NULL when the frame ends inside it). Nothing here trusts a length field
 * without comparing it to data_end first, and every loop has a constant bound.
 */
#ifndef BEAM_PARSE_BPF_H
#define BEAM_PARSE_BPF_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP_BE	 bpf_htons(0x0800)
#define ETH_P_IPV6_BE	 bpf_htons(0x86DD)
#define ETH_P_8021Q_BE	 bpf_htons(0x8100)
#define ETH_P_8021AD_BE	 bpf_htons(0x88A8)
#define IP_MF_OFFSET_BE	 bpf_htons(0x3FFF) /* more-fragments flag and fragment offset */
#define IP6_FRAG_MORE_BE bpf_htons(0x0001)
#define IP6_FRAG_OFF_BE	 bpf_htons(0xFFF8)

#define PROTO_HOPOPTS  0
#define PROTO_UDP      17
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_DSTOPTS  60

#define BEAM_VLAN_MAX	  2 /* 802.1Q inside 802.1ad (QinQ) */
#define BEAM_IPV6_EXT_MAX 6 /* extension headers walked before giving up */

/* QUIC (RFC 8999, RFC 9000 section 17, RFC 9369 for version 2). */
#define QUIC_FORM_LONG	  0x80
#define QUIC_LONG_TYPE(b) (((b) >> 4) & 0x3)
#define QUIC_V1		  0x00000001u
#define QUIC_V2		  0x6b3343cfu
#define QUIC_V1_INITIAL	  0
#define QUIC_V2_INITIAL	  1
#define QUIC_MIN_INITIAL  1200 /* RFC 9000 section 14.1: smallest datagram carrying an Initial */

struct vlan_hdr_beam {
	__be16 tci;
	__be16 proto;
};

struct ip6_ext_beam {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 */
};

struct ip6_frag_beam {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in the top 13 bits, more-fragments in bit 0 */
	__be32 id;
};

/* The cursor: the next byte to parse and the end of the frame. */
struct hdr_cursor {
	void *pos;
	void *end;
};

/* Ethernet, then up to BEAM_VLAN_MAX tags. Returns the inner EtherType (network
 * order), or 0 when the frame ends inside these headers. */
static __always_inline __be16 parse_eth(struct hdr_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr_beam *vlan;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return 0;
	proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (i = 0; i < BEAM_VLAN_MAX; i++) {
		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end)
			return 0;
		proto = vlan->proto;
		c->pos = vlan + 1;
	}
	return proto;
}

#endif /* BEAM_PARSE_BPF_H */
