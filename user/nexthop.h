/* SPDX-License-Identifier: MIT */
/*
 * nexthop.h - how the AF_XDP back end reaches each peer (address and UDP
 * port) on the wire: the next-hop MAC, our MAC, the VLAN tags and our address
 * as the peer used them, learned from the peer's frames. Keyed by port too:
 * each connection of an address (agents behind one NAT, a restarted agent)
 * proves its own path, and a new connection's handshake is answered where
 * its own frames came from, whatever an older one confirmed.
 *
 * Frames are not authenticated, QUIC packets are. The rule:
 * - a frame from an address with no entry creates one (first contact: an
 *   Initial needs an answer);
 * - an entry that no accepted packet has confirmed yet follows each frame
 *   (a forged first frame cannot lock the real peer out of its handshake);
 * - a confirmed entry changes only through nexthop_confirm(), called for a
 *   packet QUIC accepted on an established connection (migration included);
 *   frames that disagree with it are left for that call to decide;
 * - and even then only once the new path has been the only one carrying
 *   accepted packets for NEXTHOP_SWITCH_NS: an accepted packet on the current
 *   path cancels the change. A replayed packet whose original was lost is
 *   accepted as the original would have been; someone on the link who replays
 *   with another MAC while the peer's own packets still arrive moves nothing.
 *   Once the new path alone has carried NEXTHOP_BOTH_AFTER accepted packets
 *   over NEXTHOP_BOTH_NS, and until the change is decided, packets go out on
 *   both paths (nexthop_paths): a peer that really moved hears from us
 *   within that, where the wait alone stalled it for the wait and the loss
 *   recovery after it. A replayer whose copies win while a burst of the
 *   originals is lost gets nothing unless the burst lasts that long;
 * - a confirmation holds NEXTHOP_TRUST_NS; a live connection renews it (one
 *   accepted packet every NEXTHOP_RENEW_NS is asked for). Once it lapses the
 *   entry is unconfirmed again, so a peer that came back behind another MAC
 *   (new hardware, a router failover) is not answered at the old one forever;
 * - a new address never evicts a confirmed entry, only unconfirmed ones.
 *
 * TODO(#6): an agent that sends nothing for longer than NEXTHOP_TRUST_NS lets
 * its confirmation lapse, and frames forged with its address and port can
 * then redirect answers until its next packet. Agents ping every 4 s by
 * default; only one with --unresponsive-timeout 0 and an --idle-timeout over
 * 6 minutes (keep-alives every third of it) stays silent that long.
 */
#ifndef BEAM_NEXTHOP_H
#define BEAM_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt_hdr.h"

#define NEXTHOP_SLOTS	  4096 /* power of two */
#define NEXTHOP_PROBE	  8
#define NEXTHOP_TRUST_NS  (120ull * 1000000000ull) /* a confirmation holds this long */
#define NEXTHOP_RENEW_NS  (5ull * 1000000000ull)   /* renewed by a packet this old */
#define NEXTHOP_SWITCH_NS (1000000000ull) /* a new path holds this long before it is taken */
/* a new path carries accepted packets alone this long, and this many, before
 * answers go both ways */
#define NEXTHOP_BOTH_NS	   (50ull * 1000000ull)
#define NEXTHOP_BOTH_AFTER 3

/* What a frame says about how to reach its sender. */
struct nexthop_path {
	uint8_t mac[PKT_ETH_ALEN];     /* next hop: source MAC of its frames */
	uint8_t our_mac[PKT_ETH_ALEN]; /* destination MAC of its frames */
	uint8_t nvlan;
	uint16_t vlan_tpid[PKT_MAX_VLANS];
	uint16_t vlan_tci[PKT_MAX_VLANS];
	uint8_t local[16]; /* our address and port as the peer used them */
	uint16_t local_port;
};

struct nexthop {
	uint8_t used;
	uint8_t confirmed; /* an accepted packet proved @cur at @confirmed_ns */
	uint8_t family;
	uint8_t addr[16];
	uint16_t port; /* the peer's UDP port, host order */
	struct nexthop_path cur;
	uint64_t confirmed_ns; /* CLOCK_MONOTONIC */
	/* another path QUIC accepted packets on, alone since @switch_since_ns */
	uint8_t switching;
	uint8_t next_hits; /* accepted packets on @next since, up to NEXTHOP_BOTH_AFTER */
	uint8_t both;	   /* @next proved enough for answers to go both ways */
	struct nexthop_path next;
	uint64_t switch_since_ns;
};

struct nexthop_table {
	struct nexthop *last;	   /* the entry of the previous frame: bursts come from one */
	uint64_t mac_changes;	   /* a confirmed next-hop MAC or tags changed */
	uint64_t switch_cancelled; /* a new path lost to the current one before it held */
	uint64_t unproven;	   /* frames that disagreed with a confirmed entry */
	uint64_t no_slot;	   /* new addresses with every slot of their probe confirmed */
	struct nexthop slots[NEXTHOP_SLOTS];
};

/*
 * A frame with headers @h arrived at @now_ns (CLOCK_MONOTONIC). Applies the
 * rule above; returns true when the frame should be confirmed once QUIC
 * accepts its packet (it disagrees with the entry, the entry is not trusted,
 * or its confirmation is due for renewal), false when there is nothing to
 * learn from it.
 */
bool nexthop_seen(struct nexthop_table *t, const struct pkt_udp *h, uint64_t now_ns);

/* The packet of the frame with headers @h was accepted by QUIC at about
 * @now_ns: make @h's path the confirmed entry of its source address. */
void nexthop_confirm(struct nexthop_table *t, const struct pkt_udp *h, uint64_t now_ns);

/*
 * The paths to send to @addr (16 bytes, IPv4 in the first 4) and @port (host
 * order) on: 0 (never seen), 1, or 2 while a switch waits (the current path
 * first). Valid until the next call that changes @t.
 */
unsigned int nexthop_paths(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
			   uint16_t port, const struct nexthop_path *out[2]);

/* The entry of @addr (16 bytes, IPv4 in the first 4) and @port (host order), or NULL. */
const struct nexthop *nexthop_find(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
				   uint16_t port);

#endif /* BEAM_NEXTHOP_H */
