// SPDX-License-Identifier: MIT
/*
 * udp_flow.c - a udp tunnel's flow table: two hash chains and an LRU list.
 */
#include "udp_flow.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define FLOWS_MAX    (1u << 20)
#define BUCKETS_MIN  16
#define CHAIN_TARGET 2 /* flows per bucket before the table doubles */

static uint32_t mix(uint64_t v, uint32_t seed)
{
	v ^= seed;
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ull;
	v ^= v >> 33;
	return (uint32_t)v;
}

/* The address of a public client, reduced to what identifies it. */
static void addr_key(const struct pktio_addr *a, uint8_t ip[16], uint16_t *port)
{
	memset(ip, 0, 16);
	if (a->sa.sa_family == AF_INET6) {
		memcpy(ip, &a->in6.sin6_addr, 16);
		*port = a->in6.sin6_port;
	} else {
		ip[10] = 0xff;
		ip[11] = 0xff;
		memcpy(ip + 12, &a->in.sin_addr, 4);
		*port = a->in.sin_port;
	}
}

static unsigned int addr_bucket(const struct udp_flows *t, const struct pktio_addr *a)
{
	uint64_t lo, hi;
	uint8_t ip[16];
	uint16_t port;

	addr_key(a, ip, &port);
	memcpy(&lo, ip, 8);
	memcpy(&hi, ip + 8, 8);
	return mix(lo ^ mix(hi ^ port, t->seed), t->seed) & t->mask;
}

static bool addr_eq(const struct pktio_addr *x, const struct pktio_addr *y)
{
	uint8_t a[16], b[16];
	uint16_t pa, pb;

	addr_key(x, a, &pa);
	addr_key(y, b, &pb);
	return pa == pb && !memcmp(a, b, 16);
}

/* Double the buckets (a tunnel with few clients keeps a small table). */
static void flows_grow(struct udp_flows *t)
{
	unsigned int nb = (t->mask + 1) * 2, i;
	struct udp_flow **by_id, **by_addr, *f;

	by_id = calloc(nb, sizeof(*by_id));
	by_addr = calloc(nb, sizeof(*by_addr));
	if (!by_id || !by_addr) {
		free(by_id);
		free(by_addr);
		return; /* longer chains, still correct */
	}
	free(t->by_id);
	free(t->by_addr);
	t->by_id = by_id;
	t->by_addr = by_addr;
	t->mask = nb - 1;
	for (f = t->lru_head; f; f = f->lru_next) {
		i = mix(f->id, t->seed) & t->mask;
		f->id_next = t->by_id[i];
		t->by_id[i] = f;
		if (!f->addr.len)
			continue;
		i = addr_bucket(t, &f->addr);
		f->addr_next = t->by_addr[i];
		t->by_addr[i] = f;
	}
}

int udp_flows_init(struct udp_flows *t, unsigned int max)
{
	unsigned int nb = BUCKETS_MIN;

	if (!max || max > FLOWS_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->by_id = calloc(nb, sizeof(*t->by_id));
	t->by_addr = calloc(nb, sizeof(*t->by_addr));
	if (!t->by_id || !t->by_addr) {
		free(t->by_id);
		free(t->by_addr);
		return -ENOMEM;
	}
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = 0x9e3779b9u;
	t->mask = nb - 1;
	t->max = max;
	t->next_id = 1;
	return 0;
}

void udp_flows_defaults(unsigned int *max, unsigned int *idle_s)
{
	if (!*max)
		*max = UDP_FLOWS_DEFAULT_MAX;
	if (!*idle_s)
		*idle_s = UDP_FLOWS_DEFAULT_IDLE_S;
}

void udp_flows_fini(struct udp_flows *t)
{
	while (t->lru_head)
		udp_flows_del(t, t->lru_head);
	free(t->by_id);
	free(t->by_addr);
	t->by_id = t->by_addr = NULL;
}

struct udp_flow *udp_flows_by_id(const struct udp_flows *t, uint64_t id)
{
	struct udp_flow *f;

	for (f = t->by_id[mix(id, t->seed) & t->mask]; f; f = f->id_next)
		if (f->id == id)
			return f;
	return NULL;
}

struct udp_flow *udp_flows_by_addr(const struct udp_flows *t, const struct pktio_addr *a)
{
	struct udp_flow *f;

	for (f = t->by_addr[addr_bucket(t, a)]; f; f = f->addr_next)
		if (f->addr.len && addr_eq(&f->addr, a))
			return f;
	return NULL;
}

static void lru_unlink(struct udp_flows *t, struct udp_flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_push(struct udp_flows *t, struct udp_flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = f;
	else
		t->lru_tail = f;
	t->lru_head = f;
}

int udp_flows_add(struct udp_flows *t, uint64_t id, const struct pktio_addr *a, uint64_t now_ns,
		  struct udp_flow **out)
{
	struct udp_flow *f;
	unsigned int b;

	if (t->n >= t->max)
		return -ENOSPC;
	if (id && udp_flows_by_id(t, id))
		return -EEXIST;
	if (t->n >= (t->mask + 1) * CHAIN_TARGET && (t->mask + 1) * CHAIN_TARGET < t->max)
		flows_grow(t);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->id = id ? id : t->next_id++;
	f->last_ns = now_ns;
	b = mix(f->id, t->seed) & t->mask;
	f->id_next = t->by_id[b];
	t->by_id[b] = f;
	if (a) {
		f->addr = *a;
		b = addr_bucket(t, a);
		f->addr_next = t->by_addr[b];
		t->by_addr[b] = f;
	}
	lru_push(t, f);
	t->n++;
	*out = f;
	return 0;
}

void udp_flows_touch(struct udp_flows *t, struct udp_flow *f, uint64_t now_ns)
{
	f->last_ns = now_ns;
	if (t->lru_head == f)
		return;
	lru_unlink(t, f);
	lru_push(t, f);
}

struct udp_flow *udp_flows_oldest(const struct udp_flows *t)
{
	return t->lru_tail;
}

void udp_flows_expire(struct udp_flows *t, uint64_t now_ns, uint64_t idle_ns,
		      void (*gone_cb)(struct udp_flow *f, void *arg), void *arg)
{
	struct udp_flow *f;

	while ((f = udp_flows_oldest(t)) && now_ns - f->last_ns > idle_ns) {
		if (gone_cb)
			gone_cb(f, arg);
		udp_flows_del(t, f);
	}
}

void udp_flows_del(struct udp_flows *t, struct udp_flow *f)
{
	struct udp_flow **pp;

	for (pp = &t->by_id[mix(f->id, t->seed) & t->mask]; *pp; pp = &(*pp)->id_next) {
		if (*pp == f) {
			*pp = f->id_next;
			break;
		}
	}
	if (f->addr.len) {
		for (pp = &t->by_addr[addr_bucket(t, &f->addr)]; *pp; pp = &(*pp)->addr_next) {
			if (*pp == f) {
				*pp = f->addr_next;
				break;
			}
		}
	}
	lru_unlink(t, f);
	t->n--;
	free(f);
}
