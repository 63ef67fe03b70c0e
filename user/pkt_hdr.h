/* SPDX-License-Identifier: MIT */
/*
 * pkt_hdr.h - Ethernet / VLAN / IPv4 / IPv6 / UDP headers in user space, for
 * the AF_XDP back end, which gets whole frames and must send whole frames.
 *
 * The parser takes hostile bytes: it checks every length against the frame
 * and the headers against each other, verifies the IPv4 header checksum and
 * the UDP checksum (the XDP program checks neither), refuses fragments, and
 * says why it refused. The builder writes the headers in front of a payload
 * already in place, checksums included.
 */
#ifndef BEAM_PKT_HDR_H
#define BEAM_PKT_HDR_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX_VLANS	 2 /* 802.1ad outer tag plus 802.1Q inner tag */
#define PKT_MAX_EXT_HDRS 8 /* IPv6 extension headers walked before giving up */
#define PKT_ETH_ALEN	 6

/* Why a frame was refused; PKT_OK when it was not. */
enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_TRUNCATED,   /* the frame ends inside a header */
	PKT_ERR_VLAN_DEPTH,  /* more VLAN tags than PKT_MAX_VLANS */
	PKT_ERR_NOT_IP,	     /* EtherType is neither IPv4 nor IPv6 */
	PKT_ERR_IP_VERSION,  /* the IP version disagrees with the EtherType */
	PKT_ERR_IP_HDR_LEN,  /* IPv4 IHL below 5 or past the frame */
	PKT_ERR_IP_LEN,	     /* IP length below its header, past the frame, or jumbo */
	PKT_ERR_IP_CSUM,     /* IPv4 header checksum wrong */
	PKT_ERR_IP_ADDR,     /* source is multicast, broadcast or unspecified */
	PKT_ERR_FRAGMENT,    /* an IPv4 or IPv6 fragment */
	PKT_ERR_EXT_HDR,     /* IPv6 extension headers too many or past the packet */
	PKT_ERR_NOT_UDP,     /* the transport is not UDP */
	PKT_ERR_UDP_LEN,     /* UDP length below 8 or past the IP payload */
	PKT_ERR_UDP_CSUM,    /* UDP checksum wrong */
	PKT_ERR_UDP_NO_CSUM, /* zero UDP checksum over IPv6 (RFC 8200 section 8.1) */
	PKT_ERR_UDP_PORT,    /* source or destination port 0 */
	PKT_ERR__MAX,
};

/* One UDP datagram's headers: what the parser found, what the builder writes. */
struct pkt_udp {
	uint8_t dst_mac[PKT_ETH_ALEN];
	uint8_t src_mac[PKT_ETH_ALEN];
	uint16_t vlan_tpid[PKT_MAX_VLANS]; /* host order: 0x88a8 or 0x8100, outer first */
	uint16_t vlan_tci[PKT_MAX_VLANS];  /* host order: priority, DEI, VLAN id */
	uint8_t nvlan;			   /* tags in use */
	uint8_t family;			   /* AF_INET or AF_INET6 */
	uint8_t tos;			   /* IPv4 TOS / IPv6 traffic class: DSCP << 2 | ECN */
	uint8_t ttl;			   /* TTL or hop limit; the builder uses 64 for 0 */
	uint32_t flow_label;		   /* IPv6 only, low 20 bits */
	uint8_t saddr[16];		   /* IPv4 in the first 4 bytes, network order */
	uint8_t daddr[16];
	uint16_t sport; /* host order */
	uint16_t dport;
	uint16_t payload_off; /* parser: UDP payload offset in the frame */
	uint16_t payload_len; /* parser: UDP payload length */
	uint8_t csum_partial; /* parser: taken with a partial checksum (PKT_PARSE_PARTIAL) */
};

/* Flags of pkt_parse_udp(). */
enum pkt_parse_flags {
	/*
	 * Take a datagram whose UDP checksum field holds exactly the (not
	 * complemented) pseudo-header sum: what a sender on the same host leaves
	 * for "hardware" to finish (CHECKSUM_PARTIAL) when the frame crosses a
	 * veth or tap and never meets a NIC. Real NICs deliver complete
	 * checksums. The payload is then unverified: fine for QUIC, whose AEAD
	 * authenticates every packet, and counted via @csum_partial.
	 */
	PKT_PARSE_PARTIAL = 1u << 0,
};

/* A short constant name of @err, for logs and counters ("truncated", ...). */
const char *pkt_strerror(enum pkt_err err);

/*
 * Parse the @len bytes of an Ethernet frame at @frame as a UDP datagram over
 * IPv4 or IPv6 with up to two VLAN tags, into @out. Bytes past the IP length
 * (Ethernet padding) are ignored. @flags: enum pkt_parse_flags. Returns
 * PKT_OK, or the reason the frame is refused (then @out is partly written and
 * must not be used).
 */
enum pkt_err pkt_parse_udp(const uint8_t *frame, size_t len, unsigned int flags,
			   struct pkt_udp *out);

/* Bytes of headers pkt_build_udp() writes for @h: Ethernet, tags, IP, UDP. */
size_t pkt_udp_hdr_len(const struct pkt_udp *h);

/*
 * Write the headers of @h into @frame, in front of @payload_len bytes of
 * payload the caller already put at @frame + pkt_udp_hdr_len(@h), with the
 * IPv4 header checksum and the UDP checksum. IPv4 goes out with DF and ID 0
 * (RFC 6864: atomic datagrams). @cap is the room at @frame.
 * Returns the frame length, -EMSGSIZE when it exceeds @cap or the 16-bit
 * length fields, or -EINVAL for an unknown family or too many tags.
 */
int pkt_build_udp(uint8_t *frame, size_t cap, const struct pkt_udp *h, size_t payload_len);

/* Turn the headers of a received datagram into those of an answer: swap
 * MACs, addresses and ports; keep tags; clear ECN (the sender sets its own). */
void pkt_udp_reverse(struct pkt_udp *h);

#endif /* BEAM_PKT_HDR_H */
