// SPDX-License-Identifier: MIT
/*
 * nexthop.c - the next-hop table of the AF_XDP back end (see nexthop.h):
 * open addressing over a fixed array, a short bounded probe per lookup.
 */
#include "nexthop.h"

#include <string.h>

static uint32_t addr_hash(uint8_t family, const uint8_t *addr, uint16_t port)
{
	uint32_t h = 2166136261u ^ family;
	int i;

	/* FNV-1a: addresses are attacker-chosen, but a collision only costs an
	 * unconfirmed entry its slot, never a wrong MAC for a found entry. */
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return (h ^ (port & 0xff)) * 16777619u;
}

static bool same_addr(const struct nexthop *e, uint8_t family, const uint8_t *addr, uint16_t port)
{
	return e->used && e->family == family && e->port == port && !memcmp(e->addr, addr, 16);
}

static struct nexthop *lookup(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
			      uint16_t port)
{
	uint32_t h, i;

	if (t->last && same_addr(t->last, family, addr, port))
		return t->last;
	h = addr_hash(family, addr, port);
	for (i = 0; i < NEXTHOP_PROBE; i++) {
		struct nexthop *e = &t->slots[(h + i) & (NEXTHOP_SLOTS - 1)];

		if (same_addr(e, family, addr, port))
			return t->last = e;
	}
	return NULL;
}

/* Whether @e's path is proven and the proof is recent. */
static bool trusted(const struct nexthop *e, uint64_t now)
{
	return e->confirmed && (now < e->confirmed_ns || now - e->confirmed_ns < NEXTHOP_TRUST_NS);
}

/* A slot for a new address: a free one, else an untrusted one, else (only
 * when @proven) the first of the probe; NULL when none may be taken. */
static struct nexthop *claim(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
			     uint16_t port, bool proven, uint64_t now)
{
	uint32_t h = addr_hash(family, addr, port), i;
	struct nexthop *victim = NULL;

	for (i = 0; i < NEXTHOP_PROBE; i++) {
		struct nexthop *e = &t->slots[(h + i) & (NEXTHOP_SLOTS - 1)];

		if (!e->used) {
			victim = e;
			break;
		}
		if (!trusted(e, now) && !victim)
			victim = e;
	}
	if (!victim && proven)
		victim = &t->slots[h & (NEXTHOP_SLOTS - 1)];
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->family = family;
	memcpy(victim->addr, addr, 16);
	victim->port = port;
	return t->last = victim;
}

/* The tags of @h in use; the parser never gives more than PKT_MAX_VLANS. */
static unsigned int ntags(const struct pkt_udp *h)
{
	return h->nvlan <= PKT_MAX_VLANS ? h->nvlan : PKT_MAX_VLANS;
}

/* Whether the next hop (MAC, tags) of @h differs from @p's. */
static bool hop_differs(const struct nexthop_path *p, const struct pkt_udp *h)
{
	unsigned int n = ntags(h);

	return memcmp(p->mac, h->src_mac, PKT_ETH_ALEN) || p->nvlan != n ||
	       memcmp(p->vlan_tpid, h->vlan_tpid, sizeof(h->vlan_tpid[0]) * n) ||
	       memcmp(p->vlan_tci, h->vlan_tci, sizeof(h->vlan_tci[0]) * n);
}

static bool differs(const struct nexthop_path *p, const struct pkt_udp *h)
{
	return hop_differs(p, h) || memcmp(p->our_mac, h->dst_mac, PKT_ETH_ALEN) ||
	       memcmp(p->local, h->daddr, 16) || p->local_port != h->dport;
}

static void path_of(const struct pkt_udp *h, struct nexthop_path *p)
{
	unsigned int n = ntags(h);

	memset(p, 0, sizeof(*p));
	memcpy(p->mac, h->src_mac, PKT_ETH_ALEN);
	memcpy(p->our_mac, h->dst_mac, PKT_ETH_ALEN);
	p->nvlan = (uint8_t)n;
	memcpy(p->vlan_tpid, h->vlan_tpid, sizeof(h->vlan_tpid[0]) * n);
	memcpy(p->vlan_tci, h->vlan_tci, sizeof(h->vlan_tci[0]) * n);
	memcpy(p->local, h->daddr, 16);
	p->local_port = h->dport;
}

bool nexthop_seen(struct nexthop_table *t, const struct pkt_udp *h, uint64_t now_ns)
{
	struct nexthop *e = lookup(t, h->family, h->saddr, h->sport);

	if (!e) {
		e = claim(t, h->family, h->saddr, h->sport, false, now_ns);
		if (!e) {
			t->no_slot++;
			return true; /* an accepted packet may still claim one */
		}
		path_of(h, &e->cur);
		return true;
	}
	if (!trusted(e, now_ns)) {
		path_of(h, &e->cur);
		return true;
	}
	if (differs(&e->cur, h)) {
		t->unproven++;
		return true;
	}
	/* while another path waits to take over, this one's packets cancel it */
	return e->switching ||
	       (now_ns >= e->confirmed_ns && now_ns - e->confirmed_ns >= NEXTHOP_RENEW_NS);
}

/* An accepted packet came over @h's path, not @e's trusted one: start or go on
 * with the switch to it. Returns whether it is taken now. */
static bool switch_due(struct nexthop *e, const struct pkt_udp *h, uint64_t now)
{
	struct nexthop_path p;

	path_of(h, &p);
	if (!e->switching || memcmp(&e->next, &p, sizeof(p))) {
		e->switching = 1;
		e->next_hits = 1;
		e->both = 0;
		e->next = p;
		e->switch_since_ns = now;
		return false;
	}
	if (e->next_hits < NEXTHOP_BOTH_AFTER)
		e->next_hits++;
	if (e->next_hits >= NEXTHOP_BOTH_AFTER && now >= e->switch_since_ns &&
	    now - e->switch_since_ns >= NEXTHOP_BOTH_NS)
		e->both = 1;
	return now >= e->switch_since_ns && now - e->switch_since_ns >= NEXTHOP_SWITCH_NS;
}

void nexthop_confirm(struct nexthop_table *t, const struct pkt_udp *h, uint64_t now_ns)
{
	struct nexthop *e = lookup(t, h->family, h->saddr, h->sport);

	if (!e) {
		e = claim(t, h->family, h->saddr, h->sport, true, now_ns);
	} else if (trusted(e, now_ns) && differs(&e->cur, h)) {
		if (!switch_due(e, h, now_ns))
			return;
		t->mac_changes += hop_differs(&e->cur, h);
	} else if (e->switching && trusted(e, now_ns)) {
		t->switch_cancelled++; /* the current path is alive */
	} else if (e->confirmed && hop_differs(&e->cur, h)) {
		t->mac_changes++;
	}
	path_of(h, &e->cur);
	e->switching = 0;
	e->confirmed = 1;
	e->confirmed_ns = now_ns;
}

unsigned int nexthop_paths(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
			   uint16_t port, const struct nexthop_path *out[2])
{
	const struct nexthop *e = lookup(t, family, addr, port);

	if (!e)
		return 0;
	out[0] = &e->cur;
	if (!e->switching || !e->both || !memcmp(&e->next, &e->cur, sizeof(e->cur)))
		return 1;
	out[1] = &e->next;
	return 2;
}

const struct nexthop *nexthop_find(struct nexthop_table *t, uint8_t family, const uint8_t *addr,
				   uint16_t port)
{
	return lookup(t, family, addr, port);
}
