// SPDX-License-Identifier: MIT
/*
 * pktio_xsk.c - struct pktio over AF_XDP.
 *
 * Receive: frames from the RX ring are parsed and checked in place; good ones
 * become pktio_pkt entries pointing into the UMEM, lent to the caller until
 * the next receive; refused ones go straight back to the free stack and from
 * there to the fill ring. The path to each sender (next-hop MAC, our MAC, VLAN
 * tags, our address as the peer used it) is learned from its frames by the
 * rule of nexthop.h: once a packet of it was accepted by QUIC (ops->accepted),
 * only accepted packets change it. A tagged frame is taken only if the kernel
 * would have taken it: the host has an up VLAN device for each tag (vlan_set.h),
 * learned at open and read again at most once a second while tagged frames
 * come; the rest are dropped and counted (rx_vlan_unknown).
 *
 * Send: each datagram (or each segment of a GSO train) is copied into its own
 * UMEM frame behind headers built from that path.
 */
#include "pktio_xsk.h"

#include "hist.h"
#include "log.h"
#include "nexthop.h"
#include "vlan_set.h"
#include "xsk.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XSK_BATCH 64
/* A timestamp older than this is not believed (the bytes may be stale). */
#define META_MAX_AGE_NS 10000000000ull
/* The host's VLAN devices are read again when a tagged frame finds them older
 * than this: a VLAN added or removed counts within about a second, and a
 * flood of tagged frames costs one rtnetlink dump a second per worker. */
#define VLAN_REFRESH_NS 1000000000ull

struct pktio_xsk {
	struct pktio io; /* first: the QUIC code sees only this */
	struct xsk_port *port;
	struct beam_hist *xdp_hist;
	unsigned int parse_flags;
	uint16_t only_port;	  /* host order, 0: any */
	uint64_t held[XSK_BATCH]; /* frames lent to the caller since the last recv */
	unsigned int nheld;
	uint32_t gen; /* counts recv calls: a handle of an older one is stale */
	/* headers of held frames that have a path to confirm (rx_ref != 0) */
	struct pkt_udp held_hdr[XSK_BATCH];
	uint64_t rx_now; /* when the last recv that got frames ran */
	struct pktio_xsk_stats st;
	struct nexthop_table hops;
	int ifindex;	       /* of the interface the socket is bound to */
	struct vlan_set vlans; /* the host's VLAN devices, read at vlans_ns */
	uint64_t vlans_ns;     /* CLOCK_MONOTONIC of the last read, 0: never */
	bool vlans_failing;    /* the last read failed (said once until one works) */
};

static struct pktio_xsk *to_xsk(const struct pktio *io)
{
	return (struct pktio_xsk *)io;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pktio_xsk_learn(struct pktio *io, const struct pkt_udp *h)
{
	struct pktio_xsk *x = to_xsk(io);

	uint64_t now = now_ns();

	nexthop_seen(&x->hops, h, now);
	nexthop_confirm(&x->hops, h, now);
}

/* rx_ref of held frame @i: the recv generation above the index, both in
 * PKTIO_REF_BITS, never 0. */
static uint32_t held_ref(const struct pktio_xsk *x, unsigned int i)
{
	return ((x->gen << 8) | (i + 1)) & ((1u << PKTIO_REF_BITS) - 1);
}

/* The QUIC engine accepted a packet we handed up: its frame's path is proven. */
static void xsk_accepted(struct pktio *io, const struct pktio_pkt *pkt)
{
	struct pktio_xsk *x = to_xsk(io);
	uint32_t i = (pkt->rx_ref & 0xff) - 1;

	if (!pkt->rx_ref || i >= x->nheld || pkt->rx_ref != held_ref(x, i))
		return; /* from an older recv, or not ours: the frame may be reused */
	nexthop_confirm(&x->hops, &x->held_hdr[i], x->rx_now);
}

static void addr_from_hdr(struct pktio_addr *a, uint8_t family, const uint8_t *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(port);
		memcpy(&a->in.sin_addr, ip, 4);
		a->len = sizeof(a->in);
	} else {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		memcpy(&a->in6.sin6_addr, ip, 16);
		a->len = sizeof(a->in6);
	}
}

/* The IP address (16 bytes, IPv4 in the first 4) and port of @a; false when
 * @a is not an address of a family we send. IPv4-mapped IPv6 (a dual-stack
 * socket's view of IPv4) is IPv4 on the wire. */
static bool addr_to_hdr(const struct pktio_addr *a, uint8_t *family, uint8_t *ip, uint16_t *port)
{
	memset(ip, 0, 16);
	if (a->len >= sizeof(a->in) && a->sa.sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(ip, &a->in.sin_addr, 4);
		*port = ntohs(a->in.sin_port);
		return true;
	}
	if (a->len >= sizeof(a->in6) && a->sa.sa_family == AF_INET6) {
		*port = ntohs(a->in6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
			*family = AF_INET;
			memcpy(ip, a->in6.sin6_addr.s6_addr + 12, 4);
			return true;
		}
		*family = AF_INET6;
		memcpy(ip, &a->in6.sin6_addr, 16);
		return true;
	}
	return false;
}

bool pktio_xsk_has_path(const struct pktio *io, const struct pktio_addr *peer)
{
	uint8_t family, ip[16];
	uint16_t port;

	return !xsk_port_gone(to_xsk(io)->port) && addr_to_hdr(peer, &family, ip, &port) &&
	       nexthop_find(&to_xsk(io)->hops, family, ip, port) != NULL;
}

/* The XDP program's arrival stamp sits right in front of the frame data. */
static uint64_t read_meta(struct pktio_xsk *x, uint64_t addr, uint64_t now)
{
	uint64_t off = addr & (x->port->frame_size - 1);
	struct beam_xdp_meta meta;
	uint8_t *slot;

	if (off < sizeof(meta))
		return 0;
	slot = xsk_port_data(x->port, addr) - sizeof(meta);
	memcpy(&meta, slot, sizeof(meta));
	/* beam's program stamps every frame it redirects, so the slot is fresh;
	 * without a stamp (a driver without metadata room) it holds zeros or
	 * old TX bytes, which the plausibility check below turns away. */
	if (!meta.rx_ns || meta.rx_ns > now || now - meta.rx_ns > META_MAX_AGE_NS)
		return 0;
	return meta.rx_ns;
}

/* Read the host's VLAN devices again; on failure the old copy stays. */
static void vlans_load(struct pktio_xsk *x, uint64_t now)
{
	int err;

	x->vlans_ns = now;
	err = vlan_set_load(&x->vlans);
	if (err) {
		if (!x->vlans_failing)
			pr_warn("failed to read the VLAN devices of this host: %s; tagged AF_XDP "
				"frames are judged by the last list read (%zu devices)",
				strerror(-err), x->vlans.n);
		x->vlans_failing = true;
		return;
	}
	if (x->vlans_failing)
		pr_info("VLAN devices of this host read again: %zu", x->vlans.n);
	x->vlans_failing = false;
	if (x->vlans.truncated)
		pr_warn_rl("this host has more than %d VLAN devices: the others' frames are "
			   "refused on AF_XDP",
			   VLAN_SET_MAX);
}

/* Whether the kernel would have taken tagged frame @h (see vlan_set.h). */
static bool vlan_known(struct pktio_xsk *x, const struct pkt_udp *h, uint64_t now)
{
	if (!x->vlans_ns || now - x->vlans_ns >= VLAN_REFRESH_NS)
		vlans_load(x, now);
	/* TODO(#6): a NIC that strips tags before XDP (rx-vlan-offload on, native
	 * mode) hands AF_XDP the frame untagged: it is taken whatever its VLAN. */
	return vlan_set_accepts(&x->vlans, x->ifindex, h->vlan_tpid, h->vlan_tci, h->nvlan);
}

static void release_held(struct pktio_xsk *x)
{
	if (x->nheld) {
		xsk_port_release(x->port, x->held, x->nheld);
		x->nheld = 0;
	}
}

/* Woken per arrival (a veth without receive coalescing), a packet costs
 * 0.63-0.68x what recvmmsg's does (bench/afxdp-rx.sh): each datagram's NAPI
 * poll wakes the reader, and the wake-up, the same on both paths, is most of
 * the cost (60% of this process's samples in finish_task_switch). With the
 * kernel's coalescing on (beam-xdp attach --rx-coalesce-us 20) it is
 * 0.33-0.38x, drained in batches 0.31-0.35x. */
static int xsk_recv(struct pktio *io, struct pktio_pkt *pkts, unsigned int max)
{
	struct pktio_xsk *x = to_xsk(io);
	struct xdp_desc descs[XSK_BATCH];
	unsigned int n, i, got = 0;
	uint64_t now = 0;

	release_held(x);
	x->gen++;
	if (max > XSK_BATCH)
		max = XSK_BATCH;
	n = xsk_port_rx(x->port, descs, max);
	if (n)
		now = x->rx_now = now_ns();

	for (i = 0; i < n; i++) {
		uint8_t *frame = xsk_port_data(x->port, descs[i].addr);
		struct pktio_pkt *pkt = &pkts[got];
		uint64_t addr = descs[i].addr;
		enum pkt_err err;
		struct pkt_udp h;

		err = pkt_parse_udp(frame, descs[i].len, x->parse_flags, &h);
		if (err) {
			x->st.rx_bad[err]++;
			pr_debug_rl("AF_XDP frame of %u bytes refused: %s", descs[i].len,
				    pkt_strerror(err));
			xsk_port_release(x->port, &addr, 1);
			continue;
		}
		/* The program redirects by queue: on an interface shared with
		 * another beamd, its port's frames must not reach our QUIC. */
		if (x->only_port && h.dport != x->only_port) {
			x->st.rx_other_port++;
			pr_debug_rl("AF_XDP frame for port %u refused: not ours (%u)", h.dport,
				    x->only_port);
			xsk_port_release(x->port, &addr, 1);
			continue;
		}
		/* The kernel drops a frame for a VLAN the host has no device
		 * for: the socket path never sees it, and neither may we, or a
		 * client behind a foreign VLAN reaches this worker only. */
		if (h.nvlan && !vlan_known(x, &h, now)) {
			x->st.rx_vlan_unknown++;
			pr_debug_rl("AF_XDP frame with %u VLAN tag(s), outer id %u, refused: no "
				    "such VLAN device",
				    h.nvlan, h.vlan_tci[0] & 0xfff);
			xsk_port_release(x->port, &addr, 1);
			continue;
		}
		x->st.rx_csum_partial += h.csum_partial;
		if (h.nvlan && h.nvlan <= PKT_MAX_VLANS)
			x->st.rx_vlan[h.nvlan - 1]++;
		pkt->rx_ref = 0;
		if (nexthop_seen(&x->hops, &h, now)) {
			/* wait for QUIC to vouch for the packet */
			x->held_hdr[x->nheld] = h;
			pkt->rx_ref = held_ref(x, x->nheld);
		}

		pkt->data = frame + h.payload_off;
		pkt->len = h.payload_len;
		pkt->gso_size = 0;
		pkt->ecn = h.tos & 3;
		pkt->pad = 0;
		addr_from_hdr(&pkt->local, h.family, h.daddr, h.dport);
		addr_from_hdr(&pkt->peer, h.family, h.saddr, h.sport);
		pkt->xdp_rx_ns = read_meta(x, descs[i].addr, now);
		if (pkt->xdp_rx_ns) {
			x->st.rx_meta++;
			if (x->xdp_hist)
				hist_record(x->xdp_hist, now - pkt->xdp_rx_ns);
		}
		x->held[x->nheld++] = descs[i].addr;
		got++;
	}
	x->st.rx_pkts += got;
	return (int)got;
}

/* Build the headers of one datagram to @pkt->peer, one set per path to send
 * it on (nexthop_paths); 0 when the peer has never been seen (no MAC). */
static unsigned int paths_for(struct pktio_xsk *x, const struct pktio_pkt *pkt, struct pkt_udp h[2])
{
	uint8_t family, lfamily, laddr[16], daddr[16];
	const struct nexthop_path *paths[2];
	uint16_t lport = 0, dport;
	bool have, any = true;
	unsigned int n, i;

	if (!addr_to_hdr(&pkt->peer, &family, daddr, &dport))
		return 0;
	n = nexthop_paths(&x->hops, family, daddr, dport, paths);
	have = addr_to_hdr(&pkt->local, &lfamily, laddr, &lport) && lfamily == family;
	for (i = 0; have && i < 16; i++)
		any &= !laddr[i];
	for (i = 0; i < n; i++) {
		const struct nexthop_path *p = paths[i];

		memset(&h[i], 0, sizeof(h[i]));
		memcpy(h[i].daddr, daddr, 16);
		h[i].dport = dport;
		memcpy(h[i].dst_mac, p->mac, PKT_ETH_ALEN);
		memcpy(h[i].src_mac, p->our_mac, PKT_ETH_ALEN);
		h[i].nvlan = p->nvlan;
		memcpy(h[i].vlan_tpid, p->vlan_tpid, sizeof(h[i].vlan_tpid));
		memcpy(h[i].vlan_tci, p->vlan_tci, sizeof(h[i].vlan_tci));
		h[i].family = family;
		h[i].tos = pkt->ecn & 3;
		/* the source the connection chose, else the one the peer used */
		memcpy(h[i].saddr, have && !any ? laddr : p->local, 16);
		h[i].sport = have && lport ? lport : p->local_port;
	}
	return n;
}

static void flush_tx(struct pktio_xsk *x, struct xdp_desc *descs, unsigned int *nd)
{
	if (*nd) {
		x->st.tx_frames += xsk_port_tx_submit(x->port, descs, *nd);
		*nd = 0;
	}
}

static int xsk_send(struct pktio *io, const struct pktio_pkt *pkts, unsigned int n)
{
	struct pktio_xsk *x = to_xsk(io);
	struct xdp_desc descs[XSK_BATCH];
	uint32_t fsz = x->port->frame_size;
	unsigned int i, nd = 0;

	for (i = 0; i < n; i++) {
		const struct pktio_pkt *pkt = &pkts[i];
		uint32_t seg = pkt->gso_size && pkt->len > pkt->gso_size ? pkt->gso_size : pkt->len;
		uint32_t nseg = seg ? (pkt->len + seg - 1) / seg : 1;
		uint64_t addrs[XSK_BATCH];
		unsigned int npath, p;
		struct pkt_udp h[2];
		size_t hlen = 0;
		uint32_t s;

		npath = paths_for(x, pkt, h);
		if (!npath) {
			x->st.tx_no_route++;
			pr_debug_rl("AF_XDP send dropped: no next hop known for the peer");
			continue;
		}
		if (nseg * npath > XSK_BATCH)
			npath = 1; /* a long train goes on the current path only */
		for (p = 0; p < npath; p++)
			if (pkt_udp_hdr_len(&h[p]) > hlen)
				hlen = pkt_udp_hdr_len(&h[p]);
		if (hlen + seg > fsz || nseg > XSK_BATCH) {
			x->st.tx_too_big++;
			pr_debug_rl("AF_XDP send dropped: %u-byte segments do not fit a frame",
				    seg);
			continue;
		}
		if (nd + nseg * npath > XSK_BATCH)
			flush_tx(x, descs, &nd);
		if (xsk_port_tx_alloc(x->port, addrs, nseg * npath)) {
			flush_tx(x, descs, &nd);
			if (xsk_port_tx_alloc(x->port, addrs, nseg * npath))
				break;
		}

		for (p = 0; p < npath; p++) {
			size_t plen_hdr = pkt_udp_hdr_len(&h[p]);

			for (s = 0; s < nseg; s++) {
				uint32_t off = s * seg;
				uint32_t plen = pkt->len - off < seg ? pkt->len - off : seg;
				uint64_t a = addrs[p * nseg + s];
				uint8_t *frame = xsk_port_data(x->port, a);
				int flen;

				memcpy(frame + plen_hdr, pkt->data + off, plen);
				flen = pkt_build_udp(frame, fsz, &h[p], plen);
				/* Cannot fail: family, tags and size were checked above. */
				descs[nd].addr = a;
				descs[nd].len = flen > 0 ? (uint32_t)flen : 0;
				descs[nd].options = 0;
				nd++;
			}
		}
		x->st.tx_pkts++;
		x->st.tx_both_paths += npath > 1;
	}
	flush_tx(x, descs, &nd);
	if (!i && n)
		return -EAGAIN;
	return (int)i;
}

static int xsk_fd(struct pktio *io)
{
	return xsk_port_fd(to_xsk(io)->port);
}

static void xsk_free(struct pktio *io)
{
	struct pktio_xsk *x;

	if (!io)
		return;
	x = to_xsk(io);
	release_held(x);
	xsk_port_close(x->port);
	vlan_set_fini(&x->vlans);
	free(x);
}

static const struct pktio_ops pktio_xsk_ops = {
	.name = "af_xdp",
	.recv = xsk_recv,
	.send = xsk_send,
	.accepted = xsk_accepted,
	.fd = xsk_fd,
	.free = xsk_free,
};

int pktio_xsk_new(struct pktio **out, const struct pktio_xsk_cfg *cfg)
{
	struct xsk_port_cfg pcfg = {
		.ifname = cfg->ifname,
		.queue = cfg->queue,
		.pin_root = cfg->pin_root,
		.copy_only = cfg->copy_only,
		.no_register = cfg->no_register,
	};
	struct pktio_xsk *x;
	int err;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->io.ops = &pktio_xsk_ops;
	x->xdp_hist = cfg->xdp_hist;
	x->parse_flags = cfg->strict_csum ? 0 : PKT_PARSE_PARTIAL;
	x->only_port = cfg->port;
	x->ifindex = (int)if_nametoindex(cfg->ifname);
	vlan_set_init(&x->vlans);

	err = xsk_port_open(&x->port, &pcfg);
	if (err) {
		free(x);
		return err;
	}
	vlans_load(x, now_ns());
	pr_info("AF_XDP socket on '%s' queue %u in %s mode", cfg->ifname, cfg->queue,
		xsk_port_mode(x->port));
	*out = &x->io;
	return 0;
}

bool pktio_is_xsk(const struct pktio *io)
{
	return io && io->ops == &pktio_xsk_ops;
}

const char *pktio_xsk_mode(const struct pktio *io)
{
	return xsk_port_mode(to_xsk(io)->port);
}

void pktio_xsk_stats(const struct pktio *io, struct pktio_xsk_stats *st)
{
	const struct pktio_xsk *x = to_xsk(io);

	*st = x->st;
	st->mac_changes = x->hops.mac_changes;
	st->path_unproven = x->hops.unproven;
	st->path_kept = x->hops.switch_cancelled;
}

bool pktio_xsk_frames_ok(const struct pktio *io)
{
	return xsk_port_frames_ok(to_xsk(io)->port);
}
