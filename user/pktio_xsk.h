/* SPDX-License-Identifier: MIT */
/*
 * pktio_xsk.h - the AF_XDP packet I/O back end: struct pktio over one AF_XDP
 * socket (xsk.h) on one queue. It parses received frames in user space
 * (pkt_hdr.h), hands the QUIC code UDP payloads that stay in the UMEM until
 * the next receive, and builds whole frames to send: Ethernet (+VLAN tags)
 * with the next-hop MAC learned from the peer's own frames, IPv4 or IPv6, UDP,
 * checksums by the SIMD routine of csum.h. A GSO-sized send becomes one frame
 * per segment.
 */
#ifndef BEAM_PKTIO_XSK_H
#define BEAM_PKTIO_XSK_H

#include <stdbool.h>
#include <stdint.h>

#include "beam_maps.h"
#include "pkt_hdr.h"
#include "pktio.h"

struct pktio_xsk_cfg {
	const char *ifname;
	uint32_t queue;
	const char *pin_root;	    /* NULL: $BEAM_PIN_ROOT or the default */
	bool copy_only;		    /* skip the zero-copy attempt */
	bool no_register;	    /* bind the queue but stay out of xsks (tests) */
	bool strict_csum;	    /* refuse CHECKSUM_PARTIAL frames (see PKT_PARSE_PARTIAL) */
	uint16_t port;		    /* take only this destination port (host order); 0: any */
	struct beam_hist *xdp_hist; /* where XDP-to-user delays go, or NULL */
};

/* Whether @io is an AF_XDP back end of this file (the others have no mode or stats). */
bool pktio_is_xsk(const struct pktio *io);

struct pktio_xsk_stats {
	uint64_t rx_pkts;	       /* datagrams handed up */
	uint64_t rx_bad[PKT_ERR__MAX]; /* frames refused, by reason */
	uint64_t rx_meta;	       /* frames carrying an XDP timestamp */
	uint64_t rx_csum_partial;      /* taken with a local sender's partial checksum */
	uint64_t tx_pkts;	       /* datagrams (or GSO trains) sent */
	uint64_t tx_frames;	       /* frames queued */
	uint64_t tx_no_route;	       /* peer never seen: no next-hop MAC */
	uint64_t tx_too_big;	       /* a segment plus headers over the frame size */
	uint64_t mac_changes;	       /* a peer's confirmed next-hop MAC or tags changed */
	uint64_t path_unproven;	       /* frames whose path disagreed with a confirmed one */
	uint64_t path_kept;	       /* a new path lost to the confirmed one (see nexthop.h) */
	uint64_t tx_both_paths;	       /* datagrams sent on two paths while a switch waits */
	uint64_t rx_other_port;	       /* dropped: for a port not ours (another beamd's) */
	/* frames taken with 1, 2 VLAN tags (index: tags - 1) */
	uint64_t rx_vlan[PKT_MAX_VLANS];
	uint64_t rx_vlan_unknown; /* dropped: a tag the host has no (up) VLAN device for */
};

/*
 * Open the AF_XDP back end on @cfg->ifname queue @cfg->queue, registered in
 * beam's pinned xsks map. Returns 0 with *@out set, or -errno as
 * xsk_port_open() does (-ENOENT when beam's program is not attached).
 */
int pktio_xsk_new(struct pktio **out, const struct pktio_xsk_cfg *cfg);

/* "zero-copy" or "copy": how the kernel moves frames for this socket. */
const char *pktio_xsk_mode(const struct pktio *io);

/* Counters since open. */
void pktio_xsk_stats(const struct pktio *io, struct pktio_xsk_stats *st);

/* True when every UMEM frame is accounted for (tests: no leak). */
bool pktio_xsk_frames_ok(const struct pktio *io);

/* True when a datagram to @peer can go out through this socket: a frame
 * from that address was seen (its next-hop MAC is known). */
bool pktio_xsk_has_path(const struct pktio *io, const struct pktio_addr *peer);

/* Learn @h's peer (its source address, MAC and tags) as if a frame had come
 * from it and QUIC had accepted its packet. For tests and for paths first seen
 * on the UDP socket. */
void pktio_xsk_learn(struct pktio *io, const struct pkt_udp *h);

#endif /* BEAM_PKTIO_XSK_H */
