// SPDX-License-Identifier: MIT
/*
 * test_pkt_hdr.c - header building and parsing: round trips for IPv4, IPv6,
 * one and two VLAN tags; a table of broken frames, each refused with its
 * reason; every truncation of a good frame refused; random corruption never
 * yields a payload outside the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt_hdr.h"
#include "csum.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FRAME_CAP 2048

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};

static void hdr_v4(struct pkt_udp *h)
{
	static const uint8_t s[4] = {10, 9, 0, 1}, d[4] = {10, 9, 0, 2};

	memset(h, 0, sizeof(*h));
	memcpy(h->src_mac, mac_a, 6);
	memcpy(h->dst_mac, mac_b, 6);
	h->family = AF_INET;
	h->tos = 0xb8 | 2; /* EF, ECT(0) */
	h->ttl = 61;
	memcpy(h->saddr, s, 4);
	memcpy(h->daddr, d, 4);
	h->sport = 50123;
	h->dport = 4433;
}

static void hdr_v6(struct pkt_udp *h)
{
	static const uint8_t s[16] = {0xfd, 0xbe, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t d[16] = {0xfd, 0xbe, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

	memset(h, 0, sizeof(*h));
	memcpy(h->src_mac, mac_a, 6);
	memcpy(h->dst_mac, mac_b, 6);
	h->family = AF_INET6;
	h->tos = 0x28 | 1; /* AF11, ECT(1) */
	h->flow_label = 0xabcde;
	h->ttl = 7;
	memcpy(h->saddr, s, 16);
	memcpy(h->daddr, d, 16);
	h->sport = 443;
	h->dport = 61000;
}

/* Build @h with a patterned payload of @plen bytes; returns the frame length. */
static size_t build(uint8_t *f, const struct pkt_udp *h, size_t plen)
{
	size_t hl = pkt_udp_hdr_len(h), i;
	int n;

	for (i = 0; i < plen; i++)
		f[hl + i] = (uint8_t)(i * 7 + 1);
	n = pkt_build_udp(f, FRAME_CAP, h, plen);
	assert_int_equal(n, (int)(hl + plen));
	return (size_t)n;
}

static void roundtrip(const struct pkt_udp *h, size_t plen)
{
	uint8_t f[FRAME_CAP];
	struct pkt_udp got;
	size_t n = build(f, h, plen), i;
	enum pkt_err err;

	err = pkt_parse_udp(f, n, 0, &got);
	assert_string_equal(pkt_strerror(err), "ok");
	assert_memory_equal(got.src_mac, h->src_mac, 6);
	assert_memory_equal(got.dst_mac, h->dst_mac, 6);
	assert_int_equal(got.nvlan, h->nvlan);
	for (i = 0; i < h->nvlan; i++) {
		assert_int_equal(got.vlan_tpid[i], h->vlan_tpid[i]);
		assert_int_equal(got.vlan_tci[i], h->vlan_tci[i]);
	}
	assert_int_equal(got.family, h->family);
	assert_int_equal(got.tos, h->tos);
	assert_int_equal(got.ttl, h->ttl);
	assert_int_equal(got.flow_label, h->flow_label);
	assert_memory_equal(got.saddr, h->saddr, h->family == AF_INET ? 4 : 16);
	assert_memory_equal(got.daddr, h->daddr, h->family == AF_INET ? 4 : 16);
	assert_int_equal(got.sport, h->sport);
	assert_int_equal(got.dport, h->dport);
	assert_int_equal(got.payload_off, pkt_udp_hdr_len(h));
	assert_int_equal(got.payload_len, plen);
	for (i = 0; i < plen; i++)
		assert_int_equal(f[got.payload_off + i], (uint8_t)(i * 7 + 1));
}

static void test_pkt_hdr_roundtrip_ipv4(void **state)
{
	struct pkt_udp h;

	(void)state;
	hdr_v4(&h);
	roundtrip(&h, 0);
	roundtrip(&h, 1);
	roundtrip(&h, 1200);
	roundtrip(&h, 1473);
}

static void test_pkt_hdr_roundtrip_ipv6(void **state)
{
	struct pkt_udp h;

	(void)state;
	hdr_v6(&h);
	roundtrip(&h, 0);
	roundtrip(&h, 3);
	roundtrip(&h, 1452);
}

static void test_pkt_hdr_roundtrip_vlan(void **state)
{
	struct pkt_udp h;

	(void)state;
	hdr_v4(&h);
	h.nvlan = 1;
	h.vlan_tpid[0] = 0x8100;
	h.vlan_tci[0] = 0x2000 | 42;
	roundtrip(&h, 100);
	hdr_v6(&h);
	h.nvlan = 2;
	h.vlan_tpid[0] = 0x88a8;
	h.vlan_tci[0] = 100;
	h.vlan_tpid[1] = 0x8100;
	h.vlan_tci[1] = 4094;
	roundtrip(&h, 1000);
}

/* Checks the builder's bytes against the wire layout, field by field. */
static void test_pkt_hdr_build_layout(void **state)
{
	uint8_t f[FRAME_CAP];
	struct pkt_udp h;
	size_t n;

	(void)state;
	hdr_v4(&h);
	n = build(f, &h, 10);
	assert_int_equal(n, 14 + 20 + 8 + 10);
	assert_int_equal(f[12], 0x08);
	assert_int_equal(f[13], 0x00);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(f[15], 0xba);
	assert_int_equal(f[16] << 8 | f[17], 38);		     /* total length */
	assert_int_equal(f[20], 0x40);				     /* DF */
	assert_int_equal(f[23], 17);				     /* UDP */
	assert_int_equal(csum_fold(csum_partial(f + 14, 20, 0)), 0); /* header sum */
	assert_int_equal(f[34] << 8 | f[35], 50123);
	assert_int_equal(f[38] << 8 | f[39], 18); /* UDP length */

	assert_int_equal(pkt_build_udp(f, 14 + 20 + 8 + 9, &h, 10), -EMSGSIZE);
	assert_int_equal(pkt_build_udp(f, FRAME_CAP, &h, 70000), -EMSGSIZE);
	h.family = 99;
	assert_int_equal(pkt_build_udp(f, FRAME_CAP, &h, 10), -EINVAL);
}

static void fix_ip4_csum(uint8_t *ip)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = csum_ipv4_hdr(ip, (size_t)(ip[0] & 15) * 4);
	memcpy(ip + 10, &c, 2);
}

/* One broken frame: a mutation of a good one and the reason it must give. */
struct bad_case {
	const char *what;
	int v6;
	void (*mutate)(uint8_t *f, size_t *len);
	enum pkt_err want;
};

/* Offsets in a frame without tags. */
#define L3 14
#define L4 (L3 + 20)

static void m_arp(uint8_t *f, size_t *len)
{
	(void)len;
	f[12] = 0x08, f[13] = 0x06;
}

static void m_three_tags(uint8_t *f, size_t *len)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		memmove(f + 16, f + 12, *len - 12);
		f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 1;
		*len += 4;
	}
}

static void m_v4_in_v6_type(uint8_t *f, size_t *len)
{
	(void)len;
	f[12] = 0x86, f[13] = 0xdd;
}

static void m_ihl_4(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3] = 0x44;
}

static void m_ihl_past_frame(uint8_t *f, size_t *len)
{
	f[L3] = 0x4f;
	*len = L3 + 40;
}

static void m_totlen_long(uint8_t *f, size_t *len)
{
	f[L3 + 2] = (uint8_t)((*len - L3 + 1) >> 8);
	f[L3 + 3] = (uint8_t)(*len - L3 + 1);
	fix_ip4_csum(f + L3);
}

static void m_totlen_short(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 2] = 0, f[L3 + 3] = 19;
	fix_ip4_csum(f + L3);
}

static void m_ip_csum(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 8] ^= 1; /* TTL changed, checksum not */
}

static void m_more_frags(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 6] |= 0x20;
	fix_ip4_csum(f + L3);
}

static void m_frag_offset(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 7] = 8;
	fix_ip4_csum(f + L3);
}

static void m_tcp(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 9] = 6;
	fix_ip4_csum(f + L3);
}

static void m_mcast_src(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 12] = 239;
	fix_ip4_csum(f + L3);
}

static void m_udp_len_7(uint8_t *f, size_t *len)
{
	(void)len;
	f[L4 + 4] = 0, f[L4 + 5] = 7;
}

static void m_udp_len_long(uint8_t *f, size_t *len)
{
	size_t ul = *len - L4 + 1;

	f[L4 + 4] = (uint8_t)(ul >> 8), f[L4 + 5] = (uint8_t)ul;
}

static void m_udp_csum(uint8_t *f, size_t *len)
{
	f[*len - 1] ^= 0x80;
}

static void m_udp_port0(uint8_t *f, size_t *len)
{
	(void)len;
	f[L4] = f[L4 + 1] = 0;
	f[L4 + 6] = f[L4 + 7] = 0; /* no checksum: the port is what is wrong */
}

static void m_udp_no_csum4(uint8_t *f, size_t *len)
{
	(void)len;
	f[L4 + 6] = f[L4 + 7] = 0;
}

static void m_padding(uint8_t *f, size_t *len)
{
	memset(f + *len, 0xee, 30);
	*len += 30;
}

#define V6L4 (L3 + 40)

static void m6_no_csum(uint8_t *f, size_t *len)
{
	(void)len;
	f[V6L4 + 6] = f[V6L4 + 7] = 0;
}

static void m6_jumbo(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 4] = f[L3 + 5] = 0;
}

static void m6_plen_long(uint8_t *f, size_t *len)
{
	size_t pl = *len - V6L4 + 1;

	f[L3 + 4] = (uint8_t)(pl >> 8), f[L3 + 5] = (uint8_t)pl;
}

static void m6_mcast_src(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 8] = 0xff;
}

static void m6_version(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3] = (uint8_t)(0x40 | (f[L3] & 0x0f));
}

/* Insert @n extension headers of type @type (8 bytes each) before UDP. */
static void insert_ext(uint8_t *f, size_t *len, uint8_t type, int n)
{
	size_t plen = (size_t)(f[L3 + 4] << 8 | f[L3 + 5]);
	int i;

	for (i = 0; i < n; i++) {
		memmove(f + V6L4 + 8, f + V6L4, *len - V6L4);
		memset(f + V6L4, 0, 8);
		f[V6L4] = f[L3 + 6]; /* next header: what followed before */
		f[V6L4 + 1] = 0;     /* 8 bytes */
		f[L3 + 6] = type;
		*len += 8;
		plen += 8;
	}
	f[L3 + 4] = (uint8_t)(plen >> 8), f[L3 + 5] = (uint8_t)plen;
}

static void m6_fragment(uint8_t *f, size_t *len)
{
	insert_ext(f, len, 44, 1);
	f[V6L4 + 3] = 1; /* more fragments */
}

static void m6_atomic_fragment(uint8_t *f, size_t *len)
{
	insert_ext(f, len, 44, 1); /* offset 0, M clear: the whole datagram */
}

static void m6_too_many_ext(uint8_t *f, size_t *len)
{
	insert_ext(f, len, 60, PKT_MAX_EXT_HDRS + 1);
}

static void m6_ext_past_end(uint8_t *f, size_t *len)
{
	insert_ext(f, len, 0, 1);
	f[V6L4 + 1] = 200; /* claims 1608 bytes */
}

static void m6_esp(uint8_t *f, size_t *len)
{
	(void)len;
	f[L3 + 6] = 50;
}

static void m6_two_ext_ok(uint8_t *f, size_t *len)
{
	insert_ext(f, len, 60, 1);
	insert_ext(f, len, 0, 1);
}

static const struct bad_case bad_cases[] = {
	{"ARP", 0, m_arp, PKT_ERR_NOT_IP},
	{"three VLAN tags", 0, m_three_tags, PKT_ERR_VLAN_DEPTH},
	{"IPv4 under the IPv6 EtherType", 0, m_v4_in_v6_type, PKT_ERR_IP_VERSION},
	{"IHL 4", 0, m_ihl_4, PKT_ERR_IP_HDR_LEN},
	{"IHL past the frame", 0, m_ihl_past_frame, PKT_ERR_IP_HDR_LEN},
	{"total length past the frame", 0, m_totlen_long, PKT_ERR_IP_LEN},
	{"total length below IHL", 0, m_totlen_short, PKT_ERR_IP_LEN},
	{"IPv4 header checksum", 0, m_ip_csum, PKT_ERR_IP_CSUM},
	{"more fragments", 0, m_more_frags, PKT_ERR_FRAGMENT},
	{"fragment offset", 0, m_frag_offset, PKT_ERR_FRAGMENT},
	{"TCP", 0, m_tcp, PKT_ERR_NOT_UDP},
	{"multicast source", 0, m_mcast_src, PKT_ERR_IP_ADDR},
	{"UDP length 7", 0, m_udp_len_7, PKT_ERR_UDP_LEN},
	{"UDP length past IP", 0, m_udp_len_long, PKT_ERR_UDP_LEN},
	{"UDP checksum", 0, m_udp_csum, PKT_ERR_UDP_CSUM},
	{"UDP port 0", 0, m_udp_port0, PKT_ERR_UDP_PORT},
	{"no UDP checksum over IPv4 is fine", 0, m_udp_no_csum4, PKT_OK},
	{"Ethernet padding is ignored", 0, m_padding, PKT_OK},
	{"no UDP checksum over IPv6", 1, m6_no_csum, PKT_ERR_UDP_NO_CSUM},
	{"IPv6 jumbo length", 1, m6_jumbo, PKT_ERR_IP_LEN},
	{"IPv6 payload past the frame", 1, m6_plen_long, PKT_ERR_IP_LEN},
	{"IPv6 multicast source", 1, m6_mcast_src, PKT_ERR_IP_ADDR},
	{"IPv6 EtherType, version 4", 1, m6_version, PKT_ERR_IP_VERSION},
	{"IPv6 fragment header", 1, m6_fragment, PKT_ERR_FRAGMENT},
	{"IPv6 atomic fragment is fine", 1, m6_atomic_fragment, PKT_OK},
	{"IPv6 extension chain too long", 1, m6_too_many_ext, PKT_ERR_EXT_HDR},
	{"IPv6 extension past the payload", 1, m6_ext_past_end, PKT_ERR_EXT_HDR},
	{"ESP", 1, m6_esp, PKT_ERR_NOT_UDP},
	{"IPv6 two extension headers are fine", 1, m6_two_ext_ok, PKT_OK},
};

static void test_pkt_hdr_refuses_malformed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t f[FRAME_CAP];
		struct pkt_udp h, got;
		enum pkt_err err;
		size_t len;

		if (c->v6)
			hdr_v6(&h);
		else
			hdr_v4(&h);
		len = build(f, &h, 64);
		c->mutate(f, &len);
		err = pkt_parse_udp(f, len, 0, &got);
		if (err != c->want)
			fail_msg("%s: got '%s', want '%s'", c->what, pkt_strerror(err),
				 pkt_strerror(c->want));
		if (err == PKT_OK)
			assert_int_equal(got.payload_len, 64);
	}
	assert_string_equal(pkt_strerror(PKT_ERR__MAX), "unknown");
}

static void test_pkt_hdr_refuses_every_truncation(void **state)
{
	uint8_t f[FRAME_CAP];
	struct pkt_udp h, got;
	size_t n, len;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		if (fam)
			hdr_v6(&h);
		else
			hdr_v4(&h);
		h.nvlan = 1;
		h.vlan_tpid[0] = 0x8100;
		h.vlan_tci[0] = 7;
		n = build(f, &h, 33);
		assert_int_equal(pkt_parse_udp(f, n, 0, &got), PKT_OK);
		for (len = 0; len < n; len++)
			if (pkt_parse_udp(f, len, 0, &got) == PKT_OK)
				fail_msg("family %d: a frame cut to %zu of %zu bytes was taken",
					 fam, len, n);
	}
}

/* Random bytes flipped in good frames: whatever is accepted stays in bounds
 * (also run under SANITIZE=1). */
static void test_pkt_hdr_random_corruption(void **state)
{
	unsigned int seed = 99, accepted = 0;
	uint8_t f[FRAME_CAP];
	struct pkt_udp h, got;
	int round;

	(void)state;
	for (round = 0; round < 200000; round++) {
		size_t len, flips, i;

		if (round & 1)
			hdr_v6(&h);
		else
			hdr_v4(&h);
		len = build(f, &h, (size_t)(rand_r(&seed) % 200));
		flips = 1 + (size_t)(rand_r(&seed) % 3);
		for (i = 0; i < flips; i++)
			f[(size_t)rand_r(&seed) % (len < 70 ? len : 70)] ^=
				(uint8_t)(1 + rand_r(&seed) % 255);
		if (rand_r(&seed) % 4 == 0)
			len = (size_t)rand_r(&seed) % (len + 1);
		if (pkt_parse_udp(f, len, 0, &got) != PKT_OK)
			continue;
		accepted++;
		assert_true((size_t)got.payload_off + got.payload_len <= len);
	}
	print_message("# corrupted frames still accepted: %u of 200000\n", accepted);
}

/* A local sender's CHECKSUM_PARTIAL frame: taken only with the flag, and
 * only when the field is exactly the pseudo-header sum. */
static void test_pkt_hdr_partial_checksum(void **state)
{
	uint8_t f[FRAME_CAP];
	struct pkt_udp h, got;
	uint16_t partial;
	size_t n, l4;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		if (fam)
			hdr_v6(&h);
		else
			hdr_v4(&h);
		n = build(f, &h, 300);
		l4 = pkt_udp_hdr_len(&h) - 8;
		if (fam)
			partial = (uint16_t)~csum_fold(
				csum_pseudo6(h.saddr, h.daddr, 17, (uint32_t)(n - l4)));
		else
			partial = (uint16_t)~csum_fold(
				csum_pseudo4(h.saddr, h.daddr, 17, (uint32_t)(n - l4)));
		memcpy(f + l4 + 6, &partial, 2);
		assert_int_equal(pkt_parse_udp(f, n, 0, &got), PKT_ERR_UDP_CSUM);
		assert_int_equal(pkt_parse_udp(f, n, PKT_PARSE_PARTIAL, &got), PKT_OK);
		assert_true(got.csum_partial);
		assert_int_equal(got.payload_len, 300);
		partial ^= 0x0100;
		memcpy(f + l4 + 6, &partial, 2);
		assert_int_equal(pkt_parse_udp(f, n, PKT_PARSE_PARTIAL, &got), PKT_ERR_UDP_CSUM);
		/* A complete checksum is not "partial". */
		n = build(f, &h, 300);
		assert_int_equal(pkt_parse_udp(f, n, PKT_PARSE_PARTIAL, &got), PKT_OK);
		assert_false(got.csum_partial);
	}
}

static void test_pkt_hdr_reverse(void **state)
{
	struct pkt_udp h, r;

	(void)state;
	hdr_v4(&h);
	r = h;
	pkt_udp_reverse(&r);
	assert_memory_equal(r.src_mac, h.dst_mac, 6);
	assert_memory_equal(r.dst_mac, h.src_mac, 6);
	assert_memory_equal(r.saddr, h.daddr, 16);
	assert_memory_equal(r.daddr, h.saddr, 16);
	assert_int_equal(r.sport, h.dport);
	assert_int_equal(r.dport, h.sport);
	assert_int_equal(r.tos, h.tos & ~3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkt_hdr_roundtrip_ipv4),
		cmocka_unit_test(test_pkt_hdr_roundtrip_ipv6),
		cmocka_unit_test(test_pkt_hdr_roundtrip_vlan),
		cmocka_unit_test(test_pkt_hdr_build_layout),
		cmocka_unit_test(test_pkt_hdr_refuses_malformed),
		cmocka_unit_test(test_pkt_hdr_refuses_every_truncation),
		cmocka_unit_test(test_pkt_hdr_random_corruption),
		cmocka_unit_test(test_pkt_hdr_partial_checksum),
		cmocka_unit_test(test_pkt_hdr_reverse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
