/* SPDX-License-Identifier: MIT */
/*
 * nexthop.h - how the AF_XDP back end reaches each peer address on the wire:
 * the next-hop MAC, our MAC, the VLAN tags and our address as the peer used
 * them, learned from the peer's frames.
 *
 * Frames are not authenticated, QUIC packets are. The rule:
 * - a frame from an address with no entry creates one (first contact: an
 *   Initial needs an answer);
 * - an entry that no accepted packet has confirmed yet follows each frame
 *   (a forged first frame cannot lock the real peer out of its handshake);
 * - a confirmed entry changes only through nexthop_confirm(), called for a
 *   packet QUIC accepted on an established connection (migration included);
 *   frames that disagree with it are left for that call to decide;
 * - a new address never evicts a confirmed entry, only unconfirmed ones.
 */
#ifndef BEAM_NEXTHOP_H
#define BEAM_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt_hdr.h"

#define NEXTHOP_SLOTS 4096 /* power of two */
#define NEXTHOP_PROBE 8

struct nexthop {
	uint8_t used;
	uint8_t confirmed; /* an accepted packet proved the fields below */
	uint8_t family;
	uint8_t nvlan;
	uint8_t addr[16];
	uint8_t mac[PKT_ETH_ALEN];     /* next hop: source MAC of its frames */
	uint8_t our_mac[PKT_ETH_ALEN]; /* destination MAC of its frames */
	uint16_t vlan_tpid[PKT_MAX_VLANS];
	uint16_t vlan_tci[PKT_MAX_VLANS];
	uint8_t local[16]; /* our address as the peer used it */
	uint16_t local_port;
};

struct nexthop_table {
	struct nexthop *last; /* the entry of the previous frame: bursts come from one */
	uint64_t mac_changes; /* a confirmed next-hop MAC or tags changed */
	uint64_t unproven;    /* frames that disagreed with a confirmed entry */
	uint64_t no_slot;     /* new addresses with every slot of their probe confirmed */
	struct nexthop slots[NEXTHOP_SLOTS];
};

/*
 * A frame with headers @h arrived. Applies the rule above; returns true when
 * the frame should be confirmed once QUIC accepts its packet (it disagrees
 * with the entry, or the entry is not confirmed yet), false when there is
 * nothing to learn from it.
 */
bool nexthop_seen(struct nexthop_table *t, const struct pkt_udp *h);

/* The packet of the frame with headers @h was accepted by QUIC: make @h's
 * path the confirmed entry of its source address. */
void nexthop_confirm(struct nexthop_table *t, const struct pkt_udp *h);

/* The entry of @addr (16 bytes, IPv4 in the first 4) or NULL. */
const struct nexthop *nexthop_find(struct nexthop_table *t, uint8_t family, const uint8_t *addr);

#endif /* BEAM_NEXTHOP_H */
