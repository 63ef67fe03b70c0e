// SPDX-License-Identifier: MIT
/*
 * test_xdp.c - beam's XDP program under BPF_PROG_TEST_RUN, through its skeleton.
 *
 * A table of crafted frames: each row says how to build the frame, the
 * configuration to run it under, and what must come out: the XDP action, the
 * change of every reason counter in `stats`, and the entry in `flows`. A second
 * table cuts frames at every header boundary. Needs root (BPF); without it the
 * file reports one skip and exits 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam_maps.h"
#include "beam_xdp.skel.h"
#include "xdp_fixture.h"

#define BEAM_PORT  4433
#define BEAM_PORT2 7000
#define FRAME_MAX  2048

/* ---- frame builders ---- */

enum quic_kind {
	Q_NONE = 0,   /* UDP payload of zeros */
	Q_INITIAL,    /* v1 Initial */
	Q_INITIAL_V2, /* v2 Initial (long type 1) */
	Q_HANDSHAKE,  /* v1 Handshake */
	Q_SHORT,      /* 1-RTT, 16-byte DCID */
	Q_UNKNOWN,    /* long header, a version beam does not speak */
	Q_BAD_DCID,   /* v1 long header claiming a 21-byte DCID */
};

struct fspec {
	int family;	   /* 4 or 6; 0 = ARP */
	int vlans;	   /* 0..3 tags */
	int ip_opts;	   /* IPv4 option bytes, multiple of 4 */
	int ihl_override;  /* IPv4: write this IHL instead */
	int v4_frag;	   /* 1: more-fragments set; 2: offset 1480 */
	int v6_ext;	   /* IPv6 hop-by-hop, routing, dest-opts count (0..3) */
	int v6_frag;	   /* 1: fragment header with more-fragments; 2: atomic */
	int v6_pad_ext;	   /* extra dest-opts headers after the others */
	__u8 proto;	   /* 0 = UDP */
	__u16 dport;	   /* 0 = BEAM_PORT */
	int udp_len_delta; /* added to the UDP length field */
	int ip_len_delta;  /* added to the IPv4 total / IPv6 payload length */
	int udp_len_fixed; /* nonzero: the UDP length field */
	enum quic_kind quic;
	unsigned int payload; /* UDP payload bytes */
	__u8 src;	      /* last byte of the source address */
};

struct frame {
	__u8 b[FRAME_MAX];
	size_t len;
	size_t bounds[32]; /* offsets where a header ends (for the cut table) */
	int nbounds;
	size_t udp_off;
};

static void *put(struct frame *f, size_t n)
{
	void *p = f->b + f->len;

	assert_true(f->len + n <= sizeof(f->b));
	memset(p, 0, n);
	f->len += n;
	return p;
}

static void bound_at(struct frame *f, size_t off)
{
	if (f->nbounds < (int)(sizeof(f->bounds) / sizeof(f->bounds[0])))
		f->bounds[f->nbounds++] = off;
}

static void bound(struct frame *f)
{
	bound_at(f, f->len);
}

static void put_be16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(__u8 *p, __u32 v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static void src_v4(__u8 src, __u8 out[4])
{
	out[0] = 10;
	out[1] = 0;
	out[2] = 0;
	out[3] = src;
}

static void src_v6(__u8 src, __u8 out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[15] = src;
}

static void build_quic(struct frame *f, const struct fspec *s)
{
	__u8 *q = put(f, s->payload), *p = q;
	unsigned int i;

	if (s->quic == Q_NONE || s->payload == 0)
		return;
	if (s->quic == Q_SHORT) {
		*p++ = 0x41;
		bound_at(f, p - f->b);
		for (i = 0; i < BEAM_CID_LEN && p < q + s->payload; i++)
			*p++ = 0xa0 + i;
		return;
	}
	switch (s->quic) {
	case Q_INITIAL:
		*p++ = 0xc3; /* long, fixed bit, type 0 (v1 Initial), 4-byte PN */
		put_be32(p, 0x00000001);
		break;
	case Q_INITIAL_V2:
		*p++ = 0xd3; /* type 1: a v2 Initial */
		put_be32(p, 0x6b3343cf);
		break;
	case Q_HANDSHAKE:
		*p++ = 0xe3;
		put_be32(p, 0x00000001);
		break;
	case Q_UNKNOWN:
		*p++ = 0xc3;
		put_be32(p, 0x1a2a3a4a); /* RFC 9000 section 15: a reserved version */
		break;
	case Q_BAD_DCID:
		*p++ = 0xc3;
		put_be32(p, 0x00000001);
		break;
	default:
		break;
	}
	p += 4;
	bound_at(f, p - f->b);
	*p++ = s->quic == Q_BAD_DCID ? 21 : 8;
	bound_at(f, p - f->b);
	for (i = 0; i < 8; i++)
		*p++ = 0xd0 + i;
	bound_at(f, p - f->b);
	*p++ = 8; /* SCID length */
	for (i = 0; i < 8; i++)
		*p++ = 0x50 + i;
}

static void build_udp(struct frame *f, const struct fspec *s)
{
	__u8 *u;
	int ulen = 8 + s->payload + s->udp_len_delta;

	f->udp_off = f->len;
	u = put(f, 8);
	bound_at(f, f->udp_off + 4); /* inside the UDP header, past the ports */
	put_be16(u, 40000 + s->src);
	put_be16(u + 2, s->dport ? s->dport : BEAM_PORT);
	put_be16(u + 4, s->udp_len_fixed ? s->udp_len_fixed : ulen);
	bound(f);
	build_quic(f, s);
}

static void build_l4(struct frame *f, const struct fspec *s)
{
	__u8 *p;

	if (!s->proto || s->proto == IPPROTO_UDP) {
		build_udp(f, s);
		return;
	}
	p = put(f, 20 + s->payload); /* TCP, ICMP, ...: a header's worth of zeros */
	p[12] = 0x50;
}

static size_t l4_size(const struct fspec *s)
{
	return (!s->proto || s->proto == IPPROTO_UDP ? 8 : 20) + s->payload;
}

static void build_ipv4(struct frame *f, const struct fspec *s)
{
	size_t hlen = 20 + s->ip_opts;
	__u8 *ip = put(f, hlen);
	unsigned int i;

	ip[0] = 0x40 | (s->ihl_override ? (size_t)s->ihl_override : hlen / 4);
	put_be16(ip + 2, hlen + l4_size(s) + s->ip_len_delta);
	if (s->v4_frag == 1)
		put_be16(ip + 6, 0x2000);
	else if (s->v4_frag == 2)
		put_be16(ip + 6, 1480 / 8);
	ip[8] = 64;
	ip[9] = s->proto ? s->proto : IPPROTO_UDP;
	src_v4(s->src, ip + 12);
	ip[16] = 10;
	ip[17] = 0;
	ip[18] = 1;
	ip[19] = 1;
	for (i = 20; i < hlen; i++)
		ip[i] = 1; /* NOP options */
	if (s->ip_opts)
		bound_at(f, f->len - s->ip_opts / 2); /* a cut inside the options */
	bound(f);
	build_l4(f, s);
}

static void build_ipv6(struct frame *f, const struct fspec *s)
{
	static const __u8 order[3] = {0, 43, 60}; /* hop-by-hop, routing, dest-opts */
	__u8 *ip = put(f, 40), *nh = ip + 6, *e;
	size_t start = f->len;
	int i;

	ip[0] = 0x60;
	ip[7] = 64;
	src_v6(s->src, ip + 8);
	ip[24] = 0xfd;
	ip[38] = 1;
	ip[39] = 1;
	bound(f);
	for (i = 0; i < s->v6_ext && i < 3; i++) {
		*nh = order[i];
		e = put(f, 16);
		e[1] = 1; /* 16 bytes */
		e[2] = 1; /* PadN */
		e[3] = 12;
		nh = e;
		bound(f);
	}
	for (i = 0; i < s->v6_pad_ext; i++) {
		*nh = 60;
		e = put(f, 8);
		e[2] = 1;
		e[3] = 4;
		nh = e;
		bound(f);
	}
	if (s->v6_frag) {
		*nh = 44;
		e = put(f, 8);
		if (s->v6_frag == 1)
			e[3] = 1; /* more fragments, offset 0 */
		put_be32(e + 4, 0x12345678);
		nh = e;
		bound(f);
	}
	*nh = s->proto ? s->proto : IPPROTO_UDP;
	put_be16(ip + 4, f->len - start + l4_size(s) + s->ip_len_delta);
	build_l4(f, s);
}

static void build(const struct fspec *s, struct frame *f)
{
	static const __u8 macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
	__u16 ethertype;
	__u8 *p;
	int i;

	memset(f, 0, sizeof(*f));
	ethertype = s->family == 4 ? ETH_P_IP : s->family == 6 ? ETH_P_IPV6 : ETH_P_ARP;
	memcpy(put(f, 12), macs, 12);
	for (i = 0; i < s->vlans; i++) {
		p = put(f, 4);
		put_be16(p, i == 0 && s->vlans > 1 ? ETH_P_8021AD : ETH_P_8021Q);
		put_be16(p + 2, 100 + i);
	}
	put_be16(put(f, 2), ethertype);
	/* The parser reads 14 bytes of Ethernet, then 4 per tag (TCI, next type). */
	for (i = 0; i <= s->vlans; i++) {
		bound_at(f, ETH_HLEN + 4 * i);
		if (i < s->vlans)
			bound_at(f, ETH_HLEN + 4 * i + 2);
	}
	if (s->family == 4)
		build_ipv4(f, s);
	else if (s->family == 6)
		build_ipv6(f, s);
	else
		put(f, 28); /* ARP */
}

/* ---- the program under test ---- */

static void set_config(__u32 flags, __u32 rate, __u32 burst)
{
	struct beam_config cfg = {0};
	__u32 zero = 0;

	cfg.ports[0] = BEAM_PORT;
	cfg.ports[3] = BEAM_PORT2;
	cfg.flags = flags;
	cfg.initial_rate = rate;
	cfg.initial_burst = burst;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);
}

static void flow_key_of(const struct fspec *s, struct beam_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (s->family == 4) {
		k->saddr[10] = k->saddr[11] = 0xff;
		src_v4(s->src, k->saddr + 12);
		k->daddr[10] = k->daddr[11] = 0xff;
		k->daddr[12] = 10;
		k->daddr[14] = 1;
		k->daddr[15] = 1;
	} else {
		src_v6(s->src, k->saddr);
		k->daddr[0] = 0xfd;
		k->daddr[14] = 1;
		k->daddr[15] = 1;
	}
	k->sport = 40000 + s->src;
	k->dport = s->dport ? s->dport : BEAM_PORT;
	k->proto = IPPROTO_UDP;
}

static int run(const void *data, size_t len, int repeat, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len,
		    .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts);
	*retval = opts.retval;
	return err;
}

/* Assert the stats moved by exactly @exp (packets per reason), bytes = packets * @len. */
static void assert_stats_delta(const struct beam_counter before[BEAM_REASON__MAX],
			       const __u64 exp[BEAM_REASON__MAX], size_t len, const char *name)
{
	struct beam_counter after[BEAM_REASON__MAX];
	__u32 r;

	xdp_fixture_read_stats(after);
	for (r = 0; r < BEAM_REASON__MAX; r++) {
		__u64 dp = after[r].packets - before[r].packets;
		__u64 db = after[r].bytes - before[r].bytes;

		if (dp != exp[r] || db != exp[r] * len) {
			__u32 i;

			for (i = 0; i < BEAM_REASON__MAX; i++)
				print_message(
					"#   stats[%u] moved by %llu\n", i,
					(unsigned long long)(after[i].packets - before[i].packets));
			fail_msg("%s: stats[%u] moved %llu pkts / %llu bytes, expected %llu / %llu",
				 name, r, (unsigned long long)dp, (unsigned long long)db,
				 (unsigned long long)exp[r], (unsigned long long)(exp[r] * len));
		}
	}
}

/* The steer_misses map, each cause's per-CPU counters summed. */
static void read_misses(__u64 out[BEAM_STEER_MISS__MAX])
{
	__u64 *percpu = calloc(ncpus, sizeof(*percpu));
	__u32 m;
	int c;

	assert_non_null(percpu);
	for (m = 0; m < BEAM_STEER_MISS__MAX; m++) {
		assert_int_equal(
			bpf_map_lookup_elem(bpf_map__fd(skel->maps.steer_misses), &m, percpu), 0);
		out[m] = 0;
		for (c = 0; c < ncpus; c++)
			out[m] += percpu[c];
	}
	free(percpu);
}

/* Assert steer_misses moved by @n under cause @miss - 1 and nowhere else
 * (@miss 0: nowhere). */
static void assert_misses_delta(const __u64 before[BEAM_STEER_MISS__MAX], int miss, __u64 n,
				const char *name)
{
	__u64 after[BEAM_STEER_MISS__MAX];
	__u32 m;

	read_misses(after);
	for (m = 0; m < BEAM_STEER_MISS__MAX; m++) {
		__u64 want = (int)m == miss - 1 ? n : 0;

		if (after[m] - before[m] != want)
			fail_msg("%s: steer_misses[%u] moved by %llu, expected %llu", name, m,
				 (unsigned long long)(after[m] - before[m]),
				 (unsigned long long)want);
	}
}

/* ---- the table ---- */

struct expect_flow {
	int present;
	__u64 packets;
	__u64 quic_long;
	__u64 quic_short;
	__u8 dcid_len;
	__u32 last_reason;
};

struct row {
	const char *name;
	struct fspec spec;
	__u32 flags; /* config flags; rate and burst below */
	__u32 rate, burst;
	int repeat;
	__u32 action; /* XDP action of the last run */
	struct {
		enum beam_reason reason;
		__u64 packets;
	} exp[2];
	struct expect_flow flow;
};

#define V4(...)                          \
	{                                \
		.family = 4, __VA_ARGS__ \
	}
#define V6(...)                          \
	{                                \
		.family = 6, __VA_ARGS__ \
	}
#define ONE(r)               \
	{                    \
		{            \
			r, 1 \
		}            \
	}
#define FLOW(pk, lg, sh, dl, r)      \
	{                            \
		1, pk, lg, sh, dl, r \
	}
#define NOFLOW    \
	{         \
		0 \
	}

static const struct row rows[] = {
	{"ipv4_initial_1200", V4(.quic = Q_INITIAL, .payload = 1200, .src = 1), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv4_initial_1199", V4(.quic = Q_INITIAL, .payload = 1199, .src = 2), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL), FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"ipv6_initial_1200", V6(.quic = Q_INITIAL, .payload = 1200, .src = 3), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv6_initial_1199", V6(.quic = Q_INITIAL, .payload = 1199, .src = 4), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL), FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"ipv4_v2_initial_1200", V4(.quic = Q_INITIAL_V2, .payload = 1200, .src = 5), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv4_v2_initial_1199", V4(.quic = Q_INITIAL_V2, .payload = 1199, .src = 6), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL), FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"ipv4_handshake_small", V4(.quic = Q_HANDSHAKE, .payload = 100, .src = 7), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv4_short_header", V4(.quic = Q_SHORT, .payload = 60, .src = 8), 0, 0, 0, 1, XDP_PASS,
	 ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	{"ipv6_short_header", V6(.quic = Q_SHORT, .payload = 60, .src = 9), 0, 0, 0, 1, XDP_PASS,
	 ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	{"short_header_cut_dcid", V4(.quic = Q_SHORT, .payload = 10, .src = 10), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"vlan_ipv4_initial", V4(.vlans = 1, .quic = Q_INITIAL, .payload = 1200, .src = 11), 0, 0,
	 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"qinq_ipv6_initial", V6(.vlans = 2, .quic = Q_INITIAL, .payload = 1200, .src = 12), 0, 0,
	 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"qinq_ipv4_short_initial", V4(.vlans = 2, .quic = Q_INITIAL, .payload = 1000, .src = 13),
	 0, 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL),
	 FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"three_vlan_tags", V4(.vlans = 3, .quic = Q_INITIAL, .payload = 1200, .src = 14), 0, 0, 0,
	 1, XDP_PASS, ONE(BEAM_REASON_NOT_IP), NOFLOW},
	{"ipv4_options", V4(.ip_opts = 12, .quic = Q_INITIAL, .payload = 1200, .src = 15), 0, 0, 0,
	 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv4_options_short_initial",
	 V4(.ip_opts = 40, .quic = Q_INITIAL, .payload = 1199, .src = 16), 0, 0, 0, 1, XDP_DROP,
	 ONE(BEAM_REASON_SHORT_INITIAL), FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"ipv4_ihl_too_small", V4(.ihl_override = 4, .quic = Q_INITIAL, .payload = 1200, .src = 17),
	 0, 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_BAD_HEADER), NOFLOW},
	{"ipv4_first_fragment", V4(.v4_frag = 1, .quic = Q_INITIAL, .payload = 1200, .src = 18), 0,
	 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_FRAGMENT), NOFLOW},
	{"ipv4_later_fragment", V4(.v4_frag = 2, .payload = 600, .src = 19), 0, 0, 0, 1, XDP_PASS,
	 ONE(BEAM_REASON_FRAGMENT), NOFLOW},
	{"ipv6_ext_headers", V6(.v6_ext = 3, .quic = Q_INITIAL, .payload = 1200, .src = 20), 0, 0,
	 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 1, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"ipv6_ext_short_initial", V6(.v6_ext = 2, .quic = Q_INITIAL, .payload = 1199, .src = 21),
	 0, 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL),
	 FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	{"ipv6_fragment",
	 V6(.v6_ext = 1, .v6_frag = 1, .quic = Q_INITIAL, .payload = 1200, .src = 22), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_FRAGMENT), NOFLOW},
	{"ipv6_atomic_fragment", V6(.v6_frag = 2, .quic = Q_SHORT, .payload = 60, .src = 23), 0, 0,
	 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	{"ipv6_too_many_ext",
	 V6(.v6_ext = 3, .v6_pad_ext = 4, .quic = Q_SHORT, .payload = 60, .src = 24), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_BAD_HEADER), NOFLOW},
	{"ipv6_ext_then_tcp", V6(.v6_ext = 2, .proto = IPPROTO_TCP, .src = 25), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_NOT_UDP), NOFLOW},
	{"udp_len_beyond_frame", V4(.udp_len_delta = 1, .quic = Q_SHORT, .payload = 60, .src = 26),
	 0, 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"udp_len_beyond_ip", V6(.ip_len_delta = -1, .quic = Q_SHORT, .payload = 60, .src = 27), 0,
	 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	/* IP lengths that disagree with the frame: beam's port drops them. */
	{"ipv4_total_len_4000",
	 V4(.ip_len_delta = 4000 - 88, .quic = Q_SHORT, .payload = 60, .src = 141), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv4_total_len_65535",
	 V4(.ip_len_delta = 65535 - 88, .quic = Q_SHORT, .payload = 60, .src = 142), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv4_total_len_below_headers",
	 V4(.ip_len_delta = 18 - 88, .quic = Q_SHORT, .payload = 60, .src = 143), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv6_payload_len_4000",
	 V6(.ip_len_delta = 4000 - 68, .quic = Q_SHORT, .payload = 60, .src = 144), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv6_payload_len_65535",
	 V6(.ip_len_delta = 65535 - 68, .quic = Q_SHORT, .payload = 60, .src = 145), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv4_udp_len_beyond_ip",
	 V4(.ip_len_delta = -1, .quic = Q_SHORT, .payload = 60, .src = 146), 0, 0, 0, 1, XDP_DROP,
	 ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"ipv4_total_len_under_padding",
	 V4(.ip_len_delta = -40, .udp_len_delta = -40, .quic = Q_SHORT, .payload = 60, .src = 147),
	 0, 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET),
	 FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	{"udp_len_empty", V4(.udp_len_fixed = 8, .quic = Q_SHORT, .payload = 60, .src = 28), 0, 0,
	 0, 1, XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"udp_len_below_header", V4(.udp_len_fixed = 3, .quic = Q_SHORT, .payload = 60, .src = 29),
	 0, 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 0, 0, 0, BEAM_REASON_MALFORMED)},
	{"long_header_cut_in_dcid", V4(.quic = Q_INITIAL, .payload = 9, .src = 30), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 1, 0, 0, BEAM_REASON_MALFORMED)},
	{"long_header_dcid_21", V4(.quic = Q_BAD_DCID, .payload = 1200, .src = 31), 0, 0, 0, 1,
	 XDP_DROP, ONE(BEAM_REASON_MALFORMED), FLOW(1, 1, 0, 0, BEAM_REASON_MALFORMED)},
	{"unknown_version_1200", V4(.quic = Q_UNKNOWN, .payload = 1200, .src = 32), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_UNKNOWN_VERSION), FLOW(1, 1, 0, 8, BEAM_REASON_UNKNOWN_VERSION)},
	{"unknown_version_small", V6(.quic = Q_UNKNOWN, .payload = 50, .src = 33), 0, 0, 0, 1,
	 XDP_PASS, ONE(BEAM_REASON_UNKNOWN_VERSION), FLOW(1, 1, 0, 8, BEAM_REASON_UNKNOWN_VERSION)},
	{"ipv4_tcp", V4(.proto = IPPROTO_TCP, .dport = BEAM_PORT, .src = 34), 0, 0, 0, 1, XDP_PASS,
	 ONE(BEAM_REASON_NOT_UDP), NOFLOW},
	{"ipv6_icmp", V6(.proto = 58, .src = 35), 0, 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_NOT_UDP),
	 NOFLOW},
	{"arp", {.family = 0, .src = 36}, 0, 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_NOT_IP), NOFLOW},
	{"udp_other_port", V4(.dport = 53, .quic = Q_INITIAL, .payload = 100, .src = 37), 0, 0, 0,
	 1, XDP_PASS, ONE(BEAM_REASON_OTHER_PORT), NOFLOW},
	{"udp_other_port_bad_len", V6(.dport = 53, .udp_len_delta = 500, .payload = 100, .src = 38),
	 0, 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_OTHER_PORT), NOFLOW},
	{"second_beam_port", V4(.dport = BEAM_PORT2, .quic = Q_SHORT, .payload = 60, .src = 39), 0,
	 0, 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	{"steer_without_socket", V4(.quic = Q_SHORT, .payload = 60, .src = 40), BEAM_CFG_STEER, 0,
	 0, 1, XDP_PASS, ONE(BEAM_REASON_TO_SOCKET), FLOW(1, 0, 1, 16, BEAM_REASON_TO_SOCKET)},
	/* steering on: what is not QUIC for beam is no miss */
	{"steer_on_other_port_udp", V4(.dport = 53, .payload = 60, .src = 45), BEAM_CFG_STEER, 0, 0,
	 1, XDP_PASS, ONE(BEAM_REASON_OTHER_PORT), NOFLOW},
	{"steer_on_short_initial", V4(.quic = Q_INITIAL, .payload = 1000, .src = 46),
	 BEAM_CFG_STEER, 0, 0, 1, XDP_DROP, ONE(BEAM_REASON_SHORT_INITIAL),
	 FLOW(1, 1, 0, 8, BEAM_REASON_SHORT_INITIAL)},
	/* rate 1/s, burst 4: four Initials pass, the other six are over the rate. */
	{"initial_flood_rate_limited",
	 V4(.quic = Q_INITIAL, .payload = 1200, .src = 41),
	 BEAM_CFG_RATE_LIMIT,
	 1,
	 4,
	 10,
	 XDP_DROP,
	 {{BEAM_REASON_TO_SOCKET, 4}, {BEAM_REASON_INITIAL_RATE, 6}},
	 FLOW(10, 10, 0, 8, BEAM_REASON_INITIAL_RATE)},
	{"initial_flood_v6_rate_limited",
	 V6(.quic = Q_INITIAL, .payload = 1300, .src = 42),
	 BEAM_CFG_RATE_LIMIT,
	 1,
	 2,
	 10,
	 XDP_DROP,
	 {{BEAM_REASON_TO_SOCKET, 2}, {BEAM_REASON_INITIAL_RATE, 8}},
	 FLOW(10, 10, 0, 8, BEAM_REASON_INITIAL_RATE)},
	/* The limiter counts Initials only: short headers from the source still pass. */
	{"flood_source_short_header_passes",
	 V4(.quic = Q_SHORT, .payload = 60, .src = 41),
	 BEAM_CFG_RATE_LIMIT,
	 1,
	 4,
	 5,
	 XDP_PASS,
	 {{BEAM_REASON_TO_SOCKET, 5}},
	 FLOW(15, 10, 5, 16, BEAM_REASON_TO_SOCKET)},
	/* --initial-rate 0: the limit flag is on, but 0/s means no per-source limit */
	{"initial_flood_rate_zero_is_off",
	 V4(.quic = Q_INITIAL, .payload = 1200, .src = 44),
	 BEAM_CFG_RATE_LIMIT,
	 0,
	 0,
	 10,
	 XDP_PASS,
	 {{BEAM_REASON_TO_SOCKET, 10}},
	 FLOW(10, 10, 0, 8, BEAM_REASON_TO_SOCKET)},
	{"initial_flood_unlimited",
	 V4(.quic = Q_INITIAL, .payload = 1200, .src = 43),
	 0,
	 1,
	 4,
	 10,
	 XDP_PASS,
	 {{BEAM_REASON_TO_SOCKET, 10}},
	 FLOW(10, 10, 0, 8, BEAM_REASON_TO_SOCKET)},
};

/* The rows that count a steering miss on every run (no socket is in xsks
 * while the table runs); every other row counts none. */
static const struct {
	const char *row;
	enum beam_steer_miss miss;
} row_misses[] = {
	{"steer_without_socket", BEAM_STEER_MISS_NO_SOCKET},
};

/* enum beam_steer_miss + 1 that @r counts, 0 for none. */
static int row_miss(const struct row *r)
{
	size_t i;

	for (i = 0; i < sizeof(row_misses) / sizeof(row_misses[0]); i++) {
		if (!strcmp(row_misses[i].row, r->name))
			return row_misses[i].miss + 1;
	}
	return 0;
}

static void check_flow(const struct row *r, const struct frame *f)
{
	struct beam_flow_key key;
	struct beam_flow flow;
	int err;

	flow_key_of(&r->spec, &key);
	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key, &flow);
	if (!r->flow.present) {
		if (!err)
			fail_msg("%s: a flow entry was created for a frame beam does not own",
				 r->name);
		return;
	}
	if (err)
		fail_msg("%s: no flow entry: %s", r->name, strerror(errno));
	assert_int_equal(flow.packets, r->flow.packets);
	assert_true(flow.bytes >= f->len * r->repeat);
	assert_int_equal(flow.quic_long, r->flow.quic_long);
	assert_int_equal(flow.quic_short, r->flow.quic_short);
	assert_int_equal(flow.dcid_len, r->flow.dcid_len);
	assert_int_equal(flow.last_reason, r->flow.last_reason);
	assert_true(flow.first_seen_ns > 0 && flow.last_seen_ns >= flow.first_seen_ns);
	if (r->flow.dcid_len == 8)
		assert_int_equal(flow.dcid[0], 0xd0);
	else if (r->flow.dcid_len == BEAM_CID_LEN)
		assert_int_equal(flow.dcid[BEAM_CID_LEN - 1], 0xa0 + BEAM_CID_LEN - 1);
}

static void test_xdp_row(void **state)
{
	const struct row *r = *state;
	struct beam_counter before[BEAM_REASON__MAX];
	__u64 exp[BEAM_REASON__MAX] = {0};
	__u64 misses[BEAM_STEER_MISS__MAX];
	struct frame f;
	__u32 retval;
	int i;

	build(&r->spec, &f);
	set_config(r->flags, r->rate, r->burst);
	for (i = 0; i < 2; i++)
		exp[r->exp[i].reason] += r->exp[i].packets;

	xdp_fixture_read_stats(before);
	read_misses(misses);
	assert_int_equal(run(f.b, f.len, r->repeat, &retval), 0);
	assert_int_equal(retval, r->action);
	assert_stats_delta(before, exp, f.len, r->name);
	assert_misses_delta(misses, row_miss(r), r->repeat, r->name);
	check_flow(r, &f);
}

/* ---- cuts at every header boundary ---- */

struct cut_row {
	const char *name;
	struct fspec spec;
};

static const struct cut_row cut_rows[] = {
	{"cut_qinq_ipv4_options_initial",
	 V4(.vlans = 2, .ip_opts = 8, .quic = Q_INITIAL, .payload = 1200, .src = 101)},
	{"cut_vlan_ipv6_ext_initial",
	 V6(.vlans = 1, .v6_ext = 3, .v6_frag = 2, .quic = Q_INITIAL, .payload = 1200, .src = 102)},
	{"cut_ipv4_short_header", V4(.quic = Q_SHORT, .payload = 60, .src = 103)},
};

/* A frame that ends before the UDP header is complete cannot be told apart
 * from anyone else's: passed as BAD_HEADER. Once beam's port is readable, a
 * UDP length beyond the frame is MALFORMED and dropped. */
static void test_xdp_cut(void **state)
{
	const struct cut_row *r = *state;
	struct beam_counter before[BEAM_REASON__MAX];
	struct beam_flow_key key;
	struct beam_flow flow;
	__u64 malformed = 0;
	struct frame f;
	__u32 retval;
	int i;

	build(&r->spec, &f);
	set_config(0, 0, 0);
	flow_key_of(&r->spec, &key);
	assert_true(f.nbounds >= 5);
	print_message("# %s: %d cuts, UDP header at %zu\n", r->name, f.nbounds, f.udp_off);
	for (i = 0; i < f.nbounds; i++) {
		__u64 exp[BEAM_REASON__MAX] = {0};
		size_t cut = f.bounds[i];
		bool ported = cut >= f.udp_off + 8;
		char what[96];

		if (cut < ETH_HLEN || cut >= f.len)
			continue;
		snprintf(what, sizeof(what), "%s at %zu of %zu", r->name, cut, f.len);
		exp[ported ? BEAM_REASON_MALFORMED : BEAM_REASON_BAD_HEADER] = 1;
		malformed += ported;

		xdp_fixture_read_stats(before);
		assert_int_equal(run(f.b, cut, 1, &retval), 0);
		if (retval != (ported ? XDP_DROP : XDP_PASS))
			fail_msg("%s: action %u", what, retval);
		assert_stats_delta(before, exp, cut, what);
	}
	assert_true(malformed > 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key, &flow), 0);
	assert_int_equal(flow.packets, malformed);
	assert_int_equal(flow.last_reason, BEAM_REASON_MALFORMED);
}

/* Changing `config` changes the verdict without reloading: a port removed is
 * no longer beam's. */
static void test_xdp_config_live(void **state)
{
	struct fspec s = V4(.dport = BEAM_PORT2, .quic = Q_SHORT, .payload = 60, .src = 120);
	struct beam_counter before[BEAM_REASON__MAX];
	__u64 exp[BEAM_REASON__MAX] = {0};
	struct beam_config cfg = {0};
	struct frame f;
	__u32 retval, zero = 0;

	(void)state;
	build(&s, &f);
	cfg.ports[0] = BEAM_PORT;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);
	xdp_fixture_read_stats(before);
	assert_int_equal(run(f.b, f.len, 1, &retval), 0);
	assert_int_equal(retval, XDP_PASS);
	exp[BEAM_REASON_OTHER_PORT] = 1;
	assert_stats_delta(before, exp, f.len, "port removed");
}

static const char *xdp_name(enum beam_reason r)
{
	static const char *const names[BEAM_REASON__MAX] = {
		[BEAM_REASON_NOT_IP] = "not_ip",
		[BEAM_REASON_NOT_UDP] = "not_udp",
		[BEAM_REASON_OTHER_PORT] = "other_port",
		[BEAM_REASON_FRAGMENT] = "fragment",
		[BEAM_REASON_UNKNOWN_VERSION] = "unknown",
		[BEAM_REASON_TO_SOCKET] = "to_socket",
		[BEAM_REASON_TO_XSK] = "to_xsk",
		[BEAM_REASON_MALFORMED] = "malformed",
		[BEAM_REASON_SHORT_INITIAL] = "short_init",
		[BEAM_REASON_INITIAL_RATE] = "initial_rate",
		[BEAM_REASON_BAD_HEADER] = "bad_header",
	};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ---- steering to an AF_XDP socket ---- */

#define XSK_FRAMES 64
#define XSK_FRAME  4096

/* A bare AF_XDP socket bound to queue 0 of loopback in copy mode: enough for
 * the program to find it in `xsks`. No ring is mapped; nothing is received. */
static int xsk_open(void **umem_area)
{
	struct sockaddr_xdp sxdp = {.sxdp_family = AF_XDP, .sxdp_flags = XDP_COPY};
	struct xdp_umem_reg reg = {.len = XSK_FRAMES * XSK_FRAME, .chunk_size = XSK_FRAME};
	int fd, ring = XSK_FRAMES;

	*umem_area =
		mmap(NULL, reg.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*umem_area == MAP_FAILED)
		return -errno;
	reg.addr = (__u64)(unsigned long)*umem_area;
	sxdp.sxdp_ifindex = if_nametoindex("lo");
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &ring, sizeof(ring)) ||
	    bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* xsk_open, retried while the kernel still holds an earlier test's socket on
 * queue 0 (it lets go a moment late), then put in xsks[0]; fails the test if
 * no socket can be had. */
static int xsk_register(void **umem_area)
{
	__u32 q = 0;
	int xsk, i;

	for (i = 0; i < 100; i++) {
		xsk = xsk_open(umem_area);
		if (xsk != -EBUSY)
			break;
		munmap(*umem_area, XSK_FRAMES * XSK_FRAME);
		usleep(20000);
	}
	if (xsk < 0)
		fail_msg("cannot bind an AF_XDP socket to lo queue 0: %s", strerror(-xsk));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.xsks), &q, &xsk, 0), 0);
	return xsk;
}

/* With a socket in xsks[0] and steering on, QUIC for beam is redirected with
 * its arrival time in front of the frame; steering off, it goes to the socket
 * path; other traffic is never steered. */
static void test_xdp_steer_to_xsk(void **state)
{
	struct fspec quic = V4(.quic = Q_SHORT, .payload = 60, .src = 130);
	struct fspec other = V4(.dport = 53, .payload = 60, .src = 131);
	struct beam_counter before[BEAM_REASON__MAX];
	__u64 exp[BEAM_REASON__MAX] = {0};
	struct xdp_md ctx_in = {0}, ctx_out = {0};
	struct beam_xdp_meta meta;
	static __u8 out[FRAME_MAX + 64];
	struct beam_flow_key key;
	struct beam_flow flow;
	__u32 q = 0;
	void *umem;
	struct frame f;
	int xsk, i;

	(void)state;
	xsk = xsk_register(&umem);

	ctx_in.ingress_ifindex = if_nametoindex("lo");
	ctx_in.rx_queue_index = 0;
	for (i = 0; i < 3; i++) {
		const struct fspec *s = i == 2 ? &other : &quic;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
			    .ctx_size_out = sizeof(ctx_out));
		enum beam_reason want = i == 0	 ? BEAM_REASON_TO_XSK
					: i == 1 ? BEAM_REASON_TO_SOCKET
						 : BEAM_REASON_OTHER_PORT;

		build(s, &f);
		opts.data_in = f.b;
		opts.data_size_in = f.len;
		ctx_in.data_end = f.len; /* the kernel wants the frame's extent in ctx too */
		set_config(i == 1 ? 0 : BEAM_CFG_STEER, 0, 0);
		memset(exp, 0, sizeof(exp));
		exp[want] = 1;
		xdp_fixture_read_stats(before);
		assert_int_equal(
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts), 0);
		assert_stats_delta(before, exp, f.len, xdp_name(want));
		if (i == 0) {
			assert_int_equal(opts.retval, XDP_REDIRECT);
			/* data_out starts at data_meta; ctx_out.data is the metadata size. */
			assert_int_equal(ctx_out.data, sizeof(meta));
			memcpy(&meta, out, sizeof(meta));
			assert_true(meta.rx_ns > 0);
			assert_memory_equal(out + sizeof(meta), f.b, f.len);
		} else {
			assert_int_equal(opts.retval, XDP_PASS);
		}
	}
	flow_key_of(&quic, &key);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key, &flow), 0);
	assert_int_equal(flow.packets, 2);
	assert_int_equal(flow.last_reason, BEAM_REASON_TO_SOCKET);

	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.xsks), &q), 0);
	close(xsk);
	munmap(umem, XSK_FRAMES * XSK_FRAME);
}

/* With beamd's worker count in the config, queue 0's socket (worker 0's)
 * gets only frames whose DCID belongs to worker 0; the rest go to the
 * socket path, where the sk_reuseport program finds their worker. */
static void test_xdp_steer_by_worker(void **state)
{
	static const __u8 mark[3] = {0xa0, 0xa1, 0xa2};
	struct fspec quic = V4(.quic = Q_SHORT, .payload = 60, .src = 140);
	struct xdp_md ctx_in = {0};
	struct beam_config cfg;
	static __u8 out[FRAME_MAX + 64];
	__u8 *dcid, client[BEAM_CID_MAX_LEN] = {0}, cid[BEAM_CID_MAX_LEN] = {0};
	__u32 q = 0, zero = 0;
	struct frame f;
	void *umem;
	int xsk, i;

	(void)state;
	xsk = xsk_register(&umem);
	build(&quic, &f);
	dcid = memmem(f.b, f.len, mark, sizeof(mark));
	assert_non_null(dcid);
	memcpy(client, dcid, BEAM_CID_LEN);
	ctx_in.ingress_ifindex = if_nametoindex("lo");
	for (i = 0; i < 5; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in));
		__u32 workers = i == 4 ? 0 : 2;
		bool to_xsk;

		set_config(BEAM_CFG_STEER, 0, 0);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.config), &zero, &cfg),
				 0);
		cfg.workers = workers;
		assert_int_equal(
			bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);
		if (i < 2 || i == 4) {
			/* one of beamd's CIDs: worker 0 (i 0), worker 1 (i 1, 4) */
			dcid[0] = BEAM_CID_FIRST_OCTET;
			dcid[BEAM_CID_WORKER_OFFSET] = i == 0 ? 0 : 1;
			to_xsk = i == 0 || i == 4; /* 4: no worker check */
		} else if (i == 2) {
			/* a DCID that is not ours: its hash decides */
			memcpy(dcid, client, BEAM_CID_LEN);
			to_xsk = beam_cid_worker(client, BEAM_CID_LEN, 2) == 0;
		} else {
			/* our layout naming a worker past the count: hashed too */
			dcid[0] = BEAM_CID_FIRST_OCTET;
			dcid[BEAM_CID_WORKER_OFFSET] = 9;
			memcpy(cid, dcid, BEAM_CID_LEN); /* zero-padded, as the program copies it */
			to_xsk = beam_cid_worker(cid, BEAM_CID_LEN, 2) == 0;
		}
		opts.data_in = f.b;
		opts.data_size_in = f.len;
		ctx_in.data_end = f.len;
		assert_int_equal(
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts), 0);
		if (opts.retval != (to_xsk ? XDP_REDIRECT : XDP_PASS))
			fail_msg("case %d: verdict %u, want %s", i, opts.retval,
				 to_xsk ? "redirect" : "pass");
	}
	set_config(BEAM_CFG_STEER, 0, 0);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.xsks), &q), 0);
	close(xsk);
	munmap(umem, XSK_FRAMES * XSK_FRAME);
}

/* Two beamds on one interface: xsk_port names the one whose sockets are in
 * xsks; the other beam port's frames go to the kernel (its beamd's UDP socket)
 * on every queue, and xsk_port 0 redirects every beam port. */
static void test_xdp_steer_only_xsk_port(void **state)
{
	static const __u16 xsk_port[4] = {BEAM_PORT, BEAM_PORT, 0, 0};
	static const __u16 dport[4] = {BEAM_PORT, BEAM_PORT2, BEAM_PORT, BEAM_PORT2};
	struct xdp_md ctx_in = {0};
	static __u8 out[FRAME_MAX + 64];
	struct beam_config cfg;
	__u32 q = 0, zero = 0;
	struct frame f;
	void *umem;
	int xsk, i;

	(void)state;
	xsk = xsk_register(&umem);
	ctx_in.ingress_ifindex = if_nametoindex("lo");
	for (i = 0; i < 4; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in));
		struct fspec s = V4(.dport = dport[i], .quic = Q_SHORT, .payload = 60, .src = 150);
		bool to_xsk = !xsk_port[i] || xsk_port[i] == dport[i];

		set_config(BEAM_CFG_STEER, 0, 0);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.config), &zero, &cfg),
				 0);
		cfg.xsk_port = xsk_port[i];
		assert_int_equal(
			bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);
		build(&s, &f);
		opts.data_in = f.b;
		opts.data_size_in = f.len;
		ctx_in.data_end = f.len;
		assert_int_equal(
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts), 0);
		if (opts.retval != (to_xsk ? XDP_REDIRECT : XDP_PASS))
			fail_msg("xsk_port %u, port %u: verdict %u, want %s", xsk_port[i], dport[i],
				 opts.retval, to_xsk ? "redirect" : "pass");
	}
	set_config(BEAM_CFG_STEER, 0, 0);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.xsks), &q), 0);
	close(xsk);
	munmap(umem, XSK_FRAMES * XSK_FRAME);
}

/* Steering on, each frame that stays on the socket path counts the first
 * check it failed in steer_misses, beside to_socket; a redirected frame, or
 * any frame with steering off, counts none. */
static void test_xdp_steer_miss_causes(void **state)
{
	static const struct {
		const char *name;
		__u32 flags;
		__u16 workers, xsk_port, dport;
		unsigned int payload;
		int worker;  /* the worker octet of the DCID */
		bool nosock; /* xsks[0] emptied first */
		int miss;    /* enum beam_steer_miss + 1, 0: none */
		__u32 action;
	} cases[] = {
		{"redirected", BEAM_CFG_STEER, 2, BEAM_PORT, BEAM_PORT, 60, 0, false, 0,
		 XDP_REDIRECT},
		/* each cause at once: steering off counts none */
		{"steering_off", 0, 2, BEAM_PORT, BEAM_PORT2, 2000, 1, false, 0, XDP_PASS},
		/* the first failed check counts, in the program's order */
		{"other_port", BEAM_CFG_STEER, 2, BEAM_PORT, BEAM_PORT2, 2000, 1, false,
		 BEAM_STEER_MISS_OTHER_PORT + 1, XDP_PASS},
		{"too_big", BEAM_CFG_STEER, 2, BEAM_PORT, BEAM_PORT, 2000, 1, false,
		 BEAM_STEER_MISS_TOO_BIG + 1, XDP_PASS},
		{"fits_exactly", BEAM_CFG_STEER, 2, 0, BEAM_PORT,
		 BEAM_XSK_FRAME_SIZE - sizeof(struct beam_xdp_meta) - 42, 0, false, 0,
		 XDP_REDIRECT},
		{"other_worker", BEAM_CFG_STEER, 2, 0, BEAM_PORT, 60, 1, false,
		 BEAM_STEER_MISS_OTHER_WORKER + 1, XDP_PASS},
		{"no_socket", BEAM_CFG_STEER, 2, BEAM_PORT, BEAM_PORT, 60, 0, true,
		 BEAM_STEER_MISS_NO_SOCKET + 1, XDP_PASS},
	};
	static const __u8 mark[3] = {0xa0, 0xa1, 0xa2};
	struct beam_counter before[BEAM_REASON__MAX];
	__u64 misses[BEAM_STEER_MISS__MAX];
	static __u8 out[FRAME_MAX + 64];
	struct xdp_md ctx_in = {0};
	__u32 q = 0, zero = 0;
	struct beam_config cfg;
	void *umem;
	size_t i;
	int xsk;

	(void)state;
	xsk = xsk_register(&umem);
	ctx_in.ingress_ifindex = if_nametoindex("lo");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in));
		struct fspec s = V4(.dport = cases[i].dport, .quic = Q_SHORT,
				    .payload = cases[i].payload, .src = 160 + i);
		__u64 exp[BEAM_REASON__MAX] = {0};
		struct frame f;
		__u8 *dcid;

		if (cases[i].nosock)
			bpf_map_delete_elem(bpf_map__fd(skel->maps.xsks), &q);
		set_config(cases[i].flags, 0, 0);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.config), &zero, &cfg),
				 0);
		cfg.workers = cases[i].workers;
		cfg.xsk_port = cases[i].xsk_port;
		assert_int_equal(
			bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);
		build(&s, &f);
		dcid = memmem(f.b, f.len, mark, sizeof(mark));
		assert_non_null(dcid);
		dcid[0] = BEAM_CID_FIRST_OCTET;
		dcid[BEAM_CID_WORKER_OFFSET] = cases[i].worker;
		opts.data_in = f.b;
		opts.data_size_in = f.len;
		ctx_in.data_end = f.len;
		exp[cases[i].action == XDP_REDIRECT ? BEAM_REASON_TO_XSK : BEAM_REASON_TO_SOCKET] =
			1;

		xdp_fixture_read_stats(before);
		read_misses(misses);
		assert_int_equal(
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts), 0);
		if (opts.retval != cases[i].action)
			fail_msg("%s: verdict %u, want %u", cases[i].name, opts.retval,
				 cases[i].action);
		assert_stats_delta(before, exp, f.len, cases[i].name);
		assert_misses_delta(misses, cases[i].miss, 1, cases[i].name);
	}
	set_config(BEAM_CFG_STEER, 0, 0);
	close(xsk);
	munmap(umem, XSK_FRAMES * XSK_FRAME);
}

int main(void)
{
	size_t nrows = sizeof(rows) / sizeof(rows[0]),
	       ncuts = sizeof(cut_rows) / sizeof(cut_rows[0]);
	struct CMUnitTest *tests;
	struct beam_xdp *probe;
	size_t i, n = 0;
	int ret;

	if (geteuid() != 0)
		return fixture_skip_all(FIXTURE_NEEDS_ROOT);
	probe = beam_xdp__open_and_load();
	if (!probe) {
		if (errno == EPERM)
			return fixture_skip_all("loading BPF programs is not permitted here");
		fprintf(stderr, "beam_xdp failed to load: %s\n", strerror(errno));
		return 1;
	}
	beam_xdp__destroy(probe);

	tests = calloc(nrows + ncuts + 5, sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < nrows; i++) {
		tests[n].name = rows[i].name;
		tests[n].test_func = test_xdp_row;
		tests[n++].initial_state = (void *)&rows[i];
	}
	for (i = 0; i < ncuts; i++) {
		tests[n].name = cut_rows[i].name;
		tests[n].test_func = test_xdp_cut;
		tests[n++].initial_state = (void *)&cut_rows[i];
	}
	tests[n].name = "config_changes_without_reload";
	tests[n++].test_func = test_xdp_config_live;
	tests[n].name = "steer_to_xsk_with_metadata";
	tests[n++].test_func = test_xdp_steer_to_xsk;
	tests[n].name = "steer_only_the_queue_workers_frames";
	tests[n++].test_func = test_xdp_steer_by_worker;
	tests[n].name = "steer_only_the_xsk_owners_port";
	tests[n++].test_func = test_xdp_steer_only_xsk_port;
	tests[n].name = "steer_misses_by_cause";
	tests[n++].test_func = test_xdp_steer_miss_causes;

	ret = _cmocka_run_group_tests("beam_xdp", tests, n, xdp_fixture_setup,
				      xdp_fixture_teardown);
	free(tests);
	return ret;
}
