/* SPDX-License-Identifier: MIT */
/*
 * edge_limits.h - what one agent or one stranger may hold on the edge, and
 * how long beamd waits for a public client that went silent.
 *
 * Each limit refuses the newest comer (a connection closed with
 * PROTO_ERR_LIMIT, a REGISTER answered with it, a public TCP connection
 * reset) and leaves everything already admitted alone. Hits are counted for
 * /metrics (beam_limit_hits_total{limit=...}) and logged, rate-limited.
 *
 * A public client that vanishes without a FIN leaves an established TCP
 * connection, a stream and buffers behind; keepalive (idle sockets) and the
 * QUIC engine's sweep of silent peers with data outstanding bound that to
 * about the idle timeout. A client that merely pauses its reading is kept.
 */
#ifndef BEAM_EDGE_LIMITS_H
#define BEAM_EDGE_LIMITS_H

#include "pktio.h"

#include <stdint.h>
#include <stdio.h>

enum edge_limit {
	EDGE_LIMIT_CONNS_PER_TOKEN = 0, /* live agent connections with one token */
	EDGE_LIMIT_TUNNELS_PER_TOKEN,	/* tunnels of one token, kept ones included */
	EDGE_LIMIT_STREAMS_PER_TUNNEL,	/* public connections one tunnel carries at once */
	EDGE_LIMIT_CONNS_PER_SOURCE,	/* public connections from one IP address */
	EDGE_LIMIT_UDP_FLOWS,		/* public clients one udp tunnel tracks at once */
	EDGE_LIMIT_STREAM_BUFFERS,	/* bytes of stream buffers, all connections */
	EDGE_LIMIT__MAX,
};

struct edge_limits {
	uint64_t max[EDGE_LIMIT__MAX];
};

/* The defaults: 64 connections and 64 tunnels per token, 100,000 streams per
 * tunnel, 16,384 connections per source, 4,096 udp flows per tunnel, 1 GiB of
 * stream buffers. */
void edge_limits_default(struct edge_limits *l);

/*
 * For --help: every NAME (as --limit takes it) with its default in brackets,
 * comma-separated, lines broken before @width columns and continued after
 * @indent spaces; the first line starts at column @indent already.
 */
void edge_limits_help(FILE *out, int indent, int width);

/* "conns_per_token", ... (the metric label). */
const char *edge_limit_name(enum edge_limit l);

/*
 * Apply "NAME=VALUE" (NAME with - or _, as edge_limit_name; the buffer limit
 * as stream_buffers_mb in MiB) to @l. Returns 0, or -EINVAL after a message.
 */
int edge_limits_parse(struct edge_limits *l, const char *spec);

/* Public connections per source address: a small hash table. */
struct edge_src;

int edge_src_new(struct edge_src **out);
void edge_src_free(struct edge_src *s);

/* Count one more connection from @a's address unless @max are there already.
 * Returns 0, -EBUSY at the limit, or -ENOMEM. */
int edge_src_get(struct edge_src *s, const struct pktio_addr *a, uint64_t max);

/* One connection from @a's address is gone. */
void edge_src_put(struct edge_src *s, const struct pktio_addr *a);

/*
 * Make the kernel give up on @fd's peer after about @secs seconds without
 * an answer while nothing is outstanding: keepalive from @secs / 2 of
 * silence, probes every @secs / 6, three of them. 0 leaves the
 * socket alone. Failures are ignored (the socket still works, only slower
 * to notice a dead peer).
 */
void edge_limits_tcp_dead_peer(int fd, unsigned int secs);

#endif /* BEAM_EDGE_LIMITS_H */
