/* SPDX-License-Identifier: MIT */
/*
 * udp_flow.h - the flows of a udp tunnel: public client addresses numbered
 * by the edge, found by number or by address in O(1), kept in order of last
 * use so the idle ones expire from one end. The edge keys its flows by both;
 * the agent only by number. The table holds at most a fixed number.
 */
#ifndef BEAM_UDP_FLOW_H
#define BEAM_UDP_FLOW_H

#include "pktio.h"

#include <stdint.h>

struct udp_flow {
	struct udp_flow *id_next, *addr_next; /* hash chains */
	struct udp_flow *lru_prev, *lru_next; /* most recently used first */
	uint64_t id;
	uint64_t last_ns;
	struct pktio_addr addr; /* the public client (edge), unused on the agent */
	void *user;
};

struct udp_flows {
	struct udp_flow **by_id, **by_addr;
	struct udp_flow *lru_head, *lru_tail;
	uint64_t next_id;
	uint32_t seed;
	unsigned int mask; /* buckets - 1 */
	unsigned int n, max;
};

/* What a udp tunnel's side keeps when its config leaves these at 0. */
#define UDP_FLOWS_DEFAULT_MAX	 4096
#define UDP_FLOWS_DEFAULT_IDLE_S 60

/* Make @t hold up to @max flows (1..1,048,576). Returns 0 or -errno. */
int udp_flows_init(struct udp_flows *t, unsigned int max);

/* Set a zero *@max and *@idle_s (a config's "default") to the defaults above. */
void udp_flows_defaults(unsigned int *max, unsigned int *idle_s);

/* Free every flow (and its table); @t may be initialized again. */
void udp_flows_fini(struct udp_flows *t);

struct udp_flow *udp_flows_by_id(const struct udp_flows *t, uint64_t id);
struct udp_flow *udp_flows_by_addr(const struct udp_flows *t, const struct pktio_addr *a);

/*
 * Add a flow with @id (0: the next unused number, from 1 up, never reused)
 * for @a (NULL: none), used at @now_ns. Returns 0 and the flow in *@out, or
 * -ENOSPC when the table is full, -EEXIST when @id is there, -ENOMEM.
 */
int udp_flows_add(struct udp_flows *t, uint64_t id, const struct pktio_addr *a, uint64_t now_ns,
		  struct udp_flow **out);

/* @f was used at @now_ns: it goes to the young end. */
void udp_flows_touch(struct udp_flows *t, struct udp_flow *f, uint64_t now_ns);

/* The least recently used flow, or NULL. */
struct udp_flow *udp_flows_oldest(const struct udp_flows *t);

/* Take @f out of the table and free it (not its @user). */
void udp_flows_del(struct udp_flows *t, struct udp_flow *f);

/*
 * Delete the flows not used for more than @idle_ns before @now_ns, oldest
 * first; @gone_cb (or NULL) sees each one first, to free its @user.
 */
void udp_flows_expire(struct udp_flows *t, uint64_t now_ns, uint64_t idle_ns,
		      void (*gone_cb)(struct udp_flow *f, void *arg), void *arg);

#endif /* BEAM_UDP_FLOW_H */
