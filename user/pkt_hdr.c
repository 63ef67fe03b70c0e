// SPDX-License-Identifier: MIT
/*
 * pkt_hdr.c - parse and build Ethernet / VLAN / IPv4 / IPv6 / UDP headers.
 *
 * The parser walks a cursor (offset into the frame) and asks for every byte
 * it reads before reading it: hdr_ok(). Multi-byte fields are read with
 * explicit big-endian helpers, so nothing depends on alignment.
 */
#include "pkt_hdr.h"

#include "csum.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define ETH_HLEN_ 14
#define VLAN_HLEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define UDP_HLEN  8

#define ETHERTYPE_IPV4	 0x0800
#define ETHERTYPE_IPV6	 0x86dd
#define ETHERTYPE_8021Q	 0x8100
#define ETHERTYPE_8021AD 0x88a8

#define IPPROTO_UDP_	 17
#define IP6_HOPOPTS	 0
#define IP6_ROUTING	 43
#define IP6_FRAGMENT	 44
#define IP6_AH		 51
#define IP6_DSTOPTS	 60
#define IPV4_DF		 0x4000
#define IPV4_MF		 0x2000
#define IPV4_OFFSET_MASK 0x1fff

static const char *const pkt_err_names[PKT_ERR__MAX] = {
	[PKT_OK] = "ok",
	[PKT_ERR_TRUNCATED] = "truncated",
	[PKT_ERR_VLAN_DEPTH] = "too many VLAN tags",
	[PKT_ERR_NOT_IP] = "not IP",
	[PKT_ERR_IP_VERSION] = "IP version mismatch",
	[PKT_ERR_IP_HDR_LEN] = "bad IPv4 header length",
	[PKT_ERR_IP_LEN] = "bad IP length",
	[PKT_ERR_IP_CSUM] = "bad IPv4 header checksum",
	[PKT_ERR_IP_ADDR] = "bad source address",
	[PKT_ERR_FRAGMENT] = "IP fragment",
	[PKT_ERR_EXT_HDR] = "bad IPv6 extension headers",
	[PKT_ERR_NOT_UDP] = "not UDP",
	[PKT_ERR_UDP_LEN] = "bad UDP length",
	[PKT_ERR_UDP_CSUM] = "bad UDP checksum",
	[PKT_ERR_UDP_NO_CSUM] = "no UDP checksum over IPv6",
	[PKT_ERR_UDP_PORT] = "UDP port 0",
};

const char *pkt_strerror(enum pkt_err err)
{
	if ((unsigned int)err >= PKT_ERR__MAX)
		return "unknown";
	return pkt_err_names[err];
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* True when @need bytes from @off are inside a frame of @len bytes. */
static inline bool hdr_ok(size_t off, size_t need, size_t len)
{
	return off <= len && need <= len - off;
}

static bool ipv4_src_bad(const uint8_t *a)
{
	/* 0.0.0.0/8 ("this network"), 224/4 multicast, 240/4 incl. broadcast. */
	return a[0] == 0 || a[0] >= 224;
}

static bool ipv6_src_bad(const uint8_t *a)
{
	static const uint8_t unspec[16];

	return a[0] == 0xff || !memcmp(a, unspec, 16);
}

/* IPv4 header at @off; on success *@l4 and *@l4_len delimit the IP payload. */
static enum pkt_err parse_ipv4(const uint8_t *f, size_t len, size_t off, struct pkt_udp *out,
			       size_t *l4, size_t *l4_len)
{
	const uint8_t *ip = f + off;
	size_t ihl, tot;
	uint16_t frag;

	if (!hdr_ok(off, IPV4_HLEN, len))
		return PKT_ERR_TRUNCATED;
	if (ip[0] >> 4 != 4)
		return PKT_ERR_IP_VERSION;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < IPV4_HLEN || !hdr_ok(off, ihl, len))
		return PKT_ERR_IP_HDR_LEN;
	tot = get_be16(ip + 2);
	if (tot < ihl || !hdr_ok(off, tot, len))
		return PKT_ERR_IP_LEN;
	if (csum_fold(csum_partial_scalar(ip, ihl, 0)) != 0)
		return PKT_ERR_IP_CSUM;
	frag = get_be16(ip + 6);
	if (frag & (IPV4_MF | IPV4_OFFSET_MASK))
		return PKT_ERR_FRAGMENT;
	if (ip[9] != IPPROTO_UDP_)
		return PKT_ERR_NOT_UDP;
	if (ipv4_src_bad(ip + 12))
		return PKT_ERR_IP_ADDR;

	out->family = AF_INET;
	out->tos = ip[1];
	out->ttl = ip[8];
	out->flow_label = 0;
	memset(out->saddr, 0, sizeof(out->saddr));
	memset(out->daddr, 0, sizeof(out->daddr));
	memcpy(out->saddr, ip + 12, 4);
	memcpy(out->daddr, ip + 16, 4);
	*l4 = off + ihl;
	*l4_len = tot - ihl;
	return PKT_OK;
}

/* IPv6 header at @off, then a bounded walk over extension headers. */
static enum pkt_err parse_ipv6(const uint8_t *f, size_t len, size_t off, struct pkt_udp *out,
			       size_t *l4, size_t *l4_len)
{
	const uint8_t *ip = f + off;
	size_t plen, cur, end;
	uint8_t nh;
	int i;

	if (!hdr_ok(off, IPV6_HLEN, len))
		return PKT_ERR_TRUNCATED;
	if (ip[0] >> 4 != 6)
		return PKT_ERR_IP_VERSION;
	plen = get_be16(ip + 4);
	/* Zero means a jumbogram (RFC 2675), never used on our links. */
	if (!plen || !hdr_ok(off + IPV6_HLEN, plen, len))
		return PKT_ERR_IP_LEN;
	if (ipv6_src_bad(ip + 8))
		return PKT_ERR_IP_ADDR;

	out->family = AF_INET6;
	out->tos = (uint8_t)((ip[0] & 0x0f) << 4 | ip[1] >> 4);
	out->flow_label = (uint32_t)(ip[1] & 0x0f) << 16 | get_be16(ip + 2);
	out->ttl = ip[7];
	memcpy(out->saddr, ip + 8, 16);
	memcpy(out->daddr, ip + 24, 16);

	nh = ip[6];
	cur = off + IPV6_HLEN;
	end = cur + plen;
	for (i = 0; i <= PKT_MAX_EXT_HDRS; i++) {
		size_t ext_len;

		switch (nh) {
		case IPPROTO_UDP_:
			*l4 = cur;
			*l4_len = end - cur;
			return PKT_OK;
		case IP6_FRAGMENT:
			/* Offset 0 and no more fragments: an atomic fragment (RFC
			 * 6946), the whole datagram; the XDP program steers those. */
			if (!hdr_ok(cur, 8, end) || get_be16(f + cur + 2) & 0xfff9)
				return PKT_ERR_FRAGMENT;
			nh = f[cur];
			cur += 8;
			continue;
		case IP6_HOPOPTS:
		case IP6_ROUTING:
		case IP6_DSTOPTS:
		case IP6_AH:
			break;
		default:
			return PKT_ERR_NOT_UDP;
		}
		if (i == PKT_MAX_EXT_HDRS || !hdr_ok(cur, 2, end))
			return PKT_ERR_EXT_HDR;
		/* AH counts 4-byte units minus 2, the others 8-byte units minus 1. */
		if (nh == IP6_AH)
			ext_len = ((size_t)f[cur + 1] + 2) * 4;
		else
			ext_len = ((size_t)f[cur + 1] + 1) * 8;
		if (!hdr_ok(cur, ext_len, end))
			return PKT_ERR_EXT_HDR;
		nh = f[cur];
		cur += ext_len;
	}
	return PKT_ERR_EXT_HDR;
}

/* The checksum field of a CHECKSUM_PARTIAL datagram: the pseudo-header sum,
 * folded, not complemented, as the sender's kernel left it. */
static bool csum_is_partial(const uint8_t *udp, size_t ulen, const struct pkt_udp *h)
{
	uint32_t pseudo;
	uint16_t want;

	if (h->family == AF_INET)
		pseudo = csum_pseudo4(h->saddr, h->daddr, IPPROTO_UDP_, (uint32_t)ulen);
	else
		pseudo = csum_pseudo6(h->saddr, h->daddr, IPPROTO_UDP_, (uint32_t)ulen);
	want = (uint16_t)~csum_fold(pseudo);
	return !memcmp(udp + 6, &want, 2);
}

static enum pkt_err parse_udp(const uint8_t *f, size_t l4, size_t l4_len, unsigned int flags,
			      struct pkt_udp *out)
{
	const uint8_t *udp = f + l4;
	size_t ulen;
	bool ok;

	if (l4_len < UDP_HLEN)
		return PKT_ERR_TRUNCATED;
	ulen = get_be16(udp + 4);
	/* Shorter than the IP payload is allowed (trailing bytes ignored), as the
	 * kernel does; longer is not. */
	if (ulen < UDP_HLEN || ulen > l4_len)
		return PKT_ERR_UDP_LEN;
	out->sport = get_be16(udp);
	out->dport = get_be16(udp + 2);
	if (!out->sport || !out->dport)
		return PKT_ERR_UDP_PORT;

	if (!udp[6] && !udp[7]) {
		if (out->family == AF_INET6)
			return PKT_ERR_UDP_NO_CSUM;
	} else {
		if (out->family == AF_INET)
			ok = csum_udp4_ok(out->saddr, out->daddr, udp, ulen);
		else
			ok = csum_udp6_ok(out->saddr, out->daddr, udp, ulen);
		if (!ok && (flags & PKT_PARSE_PARTIAL) && csum_is_partial(udp, ulen, out)) {
			out->csum_partial = 1;
			ok = true;
		}
		if (!ok)
			return PKT_ERR_UDP_CSUM;
	}
	/* l4 + ulen lies inside the frame, which AF_XDP bounds far below 64 KiB. */
	out->payload_off = (uint16_t)(l4 + UDP_HLEN);
	out->payload_len = (uint16_t)(ulen - UDP_HLEN);
	return PKT_OK;
}

enum pkt_err pkt_parse_udp(const uint8_t *frame, size_t len, unsigned int flags,
			   struct pkt_udp *out)
{
	size_t off = ETH_HLEN_, l4 = 0, l4_len = 0;
	enum pkt_err err;
	uint16_t type;

	/* Offsets are reported in 16 bits. */
	if (len > UINT16_MAX)
		len = UINT16_MAX;
	if (!hdr_ok(0, ETH_HLEN_, len))
		return PKT_ERR_TRUNCATED;
	memcpy(out->dst_mac, frame, PKT_ETH_ALEN);
	memcpy(out->src_mac, frame + PKT_ETH_ALEN, PKT_ETH_ALEN);
	type = get_be16(frame + 12);

	out->nvlan = 0;
	out->csum_partial = 0;
	while (type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD) {
		if (out->nvlan == PKT_MAX_VLANS)
			return PKT_ERR_VLAN_DEPTH;
		if (!hdr_ok(off, VLAN_HLEN, len))
			return PKT_ERR_TRUNCATED;
		out->vlan_tpid[out->nvlan] = type;
		out->vlan_tci[out->nvlan] = get_be16(frame + off);
		out->nvlan++;
		type = get_be16(frame + off + 2);
		off += VLAN_HLEN;
	}

	if (type == ETHERTYPE_IPV4)
		err = parse_ipv4(frame, len, off, out, &l4, &l4_len);
	else if (type == ETHERTYPE_IPV6)
		err = parse_ipv6(frame, len, off, out, &l4, &l4_len);
	else
		err = PKT_ERR_NOT_IP;
	if (err)
		return err;
	return parse_udp(frame, l4, l4_len, flags, out);
}

size_t pkt_udp_hdr_len(const struct pkt_udp *h)
{
	size_t ip = h->family == AF_INET6 ? IPV6_HLEN : IPV4_HLEN;

	return ETH_HLEN_ + (size_t)h->nvlan * VLAN_HLEN + ip + UDP_HLEN;
}

static void build_ipv4(uint8_t *ip, const struct pkt_udp *h, size_t udp_len)
{
	uint16_t c;

	ip[0] = 0x45;
	ip[1] = h->tos;
	put_be16(ip + 2, (uint16_t)(IPV4_HLEN + udp_len));
	put_be16(ip + 4, 0);
	put_be16(ip + 6, IPV4_DF);
	ip[8] = h->ttl ? h->ttl : 64;
	ip[9] = IPPROTO_UDP_;
	ip[10] = ip[11] = 0;
	memcpy(ip + 12, h->saddr, 4);
	memcpy(ip + 16, h->daddr, 4);
	c = csum_ipv4_hdr(ip, IPV4_HLEN);
	memcpy(ip + 10, &c, 2);
}

static void build_ipv6(uint8_t *ip, const struct pkt_udp *h, size_t udp_len)
{
	uint32_t fl = h->flow_label & 0xfffff;

	ip[0] = (uint8_t)(0x60 | h->tos >> 4);
	ip[1] = (uint8_t)((h->tos & 0x0f) << 4 | fl >> 16);
	put_be16(ip + 2, (uint16_t)fl);
	put_be16(ip + 4, (uint16_t)udp_len);
	ip[6] = IPPROTO_UDP_;
	ip[7] = h->ttl ? h->ttl : 64;
	memcpy(ip + 8, h->saddr, 16);
	memcpy(ip + 24, h->daddr, 16);
}

int pkt_build_udp(uint8_t *frame, size_t cap, const struct pkt_udp *h, size_t payload_len)
{
	size_t hlen, udp_len, off = ETH_HLEN_;
	uint8_t *udp;
	uint16_t c;
	int i;

	if ((h->family != AF_INET && h->family != AF_INET6) || h->nvlan > PKT_MAX_VLANS)
		return -EINVAL;
	hlen = pkt_udp_hdr_len(h);
	udp_len = UDP_HLEN + payload_len;
	/* Both IP length fields and the UDP length are 16 bits. */
	if (payload_len > cap || hlen > cap - payload_len || udp_len + IPV4_HLEN > UINT16_MAX)
		return -EMSGSIZE;

	memcpy(frame, h->dst_mac, PKT_ETH_ALEN);
	memcpy(frame + PKT_ETH_ALEN, h->src_mac, PKT_ETH_ALEN);
	for (i = 0; i < h->nvlan; i++) {
		put_be16(frame + off - 2, h->vlan_tpid[i]);
		put_be16(frame + off, h->vlan_tci[i]);
		off += VLAN_HLEN;
	}
	if (h->family == AF_INET) {
		put_be16(frame + off - 2, ETHERTYPE_IPV4);
		build_ipv4(frame + off, h, udp_len);
		off += IPV4_HLEN;
	} else {
		put_be16(frame + off - 2, ETHERTYPE_IPV6);
		build_ipv6(frame + off, h, udp_len);
		off += IPV6_HLEN;
	}

	udp = frame + off;
	put_be16(udp, h->sport);
	put_be16(udp + 2, h->dport);
	put_be16(udp + 4, (uint16_t)udp_len);
	udp[6] = udp[7] = 0;
	if (h->family == AF_INET)
		c = csum_udp4(h->saddr, h->daddr, udp, udp_len);
	else
		c = csum_udp6(h->saddr, h->daddr, udp, udp_len);
	memcpy(udp + 6, &c, 2);
	return (int)(hlen + payload_len);
}

void pkt_udp_reverse(struct pkt_udp *h)
{
	uint8_t mac[PKT_ETH_ALEN], addr[16];
	uint16_t port;

	memcpy(mac, h->dst_mac, PKT_ETH_ALEN);
	memcpy(h->dst_mac, h->src_mac, PKT_ETH_ALEN);
	memcpy(h->src_mac, mac, PKT_ETH_ALEN);
	memcpy(addr, h->daddr, 16);
	memcpy(h->daddr, h->saddr, 16);
	memcpy(h->saddr, addr, 16);
	port = h->dport;
	h->dport = h->sport;
	h->sport = port;
	h->tos &= ~3u;
}
