// SPDX-License-Identifier: MIT
/*
 * edge_hub.c - the state beamd's workers share: tunnel registry, counts for
 * the limits, and the inboxes that carry hand-overs between worker loops.
 */
#include "edge_hub.h"
#include "edge_limits.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

struct token_count {
	struct token_count *next;
	uint64_t n;
	char name[TOKENS_MAX_NAME + 1];
};

struct inbox {
	pthread_mutex_t lock; /* only the queue: posting never waits on the hub lock */
	struct hub_msg *head, *tail;
	struct event *ev; /* NULL: closed */
	hub_msg_cb cb;
	hub_msg_free_cb free_cb;
	void *arg;
};

/* http tunnels by host name: each new public http connection looks one up */
#define HOST_BUCKETS 1024

struct edge_hub {
	pthread_mutex_t lock;
	unsigned int nworkers;
	uint64_t next_id;
	struct hub_tunnel *tunnels;
	struct hub_tunnel *hosts[HOST_BUCKETS];
	struct token_count *tokens;
	struct edge_src *src;
	uint64_t buffers[EDGE_HUB_WORKERS_MAX];
	struct inbox inbox[EDGE_HUB_WORKERS_MAX];
};

int edge_hub_new(struct edge_hub **out, unsigned int nworkers)
{
	struct edge_hub *h;
	unsigned int i;
	int err;

	if (!nworkers || nworkers > EDGE_HUB_WORKERS_MAX)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = edge_src_new(&h->src);
	if (err) {
		free(h);
		return err;
	}
	pthread_mutex_init(&h->lock, NULL);
	for (i = 0; i < EDGE_HUB_WORKERS_MAX; i++)
		pthread_mutex_init(&h->inbox[i].lock, NULL);
	h->nworkers = nworkers;
	*out = h;
	return 0;
}

void edge_hub_free(struct edge_hub *h)
{
	unsigned int i;

	if (!h)
		return;
	for (i = 0; i < EDGE_HUB_WORKERS_MAX; i++) {
		edge_hub_inbox_close(h, i);
		pthread_mutex_destroy(&h->inbox[i].lock);
	}
	while (h->tunnels) {
		struct hub_tunnel *t = h->tunnels;

		h->tunnels = t->next;
		free(t);
	}
	while (h->tokens) {
		struct token_count *c = h->tokens;

		h->tokens = c->next;
		free(c);
	}
	edge_src_free(h->src);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

unsigned int edge_hub_workers(const struct edge_hub *h)
{
	return h->nworkers;
}

void edge_hub_lock(struct edge_hub *h)
{
	pthread_mutex_lock(&h->lock);
}

void edge_hub_unlock(struct edge_hub *h)
{
	pthread_mutex_unlock(&h->lock);
}

/* ---- registry ----------------------------------------------------------- */

struct hub_tunnel *edge_hub_find(struct edge_hub *h, uint8_t kind, const char *token,
				 const char *name, uint16_t port)
{
	struct hub_tunnel *t;

	for (t = h->tunnels; t; t = t->next)
		if (t->kind == kind && !strcmp(t->token_name, token) && !strcmp(t->name, name) &&
		    (!port || t->port == port))
			return t;
	return NULL;
}

struct hub_tunnel *edge_hub_by_id(struct edge_hub *h, uint64_t id)
{
	struct hub_tunnel *t;

	for (t = h->tunnels; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

struct hub_tunnel *edge_hub_by_port(struct edge_hub *h, uint8_t kind, uint16_t port)
{
	struct hub_tunnel *t;

	for (t = h->tunnels; t; t = t->next)
		if (t->kind == kind && t->port == port)
			return t;
	return NULL;
}

/* FNV-1a over the (already lower-cased) host name. */
static unsigned int host_bucket(const char *host)
{
	uint32_t x = 2166136261u;

	while (*host)
		x = (x ^ (uint8_t)*host++) * 16777619u;
	return x % HOST_BUCKETS;
}

struct hub_tunnel *edge_hub_by_host(struct edge_hub *h, const char *host)
{
	struct hub_tunnel *t;

	for (t = h->hosts[host_bucket(host)]; t; t = t->host_next)
		if (!strcmp(t->name, host))
			return t;
	return NULL;
}

uint64_t edge_hub_token_tunnels(struct edge_hub *h, const char *token)
{
	struct hub_tunnel *t;
	uint64_t n = 0;

	for (t = h->tunnels; t; t = t->next)
		n += !strcmp(t->token_name, token);
	return n;
}

struct hub_tunnel *edge_hub_add(struct edge_hub *h, uint8_t kind, uint16_t port, const char *token,
				const char *name, unsigned int worker)
{
	struct hub_tunnel *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = ++h->next_id;
	t->kind = kind;
	t->port = port;
	t->worker = (uint8_t)worker;
	snprintf(t->token_name, sizeof(t->token_name), "%s", token);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->next = h->tunnels;
	h->tunnels = t;
	if (kind == PROTO_KIND_HTTP) {
		unsigned int b = host_bucket(t->name);

		t->host_next = h->hosts[b];
		h->hosts[b] = t;
	}
	return t;
}

static void host_unlink(struct edge_hub *h, struct hub_tunnel *t)
{
	struct hub_tunnel **pp;

	for (pp = &h->hosts[host_bucket(t->name)]; *pp; pp = &(*pp)->host_next) {
		if (*pp == t) {
			*pp = t->host_next;
			return;
		}
	}
}

void edge_hub_del(struct edge_hub *h, uint64_t id)
{
	struct hub_tunnel **pp, *t;

	for (pp = &h->tunnels; (t = *pp); pp = &t->next) {
		if (t->id == id) {
			*pp = t->next;
			if (t->kind == PROTO_KIND_HTTP)
				host_unlink(h, t);
			free(t);
			return;
		}
	}
}

/* ---- counts ------------------------------------------------------------- */

int edge_hub_token_conn_get(struct edge_hub *h, const char *token, uint64_t max)
{
	struct token_count *c;
	int err = 0;

	pthread_mutex_lock(&h->lock);
	for (c = h->tokens; c; c = c->next)
		if (!strcmp(c->name, token))
			break;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		snprintf(c->name, sizeof(c->name), "%s", token);
		c->next = h->tokens;
		h->tokens = c;
	}
	if (c->n >= max)
		err = -EBUSY;
	else
		c->n++;
out:
	pthread_mutex_unlock(&h->lock);
	return err;
}

void edge_hub_token_conn_put(struct edge_hub *h, const char *token)
{
	struct token_count *c;

	pthread_mutex_lock(&h->lock);
	for (c = h->tokens; c; c = c->next) {
		if (!strcmp(c->name, token)) {
			if (c->n)
				c->n--;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

int edge_hub_src_get(struct edge_hub *h, const struct pktio_addr *a, uint64_t max)
{
	int err;

	pthread_mutex_lock(&h->lock);
	err = edge_src_get(h->src, a, max);
	pthread_mutex_unlock(&h->lock);
	return err;
}

void edge_hub_src_put(struct edge_hub *h, const struct pktio_addr *a)
{
	pthread_mutex_lock(&h->lock);
	edge_src_put(h->src, a);
	pthread_mutex_unlock(&h->lock);
}

uint64_t edge_hub_buffers(struct edge_hub *h, unsigned int w, uint64_t bytes)
{
	uint64_t sum = 0;
	unsigned int i;

	if (w < h->nworkers)
		__atomic_store_n(&h->buffers[w], bytes, __ATOMIC_RELAXED);
	for (i = 0; i < h->nworkers; i++)
		sum += __atomic_load_n(&h->buffers[i], __ATOMIC_RELAXED);
	return sum;
}

/* ---- inboxes ------------------------------------------------------------ */

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct inbox *ib = arg;
	struct hub_msg *m;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&ib->lock);
	m = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->lock);
	while (m) {
		struct hub_msg *next = m->next;

		m->next = NULL;
		ib->cb(m, ib->arg);
		m = next;
	}
}

int edge_hub_inbox_open(struct edge_hub *h, unsigned int w, struct event_base *base, hub_msg_cb cb,
			hub_msg_free_cb free_cb, void *arg)
{
	struct inbox *ib;
	struct event *ev;

	if (w >= h->nworkers)
		return -EINVAL;
	ib = &h->inbox[w];
	ev = event_new(base, -1, 0, inbox_cb, ib);
	if (!ev)
		return -ENOMEM;
	pthread_mutex_lock(&ib->lock);
	ib->cb = cb;
	ib->free_cb = free_cb;
	ib->arg = arg;
	ib->ev = ev;
	pthread_mutex_unlock(&ib->lock);
	return 0;
}

void edge_hub_inbox_close(struct edge_hub *h, unsigned int w)
{
	struct inbox *ib;
	struct hub_msg *m;
	struct event *ev;

	if (w >= EDGE_HUB_WORKERS_MAX)
		return;
	ib = &h->inbox[w];
	pthread_mutex_lock(&ib->lock);
	ev = ib->ev;
	ib->ev = NULL;
	m = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->lock);
	if (ev)
		event_free(ev);
	while (m) {
		struct hub_msg *next = m->next;

		ib->free_cb(m);
		m = next;
	}
}

int edge_hub_post(struct edge_hub *h, unsigned int w, struct hub_msg *m)
{
	struct inbox *ib;
	hub_msg_free_cb free_cb;

	if (w >= h->nworkers)
		return -EINVAL; /* a bug of the caller: keeps @m */
	ib = &h->inbox[w];
	m->next = NULL;
	pthread_mutex_lock(&ib->lock);
	if (!ib->ev) {
		free_cb = ib->free_cb;
		pthread_mutex_unlock(&ib->lock);
		if (free_cb)
			free_cb(m);
		return -ESHUTDOWN;
	}
	if (ib->tail)
		ib->tail->next = m;
	else
		ib->head = m;
	ib->tail = m;
	/* thread-safe with evthread on; activating twice runs the callback once */
	event_active(ib->ev, 0, 0);
	pthread_mutex_unlock(&ib->lock);
	return 0;
}
