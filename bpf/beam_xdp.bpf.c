// SPDX-License-Identifier: MIT
/*
 * beam_xdp.bpf.c - beam's XDP program: parse, count, steer and drop at the edge.
 *
 * Every frame gets one reason (enum beam_reason) counted in `stats`; the
 * reason decides the verdict. Frames that are not UDP to a beam port pass
 * untouched. UDP to a beam port is parsed as QUIC, counted per flow in `flows`,
 * and dropped (junk, short client Initials, Initial floods), passed to beamd's
 * UDP socket, or redirected to the AF_XDP socket bound on the receiving queue.
 * With steering on, `steer_misses` counts why a frame stayed on the socket path.
 *
 * `conns` and `latency` are not used here: they are defined in this object so
 * they are created and pinned beside the others, and beamd fills them.
 */
/* vmlinux.h of 6.18 has a typedef named `config`, the name our map must
 * carry (the pin name is the map name): rename the typedef out of the way. */
#define config vmlinux_config
#include "vmlinux.h"
#undef config

#include "beam_maps.h"
#include "beam_parse.bpf.h"

/* Parsers return a reason, or PARSE_MORE when parsing goes on. */
#define PARSE_MORE BEAM_REASON__MAX

#define NSEC_PER_SEC 1000000000ull

/* xsks: XSKMAP, key = RX queue, value = AF_XDP socket (beamd inserts). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, BEAM_XSKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* stats: key = enum beam_reason, value = packets and bytes, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BEAM_REASON__MAX);
	__type(key, __u32);
	__type(value, struct beam_counter);
} stats SEC(".maps");

/* steer_misses: key = enum beam_steer_miss, value = frames, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BEAM_STEER_MISS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_misses SEC(".maps");

/* flows: key = addresses, ports, protocol; value = counters of that flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BEAM_FLOWS_MAX);
	__type(key, struct beam_flow_key);
	__type(value, struct beam_flow);
} flows SEC(".maps");

/* config: key 0 = the one struct beam_config. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct beam_config);
} config SEC(".maps");

/* rate: key = source address (IPv4-mapped), value = its Initial token bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BEAM_RATE_MAX);
	__type(key, __u8[16]);
	__type(value, struct beam_rate);
} rate SEC(".maps");

/* conns: key = connection ID beamd issued, value = that connection (beamd). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BEAM_CONNS_MAX);
	__type(key, struct beam_cid);
	__type(value, struct beam_conn);
} conns SEC(".maps");

/* latency: key = enum beam_hist_id, value = log2 histogram; mmapable for beamd. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BEAM_HIST__MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct beam_hist);
} latency SEC(".maps");

/* What the QUIC parser learned about one packet. */
struct quic_info {
	__u8 dcid[BEAM_CID_MAX_LEN];
	__u8 dcid_len;
	__u8 is_long;
	__u8 is_initial;
};

static __always_inline void map_ipv4(__u8 *dst, const __be32 *addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, addr, 4);
}

/* IPv4 with options. @l4_len gets the IP payload length per tot_len. */
static __always_inline int parse_ipv4(struct hdr_cursor *c, struct beam_flow_key *key,
				      __u32 *l4_len)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return BEAM_REASON_BAD_HEADER;

	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return BEAM_REASON_BAD_HEADER;

	if (c->pos + hlen > c->end)
		return BEAM_REASON_BAD_HEADER;

	if (ip->frag_off & IP_MF_OFFSET_BE)
		return BEAM_REASON_FRAGMENT;

	if (ip->protocol != PROTO_UDP)
		return BEAM_REASON_NOT_UDP;

	tot = bpf_ntohs(ip->tot_len);
	*l4_len = tot > hlen ? tot - hlen : 0;
	map_ipv4(key->saddr, &ip->saddr);
	map_ipv4(key->daddr, &ip->daddr);
	c->pos += hlen;
	return PARSE_MORE;
}

/* IPv6 and up to BEAM_IPV6_EXT_MAX extension headers. @l4_len gets the
 * payload length left after the extension headers. */
static __always_inline int parse_ipv6(struct hdr_cursor *c, struct beam_flow_key *key,
				      __u32 *l4_len)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ip6_frag_beam *frag;
	struct ip6_ext_beam *ext;
	__u32 payload, ext_len = 0, hlen;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return BEAM_REASON_BAD_HEADER;

	if (ip6->version != 6)
		return BEAM_REASON_BAD_HEADER;

	nexthdr = ip6->nexthdr;
	payload = bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(key->saddr, &ip6->saddr, 16);
	__builtin_memcpy(key->daddr, &ip6->daddr, 16);
	c->pos = ip6 + 1;

	/* A bounded loop, not unrolled: clang 14 cannot unroll it, 6.18 verifies it. */
	for (i = 0; i < BEAM_IPV6_EXT_MAX; i++) {
		if (nexthdr == PROTO_UDP)
			break;
		if (nexthdr == PROTO_FRAGMENT) {
			frag = c->pos;
			if ((void *)(frag + 1) > c->end)
				return BEAM_REASON_BAD_HEADER;
			/* Offset 0 without more-fragments is an atomic fragment
			 * (RFC 6946): the whole datagram, parse on. */
			if (frag->frag_off & (IP6_FRAG_OFF_BE | IP6_FRAG_MORE_BE))
				return BEAM_REASON_FRAGMENT;
			nexthdr = frag->nexthdr;
			c->pos = frag + 1;
			ext_len += sizeof(*frag);
			continue;
		}
		if (nexthdr != PROTO_HOPOPTS && nexthdr != PROTO_ROUTING &&
		    nexthdr != PROTO_DSTOPTS)
			return BEAM_REASON_NOT_UDP;
		ext = c->pos;
		if ((void *)(ext + 1) > c->end)
			return BEAM_REASON_BAD_HEADER;
		hlen = (ext->hdrlen + 1) * 8;
		if (c->pos + hlen > c->end)
			return BEAM_REASON_BAD_HEADER;
		nexthdr = ext->nexthdr;
		c->pos += hlen;
		ext_len += hlen;
	}
	/* More extension headers than we walk: not ours to judge. */
	if (nexthdr != PROTO_UDP)
		return BEAM_REASON_BAD_HEADER;

	*l4_len = payload > ext_len ? payload - ext_len : 0;
	return PARSE_MORE;
}

/* @port in host byte order, like the config. */
static __always_inline bool is_beam_port(const struct beam_config *cfg, __u16 port)
{
	int i;

#pragma unroll
	for (i = 0; i < BEAM_MAX_PORTS; i++) {
		if (cfg->ports[i] && cfg->ports[i] == port)
			return true;
	}
	return false;
}

/* Copy @len (<= BEAM_CID_MAX_LEN) bytes at @p into @dst; false when the frame
 * ends first. */
static __always_inline bool copy_cid(__u8 *dst, const __u8 *p, __u32 len, void *end)
{
	int i;

	for (i = 0; i < BEAM_CID_MAX_LEN; i++) {
		if (i >= len)
			break;
		if ((void *)(p + i + 1) > end)
			return false;
		dst[i] = p[i];
	}
	return true;
}

/*
 * The QUIC header at @p, @qlen bytes of UDP payload (already checked to lie in
 * the frame, and >= 1). Returns TO_SOCKET for QUIC beam speaks, or the reason
 * to pass or drop it.
 */
static __always_inline int parse_quic(__u8 *p, __u32 qlen, void *end, struct quic_info *qi)
{
	__u32 version, dcid_len, scid_len;
	__u8 *scid;
	__u8 type;

	if ((void *)(p + 1) > end)
		return BEAM_REASON_MALFORMED;

	/* RFC 9000 section 17.3: short header; the DCID length is ours to know. */
	if (!(p[0] & QUIC_FORM_LONG)) {
		if (qlen < 1 + BEAM_CID_LEN || (void *)(p + 1 + BEAM_CID_LEN) > end)
			return BEAM_REASON_MALFORMED;
		__builtin_memcpy(qi->dcid, p + 1, BEAM_CID_LEN);
		qi->dcid_len = BEAM_CID_LEN;
		return BEAM_REASON_TO_SOCKET;
	}

	/* RFC 8999 section 5.1: form byte, version, DCID length. */
	qi->is_long = 1;
	if (qlen < 6 || (void *)(p + 6) > end)
		return BEAM_REASON_MALFORMED;
	version = (__u32)p[1] << 24 | (__u32)p[2] << 16 | (__u32)p[3] << 8 | p[4];
	dcid_len = p[5];
	if (version != QUIC_V1 && version != QUIC_V2) {
		/* Any version may use up to 255 bytes of DCID (RFC 8999). */
		if (dcid_len <= BEAM_CID_MAX_LEN && copy_cid(qi->dcid, p + 6, dcid_len, end))
			qi->dcid_len = dcid_len;
		return BEAM_REASON_UNKNOWN_VERSION;
	}

	/* RFC 9000 section 17.2: v1 (and v2) CIDs are at most 20 bytes. */
	if (dcid_len > BEAM_CID_MAX_LEN || 7 + dcid_len > qlen)
		return BEAM_REASON_MALFORMED;
	if (!copy_cid(qi->dcid, p + 6, dcid_len, end))
		return BEAM_REASON_MALFORMED;
	qi->dcid_len = dcid_len;

	scid = p + 6 + (dcid_len & 0x1f);
	if ((void *)(scid + 1) > end)
		return BEAM_REASON_MALFORMED;
	scid_len = scid[0];
	if (scid_len > BEAM_CID_MAX_LEN || 7 + dcid_len + scid_len > qlen)
		return BEAM_REASON_MALFORMED;

	/* RFC 9369 section 3.2: version 2 renumbers the long-header types. */
	type = QUIC_LONG_TYPE(p[0]);
	qi->is_initial = version == QUIC_V1 ? type == QUIC_V1_INITIAL : type == QUIC_V2_INITIAL;
	return BEAM_REASON_TO_SOCKET;
}

/* Token bucket per source address (RFC 9000 section 21.1.1.1 asks servers to
 * bound the work an Initial flood costs). Refilled at initial_rate a second up
 * to initial_burst. Two CPUs may race on one source: the count is approximate
 * by a token or two, never unbounded. */
static __always_inline bool initial_rate_ok(const struct beam_config *cfg, __u8 *saddr, __u64 now)
{
	__u64 cap = (__u64)cfg->initial_burst * BEAM_RATE_SCALE;
	__u64 per_sec = cfg->initial_rate, elapsed, tokens, add;
	struct beam_rate *r, fresh;

	if (per_sec > BEAM_INITIAL_RATE_MAX)
		per_sec = BEAM_INITIAL_RATE_MAX;

	r = bpf_map_lookup_elem(&rate, saddr);
	if (!r) {
		if (cap < BEAM_RATE_SCALE)
			return false;
		fresh.last_ns = now;
		fresh.tokens = cap - BEAM_RATE_SCALE;
		bpf_map_update_elem(&rate, saddr, &fresh, BPF_ANY);
		return true;
	}

	elapsed = now > r->last_ns ? now - r->last_ns : 0;
	/* elapsed < 2^33 ns, per_sec < 2^19, scale 2^10: the product fits. */
	if (elapsed < (1ull << 33))
		add = elapsed * per_sec * BEAM_RATE_SCALE / NSEC_PER_SEC;
	else if (elapsed < (1ull << 50))
		add = elapsed / 1000000 * per_sec * BEAM_RATE_SCALE / 1000;
	else
		add = cap;
	tokens = r->tokens + add;
	if (tokens > cap)
		tokens = cap;
	/* Advance the clock only with a refill, so slow rates still accrue. */
	if (add)
		r->last_ns = now;
	if (tokens < BEAM_RATE_SCALE) {
		r->tokens = tokens;
		return false;
	}
	r->tokens = tokens - BEAM_RATE_SCALE;
	return true;
}

static __always_inline void flow_account(struct beam_flow_key *key, __u64 now, __u32 len,
					 __u32 reason, const struct quic_info *qi)
{
	struct beam_flow *f, fresh = {};

	f = bpf_map_lookup_elem(&flows, key);
	if (!f) {
		fresh.packets = 1;
		fresh.bytes = len;
		fresh.first_seen_ns = now;
		fresh.last_seen_ns = now;
		fresh.quic_long = qi->is_long;
		fresh.quic_short = qi->dcid_len && !qi->is_long;
		fresh.last_reason = reason;
		fresh.dcid_len = qi->dcid_len;
		__builtin_memcpy(fresh.dcid, qi->dcid, BEAM_CID_MAX_LEN);
		if (!bpf_map_update_elem(&flows, key, &fresh, BPF_NOEXIST))
			return;
		/* Another CPU created it first: add to theirs. */
		f = bpf_map_lookup_elem(&flows, key);
		if (!f)
			return;
	}

	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, len);
	if (qi->is_long)
		__sync_fetch_and_add(&f->quic_long, 1);
	else if (qi->dcid_len)
		__sync_fetch_and_add(&f->quic_short, 1);
	f->last_seen_ns = now;
	f->last_reason = reason;
	if (qi->dcid_len) {
		f->dcid_len = qi->dcid_len;
		__builtin_memcpy(f->dcid, qi->dcid, BEAM_CID_MAX_LEN);
	}
}

static __always_inline int verdict(__u32 reason, __u32 len, int redirect_act)
{
	struct beam_counter *cnt;

	cnt = bpf_map_lookup_elem(&stats, &reason);
	if (cnt) {
		cnt->packets++;
		cnt->bytes += len;
	}

	switch (beam_reason_verdict(reason)) {
	case BEAM_VERDICT_DROP:
		return XDP_DROP;
	case BEAM_VERDICT_REDIRECT:
		return redirect_act;
	default:
		return XDP_PASS;
	}
}

/*
 * The worker whose connection @qi's DCID names (beam_cid_worker()). Global,
 * so the verifier checks it once on its own instead of once more for every
 * path that reaches the steering decision (the inlined version multiplied
 * the instructions it walks by 3.5; kernel 6.18, clang 14).
 */
__noinline int frame_worker(struct quic_info *qi, __u32 nworkers)
{
	if (!qi)
		return 0;
	if (nworkers > BEAM_WORKERS_MAX)
		nworkers = BEAM_WORKERS_MAX;
	return (int)beam_cid_worker(qi->dcid, qi->dcid_len, nworkers);
}

/*
 * Why queue @q's AF_XDP socket cannot take a frame of @len bytes to @dport
 * that steering would otherwise redirect: an enum beam_steer_miss, or
 * BEAM_STEER_MISS__MAX when nothing stands in the way. An AF_XDP socket
 * receives only its own queue's frames, and only what fits one UMEM frame:
 * generic XDP sees GRO-merged trains, which the socket path takes whole.
 * Queue q's socket is worker q's: a frame for another worker's connection
 * goes to the socket path instead, and so does a port of another beamd than
 * the one whose sockets are in xsks.
 */
static __always_inline __u32 steer_miss(const struct beam_config *cfg, struct quic_info *qi,
					__u32 len, __u16 dport, __u32 q)
{
	if (cfg->xsk_port && cfg->xsk_port != dport)
		return BEAM_STEER_MISS_OTHER_PORT;
	if (len + sizeof(struct beam_xdp_meta) > BEAM_XSK_FRAME_SIZE)
		return BEAM_STEER_MISS_TOO_BIG;
	if (cfg->workers > 1 && frame_worker(qi, cfg->workers) != (int)q)
		return BEAM_STEER_MISS_OTHER_WORKER;
	if (!bpf_map_lookup_elem(&xsks, &q))
		return BEAM_STEER_MISS_NO_SOCKET;
	return BEAM_STEER_MISS__MAX;
}

static __always_inline void count_steer_miss(__u32 miss)
{
	__u64 *n;

	n = bpf_map_lookup_elem(&steer_misses, &miss);
	if (n)
		(*n)++;
}

/* Stamp the arrival time in front of the frame and redirect it to the AF_XDP
 * socket of queue @q. Returns XDP_REDIRECT, or XDP_PASS if the socket went away. */
static __always_inline int steer(struct xdp_md *ctx, __u32 q)
{
	struct beam_xdp_meta *meta;
	void *data;

	/* Drivers without metadata room refuse; the frame is redirected anyway. */
	if (!bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta))) {
		meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if ((void *)(meta + 1) <= data)
			meta->rx_ns = bpf_ktime_get_ns();
	}
	return bpf_redirect_map(&xsks, q, XDP_PASS);
}

SEC("xdp")
int beam_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor c = {.pos = data, .end = data_end};
	__u32 len = data_end - data, q = ctx->rx_queue_index;
	struct quic_info qi = {};
	struct beam_flow_key key = {};
	struct beam_config *cfg;
	__u32 zero = 0, l4_len = 0, ulen, room, miss;
	struct udphdr *udp;
	__u64 now;
	int reason, act = XDP_PASS;
	__be16 proto;

	proto = parse_eth(&c);
	if (proto == ETH_P_IP_BE)
		reason = parse_ipv4(&c, &key, &l4_len);
	else if (proto == ETH_P_IPV6_BE)
		reason = parse_ipv6(&c, &key, &l4_len);
	else
		reason = proto ? BEAM_REASON_NOT_IP : BEAM_REASON_BAD_HEADER;
	if (reason != PARSE_MORE)
		return verdict(reason, len, act);

	udp = c.pos;
	if ((void *)(udp + 1) > data_end)
		return verdict(BEAM_REASON_BAD_HEADER, len, act);

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !is_beam_port(cfg, bpf_ntohs(udp->dest)))
		return verdict(BEAM_REASON_OTHER_PORT, len, act);

	/* Host byte order, so `bpftool map dump` shows the ports people know. */
	key.sport = bpf_ntohs(udp->source);
	key.dport = bpf_ntohs(udp->dest);
	key.proto = PROTO_UDP;
	/* Flow times and the rate limiter need no more than tick resolution,
	 * and the coarse clock is several times cheaper (bench/xdp-prog-cost). */
	now = bpf_ktime_get_coarse_ns();

	/* From here on the datagram is beam's: lengths must agree with the frame
	 * and the IP header, and there must be a QUIC header to read. The IP
	 * payload may end before the frame (Ethernet padding), never after it. */
	ulen = bpf_ntohs(udp->len);
	room = data_end - (void *)udp;
	if (ulen < sizeof(*udp) + 1 || ulen > room || ulen > l4_len || l4_len > room)
		reason = BEAM_REASON_MALFORMED;
	else
		reason = parse_quic((__u8 *)(udp + 1), ulen - sizeof(*udp), data_end, &qi);

	if (reason == BEAM_REASON_TO_SOCKET && qi.is_initial) {
		if (ulen - sizeof(*udp) < QUIC_MIN_INITIAL)
			reason = BEAM_REASON_SHORT_INITIAL;
		else if ((cfg->flags & BEAM_CFG_RATE_LIMIT) && cfg->initial_rate &&
			 !initial_rate_ok(cfg, key.saddr, now))
			reason = BEAM_REASON_INITIAL_RATE;
	}

	/* Steering on, a frame that stays on the socket path counts its cause
	 * beside TO_SOCKET; a failed redirect means the socket went away. */
	if (reason == BEAM_REASON_TO_SOCKET && (cfg->flags & BEAM_CFG_STEER)) {
		miss = steer_miss(cfg, &qi, len, key.dport, q);
		if (miss == BEAM_STEER_MISS__MAX) {
			act = steer(ctx, q);
			if (act == XDP_REDIRECT)
				reason = BEAM_REASON_TO_XSK;
			else
				miss = BEAM_STEER_MISS_NO_SOCKET;
		}
		if (miss < BEAM_STEER_MISS__MAX)
			count_steer_miss(miss);
	}

	flow_account(&key, now, len, reason, &qi);
	return verdict(reason, len, act);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
