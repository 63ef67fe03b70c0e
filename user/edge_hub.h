/* SPDX-License-Identifier: MIT */
/*
 * edge_hub.h - what beamd's workers share: the tunnel registry (which worker
 * owns which tunnel, by id, port, token and name, and http host), the counts
 * the per-token and per-source limits need, and one inbox per worker through
 * which the others hand it file descriptors and requests.
 *
 * Everything here sits behind one mutex, taken when an agent authenticates,
 * registers or goes, and when a public connection is accepted or closed:
 * never for a packet or stream bytes. The lock is held only for the lookups
 * below; nothing calls out while holding it.
 */
#ifndef BEAM_EDGE_HUB_H
#define BEAM_EDGE_HUB_H

#include "pktio.h"
#include "proto.h"
#include "tokens.h"

#include <stdbool.h>
#include <stdint.h>

#define EDGE_HUB_WORKERS_MAX 64 /* the CID carries the worker id in one octet */

struct event_base;
struct edge_hub;

/* One tunnel as the registry knows it. Read and written under the hub lock. */
struct hub_tunnel {
	struct hub_tunnel *next;
	struct hub_tunnel *host_next; /* http: the chain of its host name's bucket */
	uint64_t id;
	uint16_t port;
	uint8_t kind;	/* enum proto_kind */
	uint8_t worker; /* the worker whose loop drives it */
	bool moving;	/* being handed to another worker: not routable */
	char token_name[TOKENS_MAX_NAME + 1];
	char name[PROTO_MAX_NAME + 1];
};

/* A message for a worker's inbox; the sender embeds it first in its own struct. */
struct hub_msg {
	struct hub_msg *next;
	unsigned int type;
};

/* Runs on the worker's loop for each message; owns @m. */
typedef void (*hub_msg_cb)(struct hub_msg *m, void *arg);
/* Frees a message never delivered (shutdown), closing what it carries. */
typedef void (*hub_msg_free_cb)(struct hub_msg *m);

/* A hub for @nworkers (1..EDGE_HUB_WORKERS_MAX). Returns 0, -EINVAL or -ENOMEM. */
int edge_hub_new(struct edge_hub **out, unsigned int nworkers);

/* Free the registry and any undelivered messages. Accepts NULL. */
void edge_hub_free(struct edge_hub *h);

unsigned int edge_hub_workers(const struct edge_hub *h);

void edge_hub_lock(struct edge_hub *h);
void edge_hub_unlock(struct edge_hub *h);

/* ---- the registry: every call below needs the lock held ---- */

/* The tunnel a returning agent takes back: same kind, token and name, and
 * the same port when @port is not 0. */
struct hub_tunnel *edge_hub_find(struct edge_hub *h, uint8_t kind, const char *token,
				 const char *name, uint16_t port);
struct hub_tunnel *edge_hub_by_id(struct edge_hub *h, uint64_t id);
struct hub_tunnel *edge_hub_by_port(struct edge_hub *h, uint8_t kind, uint16_t port);
struct hub_tunnel *edge_hub_by_host(struct edge_hub *h, const char *host);
/* Tunnels of @token, kept ones included. */
uint64_t edge_hub_token_tunnels(struct edge_hub *h, const char *token);

/* Reserve a new tunnel for @worker, with a new id. Returns NULL when out of memory. */
struct hub_tunnel *edge_hub_add(struct edge_hub *h, uint8_t kind, uint16_t port, const char *token,
				const char *name, unsigned int worker);
/* Forget tunnel @id (no-op if unknown). */
void edge_hub_del(struct edge_hub *h, uint64_t id);

/* ---- counts for the limits: these take the lock themselves ---- */

/* One more live agent connection of @token unless @max are there. 0, -EBUSY, -ENOMEM. */
int edge_hub_token_conn_get(struct edge_hub *h, const char *token, uint64_t max);
void edge_hub_token_conn_put(struct edge_hub *h, const char *token);

/* Public connections per source address, across workers (edge_src_get semantics). */
int edge_hub_src_get(struct edge_hub *h, const struct pktio_addr *a, uint64_t max);
void edge_hub_src_put(struct edge_hub *h, const struct pktio_addr *a);

/* Worker @w holds @bytes of stream buffers now; returns the sum over all
 * workers (lock-free: relaxed atomics, a count a moment old at worst). */
uint64_t edge_hub_buffers(struct edge_hub *h, unsigned int w, uint64_t bytes);

/* ---- inboxes ---- */

/*
 * Let worker @w receive messages on @base: @cb runs on that loop. The
 * libevent thread support (evthread_use_pthreads) must be on when several
 * loops run in threads. Returns 0, -EINVAL or -ENOMEM.
 */
int edge_hub_inbox_open(struct edge_hub *h, unsigned int w, struct event_base *base, hub_msg_cb cb,
			hub_msg_free_cb free_cb, void *arg);

/* Stop worker @w's inbox; messages still queued are freed with its free_cb. */
void edge_hub_inbox_close(struct edge_hub *h, unsigned int w);

/* Queue @m for worker @w and wake its loop. The hub owns @m from here, also
 * on -ESHUTDOWN (inbox closed: @m was freed with the free_cb). */
int edge_hub_post(struct edge_hub *h, unsigned int w, struct hub_msg *m);

#endif /* BEAM_EDGE_HUB_H */
