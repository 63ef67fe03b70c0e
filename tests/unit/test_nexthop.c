// SPDX-License-Identifier: MIT
/*
 * test_nexthop.c - the next-hop learning rule of the AF_XDP back end: first
 * contact creates an entry, an unconfirmed entry follows frames, a confirmed
 * one changes only through an accepted packet (a migration included) while
 * its confirmation holds, live connections renew it, and new addresses never
 * evict confirmed entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nexthop.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t mac_agent[6] = {0x02, 0, 0, 0, 0, 0xa1};
static const uint8_t mac_router[6] = {0x02, 0, 0, 0, 0, 0xa2};
static const uint8_t mac_evil[6] = {0x02, 0, 0, 0, 0, 0xee};
static const uint8_t mac_edge[6] = {0x02, 0, 0, 0, 0, 0x01};

#define T0  (1000ull * 1000000000ull) /* an arbitrary start on CLOCK_MONOTONIC */
#define SEC 1000000000ull

static void frame(struct pkt_udp *h, const uint8_t *src_mac, uint32_t ip, uint16_t sport)
{
	static const uint8_t edge_ip[4] = {10, 9, 0, 1};

	memset(h, 0, sizeof(*h));
	memcpy(h->src_mac, src_mac, 6);
	memcpy(h->dst_mac, mac_edge, 6);
	h->family = AF_INET;
	h->saddr[0] = (uint8_t)(ip >> 24);
	h->saddr[1] = (uint8_t)(ip >> 16);
	h->saddr[2] = (uint8_t)(ip >> 8);
	h->saddr[3] = (uint8_t)ip;
	memcpy(h->daddr, edge_ip, 4);
	h->sport = sport;
	h->dport = 4433;
}

static const struct nexthop *entry(struct nexthop_table *t, uint32_t ip, uint16_t port)
{
	struct pkt_udp h;

	frame(&h, mac_agent, ip, port);
	return nexthop_find(t, AF_INET, h.saddr, port);
}

static struct nexthop_table *table(void)
{
	struct nexthop_table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

static void test_first_contact_creates(void **state)
{
	struct nexthop_table *t = table();
	const struct nexthop *e;
	struct pkt_udp h;

	(void)state;
	assert_null(entry(t, 0x0a090002, 50000));
	frame(&h, mac_agent, 0x0a090002, 50000);
	assert_true(nexthop_seen(t, &h, T0)); /* to confirm once QUIC accepts it */
	e = entry(t, 0x0a090002, 50000);
	assert_non_null(e);
	assert_memory_equal(e->cur.mac, mac_agent, 6);
	assert_memory_equal(e->cur.our_mac, mac_edge, 6);
	assert_int_equal(e->cur.local_port, 4433);
	assert_false(e->confirmed);
	free(t);
}

static void test_forged_frame_leaves_confirmed_entry(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp good, evil;
	const struct nexthop *e;
	int i;

	(void)state;
	frame(&good, mac_agent, 0x0a090002, 50000);
	frame(&evil, mac_evil, 0x0a090002, 50000);
	nexthop_seen(t, &good, T0);
	nexthop_confirm(t, &good, T0);
	/* the same path again: nothing to learn, nothing to confirm */
	assert_false(nexthop_seen(t, &good, T0));

	for (i = 0; i < 1000; i++)
		assert_true(nexthop_seen(t, &evil, T0)); /* left for QUIC to decide */
	e = entry(t, 0x0a090002, 50000);
	assert_non_null(e);
	assert_true(e->confirmed);
	assert_memory_equal(e->cur.mac, mac_agent, 6);
	assert_int_equal(t->unproven, 1000);
	assert_int_equal(t->mac_changes, 0);

	/* forged VLAN tags do not stick either */
	evil.nvlan = 1;
	evil.vlan_tpid[0] = 0x8100;
	evil.vlan_tci[0] = 42;
	memcpy(evil.src_mac, mac_agent, 6);
	assert_true(nexthop_seen(t, &evil, T0));
	assert_int_equal(entry(t, 0x0a090002, 50000)->cur.nvlan, 0);
	free(t);
}

static void test_accepted_frame_changes_entry(void **state)
{
	struct nexthop_table *t = table();
	const struct nexthop_path *paths[2];
	struct pkt_udp good, moved;
	const struct nexthop *e;

	(void)state;
	frame(&good, mac_agent, 0x0a090002, 50000);
	nexthop_seen(t, &good, T0);
	nexthop_confirm(t, &good, T0);
	assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 1);

	/* the peer's next hop changed (a new router, new VLAN tags): once QUIC
	 * has accepted packets on the new path alone for NEXTHOP_SWITCH_NS, the
	 * entry follows it */
	frame(&moved, mac_router, 0x0a090002, 50000);
	moved.nvlan = 1;
	moved.vlan_tpid[0] = 0x8100;
	moved.vlan_tci[0] = 7;
	assert_true(nexthop_seen(t, &moved, T0));
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	nexthop_confirm(t, &moved, T0);
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6); /* not yet */
	/* a few packets may be replays that won while originals were lost:
	 * answers stay on the current path; after three over NEXTHOP_BOTH_NS,
	 * until the switch is decided, they go both ways, current path first */
	assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 1);
	nexthop_confirm(t, &moved, T0 + 1000);
	nexthop_confirm(t, &moved, T0 + 2000);
	nexthop_confirm(t, &moved, T0 + NEXTHOP_BOTH_NS - 1);
	assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 1);
	nexthop_confirm(t, &moved, T0 + NEXTHOP_BOTH_NS);
	assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 2);
	assert_memory_equal(paths[0]->mac, mac_agent, 6);
	assert_memory_equal(paths[1]->mac, mac_router, 6);
	assert_int_equal(paths[1]->vlan_tci[0], 7);
	nexthop_confirm(t, &moved, T0 + SEC / 2);
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	nexthop_confirm(t, &moved, T0 + SEC);
	assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 1);
	assert_memory_equal(paths[0]->mac, mac_router, 6);
	e = entry(t, 0x0a090002, 50000);
	assert_memory_equal(e->cur.mac, mac_router, 6);
	assert_int_equal(e->cur.nvlan, 1);
	assert_int_equal(e->cur.vlan_tci[0], 7);
	assert_int_equal(t->mac_changes, 1);
	assert_false(nexthop_seen(t, &moved, T0 + SEC));
	free(t);
}

/* Genuine packets replayed by someone else on the link are accepted when
 * their originals were lost; as long as the peer's own packets still arrive
 * on the current path, the replayer's path never takes over. */
static void test_replays_between_genuine_never_switch(void **state)
{
	struct nexthop_table *t = table();
	const struct nexthop_path *paths[2];
	struct pkt_udp good, replay;
	uint64_t now = T0;
	int i;

	(void)state;
	frame(&good, mac_agent, 0x0a090002, 50000);
	frame(&replay, mac_evil, 0x0a090002, 50000);
	nexthop_seen(t, &good, now);
	nexthop_confirm(t, &good, now);
	for (i = 0; i < 100; i++) {
		now += SEC / 10;
		/* a few replays win, then one genuine packet gets through */
		assert_true(nexthop_seen(t, &replay, now));
		nexthop_confirm(t, &replay, now);
		nexthop_confirm(t, &replay, now + SEC / 20);
		assert_true(nexthop_seen(t, &good, now + SEC / 20)); /* asked: a switch waits */
		nexthop_confirm(t, &good, now + SEC / 20);
		assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
		/* the genuine packet ends the sending on both paths too */
		assert_int_equal(nexthop_paths(t, AF_INET, good.saddr, 50000, paths), 1);
	}
	assert_int_equal(t->mac_changes, 0);
	assert_int_equal(t->switch_cancelled, 100);
	free(t);
}

/* A new connection from the same address (another port) behind another MAC:
 * its handshake is answered on its own path, the trusted one stays. */
static void test_new_port_is_its_own_path(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp old, fresh;

	(void)state;
	frame(&old, mac_agent, 0x0a090002, 50000);
	frame(&fresh, mac_router, 0x0a090002, 50001);
	nexthop_seen(t, &old, T0);
	nexthop_confirm(t, &old, T0);
	assert_true(nexthop_seen(t, &fresh, T0)); /* first contact */
	assert_memory_equal(entry(t, 0x0a090002, 50001)->cur.mac, mac_router, 6);
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	nexthop_confirm(t, &fresh, T0);
	assert_true(entry(t, 0x0a090002, 50001)->confirmed);
	assert_int_equal(t->mac_changes, 0);
	free(t);
}

static void test_unconfirmed_entry_follows_frames(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp evil, good;

	(void)state;
	/* a forged frame came first: the real peer's Initial must still be
	 * answered on its own path */
	frame(&evil, mac_evil, 0x0a090002, 50000);
	frame(&good, mac_agent, 0x0a090002, 50000);
	nexthop_seen(t, &evil, T0);
	nexthop_seen(t, &good, T0);
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	free(t);
}

static void test_new_addresses_never_evict_confirmed(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp h;
	uint32_t ip;

	(void)state;
	frame(&h, mac_agent, 0x0a090002, 50000);
	nexthop_seen(t, &h, T0);
	nexthop_confirm(t, &h, T0);
	/* a spray of forged sources fills every probe sequence */
	for (ip = 0x0b000000; ip < 0x0b000000 + 20 * NEXTHOP_SLOTS; ip++) {
		frame(&h, mac_evil, ip, 1);
		nexthop_seen(t, &h, T0);
	}
	assert_non_null(entry(t, 0x0a090002, 50000));
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	/* and the agent's address, forged again, still cannot move it */
	frame(&h, mac_evil, 0x0a090002, 50000);
	nexthop_seen(t, &h, T0);
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	free(t);
}

static void test_full_probe_confirmed_refuses_unproven(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp h;
	uint32_t ip, confirmed = 0;

	(void)state;
	/* confirm four times as many addresses as there are slots: every slot
	 * ends up holding a confirmed entry */
	for (ip = 0x0c000000; ip < 0x0c000000 + 4 * NEXTHOP_SLOTS; ip++) {
		frame(&h, mac_agent, ip, 1);
		nexthop_seen(t, &h, T0);
		nexthop_confirm(t, &h, T0);
	}
	for (ip = 0x0c000000; ip < 0x0c000000 + 4 * NEXTHOP_SLOTS; ip++) {
		const struct nexthop *e = entry(t, ip, 1);

		if (e) {
			assert_true(e->confirmed);
			confirmed++;
		}
	}
	assert_int_equal(confirmed, NEXTHOP_SLOTS);
	/* a new unproven address finds no slot it may take... */
	t->no_slot = 0;
	frame(&h, mac_evil, 0x0d000001, 1);
	assert_true(nexthop_seen(t, &h, T0));
	assert_null(entry(t, 0x0d000001, 1));
	assert_int_equal(t->no_slot, 1);
	/* ...but once QUIC accepted its packet it gets one */
	nexthop_confirm(t, &h, T0);
	assert_non_null(entry(t, 0x0d000001, 1));
	assert_true(entry(t, 0x0d000001, 1)->confirmed);
	free(t);
}

static void test_confirmation_renewed_then_lapses(void **state)
{
	struct nexthop_table *t = table();
	struct pkt_udp good, evil, fresh;
	uint64_t now = T0;

	(void)state;
	frame(&good, mac_agent, 0x0a090002, 50000);
	frame(&evil, mac_evil, 0x0a090002, 50000);
	nexthop_seen(t, &good, now);
	nexthop_confirm(t, &good, now);
	assert_false(nexthop_seen(t, &good, now + 1 * SEC));
	/* a live connection: its frames ask for a renewal now and then, and
	 * each accepted packet keeps the entry trusted past the first term */
	for (now = T0 + NEXTHOP_RENEW_NS; now < T0 + 3 * NEXTHOP_TRUST_NS;
	     now += NEXTHOP_RENEW_NS) {
		assert_true(nexthop_seen(t, &good, now));
		nexthop_confirm(t, &good, now);
		nexthop_seen(t, &evil, now + 1);
		assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_agent, 6);
	}
	/* the peer went silent: once the confirmation lapsed, its address is
	 * first contact again, and another host behind a new MAC gets answers */
	now += NEXTHOP_TRUST_NS;
	frame(&fresh, mac_router, 0x0a090002, 50000);
	assert_true(nexthop_seen(t, &fresh, now));
	assert_memory_equal(entry(t, 0x0a090002, 50000)->cur.mac, mac_router, 6);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_contact_creates),
		cmocka_unit_test(test_forged_frame_leaves_confirmed_entry),
		cmocka_unit_test(test_accepted_frame_changes_entry),
		cmocka_unit_test(test_replays_between_genuine_never_switch),
		cmocka_unit_test(test_new_port_is_its_own_path),
		cmocka_unit_test(test_unconfirmed_entry_follows_frames),
		cmocka_unit_test(test_new_addresses_never_evict_confirmed),
		cmocka_unit_test(test_full_probe_confirmed_refuses_unproven),
		cmocka_unit_test(test_confirmation_renewed_then_lapses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
