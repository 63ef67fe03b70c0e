/* SPDX-License-Identifier: MIT */
/*
 * udp_local.h - the agent's side of a udp tunnel: one connected UDP socket
 * to the local service per public flow, so the service sees each public
 * client as its own peer and its answers find their way back by socket. The
 * number of sockets is bounded; a socket idle for a while is closed.
 */
#ifndef BEAM_UDP_LOCAL_H
#define BEAM_UDP_LOCAL_H

#include "pktio.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct udp_local;

/* The service answered on flow @flow_id. */
typedef void (*udp_local_reply_cb)(void *arg, uint64_t flow_id, const uint8_t *data, size_t len);

struct udp_local_config {
	struct pktio_addr target; /* the local service */
	unsigned int max_flows;	  /* sockets at most (0: 4096) */
	unsigned int idle_s;	  /* close a socket idle this long (0: 60) */
	udp_local_reply_cb reply;
	void (*flush)(void *arg); /* after each batch of replies; may be NULL */
	void *arg;
};

struct udp_local_stats {
	uint64_t tx;	     /* datagrams sent to the service */
	uint64_t rx;	     /* answers read from it */
	uint64_t drop_flows; /* a new flow while max_flows sockets are open */
	uint64_t drop_send;  /* socket or send failed (service down: ECONNREFUSED) */
	uint64_t flows;	     /* sockets open now */
};

int udp_local_new(struct udp_local **out, struct event_base *base,
		  const struct udp_local_config *cfg);

/*
 * Send @len bytes from flow @flow_id to the service, on the flow's socket
 * (opened on first use). Returns 0, -ENOSPC at the flow limit, or -errno
 * (all counted).
 */
int udp_local_send(struct udp_local *u, uint64_t flow_id, const uint8_t *data, size_t len);

/* Close every flow's socket (the edge's flow numbers are no longer ours). */
void udp_local_reset(struct udp_local *u);

void udp_local_stats(const struct udp_local *u, struct udp_local_stats *out);

void udp_local_free(struct udp_local *u);

#endif /* BEAM_UDP_LOCAL_H */
