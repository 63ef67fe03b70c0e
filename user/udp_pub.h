/* SPDX-License-Identifier: MIT */
/*
 * udp_pub.h - the public UDP socket of one udp tunnel on the edge. Each
 * public client address becomes a numbered flow (udp_flow.h); datagrams from
 * it go to the owner with the flow's number, and answers for a number go
 * back to that address. Flows idle for a while are forgotten; their numbers
 * are never used again.
 */
#ifndef BEAM_UDP_PUB_H
#define BEAM_UDP_PUB_H

#include "pktio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct udp_pub;

/*
 * A datagram from public flow @flow_id. @len may be larger than what fits a
 * QUIC packet: the owner decides (and counts) what it drops.
 */
typedef void (*udp_pub_recv_cb)(void *arg, uint64_t flow_id, const uint8_t *data, size_t len);

struct udp_pub_config {
	struct pktio_addr bind; /* with the port asked for, 0 for any */
	bool adopt;		/* take @fd, a bound UDP socket, instead of binding */
	int fd;			/* with @adopt: owned from the call on, also on error */
	unsigned int max_flows; /* 0: 4096 */
	unsigned int idle_s;	/* forget a flow idle this long (0: 60) */
	udp_pub_recv_cb recv;
	void (*flush)(void *arg); /* after each batch of recv calls; may be NULL */
	void *arg;
};

struct udp_pub_stats {
	uint64_t rx;	      /* datagrams from public clients */
	uint64_t tx;	      /* datagrams sent to public clients */
	uint64_t drop_flows;  /* from a new client while max_flows are live */
	uint64_t drop_noflow; /* answers for a flow that expired */
	uint64_t drop_send;   /* sendto failed (buffer full, unreachable) */
	uint64_t drop_full;   /* the kernel's: the socket's receive buffer was full */
	uint64_t flows;	      /* live now */
};

/* Bind the socket and watch it in @base. Returns 0 or -errno (-EADDRINUSE...). */
int udp_pub_new(struct udp_pub **out, struct event_base *base, const struct udp_pub_config *cfg);

/* The public port (the one the kernel picked when 0 was asked). */
uint16_t udp_pub_port(const struct udp_pub *u);

/* Send @len bytes to flow @flow_id's client. Returns 0, -ENOENT (no such
 * flow, counted), or -errno of sendto (counted). */
int udp_pub_send(struct udp_pub *u, uint64_t flow_id, const uint8_t *data, size_t len);

void udp_pub_stats(const struct udp_pub *u, struct udp_pub_stats *out);

/* A dup of the public socket, for another worker to adopt; -errno on failure. */
int udp_pub_dup_fd(const struct udp_pub *u);

/* Close the socket and forget every flow. Accepts NULL. */
void udp_pub_free(struct udp_pub *u);

#endif /* BEAM_UDP_PUB_H */
