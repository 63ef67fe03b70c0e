/* SPDX-License-Identifier: MIT */
/*
 * edge_stats.h - what beamd's edge counts, and the hand-over of those counts
 * from the worker that owns them to the metrics thread that renders them.
 *
 * Each worker fills a struct edge_stats every EDGE_STATS_PERIOD_MS and
 * publishes a copy in its own slot; a scrape takes a copy under the same short lock and
 * renders it, so the data path never waits for a scraper. Cumulative
 * counters include connections that have closed, so they only grow.
 */
#ifndef BEAM_EDGE_STATS_H
#define BEAM_EDGE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam_maps.h"
#include "edge_limits.h"
#include "pkt_hdr.h"
#include "prom.h"
#include "proto.h"
#include "quic.h"
#include "tokens.h"

#define EDGE_STATS_PERIOD_MS   100
#define EDGE_STATS_TUNNELS_MAX 1024 /* tunnels shown in /metrics; more are summed only */

/* What the public HTTP listener answered itself, by status. */
enum edge_http_answer {
	EDGE_HTTP_400,
	EDGE_HTTP_404,
	EDGE_HTTP_408,
	EDGE_HTTP_431,
	EDGE_HTTP_502,
	EDGE_HTTP_503,
	EDGE_HTTP_REFUSED,	  /* closed without an answer: too many waiting, or a limit */
	EDGE_HTTP_REFUSED_SOURCE, /* closed without an answer: its source reads too many heads */
	EDGE_HTTP_ANSWER__MAX,
};

/* Why a udp tunnel's datagram was dropped at the edge (either direction). */
enum edge_udp_drop {
	EDGE_UDP_DROP_TOO_BIG,	   /* larger than a DATAGRAM frame on the agent's path */
	EDGE_UDP_DROP_QUEUE_FULL,  /* the connection's datagram queue was full */
	EDGE_UDP_DROP_NO_AGENT,	   /* the tunnel's agent is away */
	EDGE_UDP_DROP_FLOW_LIMIT,  /* a new public client while the flow table is full */
	EDGE_UDP_DROP_NO_FLOW,	   /* an answer for a flow that expired */
	EDGE_UDP_DROP_SEND_FAILED, /* sendto to the public client failed */
	EDGE_UDP_DROP_MALFORMED,   /* from the agent: bad header, or not its tunnel */
	EDGE_UDP_DROP_SOCKET_FULL, /* by the kernel: the public socket's buffer was full */
	EDGE_UDP_DROP__MAX,
};

const char *edge_udp_drop_name(enum edge_udp_drop d);

/* The reason label of beam_xsk_rx_dropped_total for @e ("udp_checksum", ...). */
const char *edge_xsk_drop_name(enum pkt_err e);

/* Why an authenticated agent's connection ended. */
enum edge_agent_gone {
	EDGE_GONE_CLOSED,	/* the agent closed it (shut down, or gave up on us) */
	EDGE_GONE_IDLE,		/* nothing from it for the idle timeout */
	EDGE_GONE_UNRESPONSIVE, /* data to it unanswered for the unresponsive timeout */
	EDGE_GONE_BEAMD,	/* beamd closed it: revoked token, takeover, shutdown */
	EDGE_GONE_ERROR,	/* a protocol or TLS error, either side */
	EDGE_GONE__MAX,
};

struct edge_tunnel_stats {
	uint64_t id;
	uint64_t to_public;   /* bytes from the agent to public clients */
	uint64_t from_public; /* bytes from public clients to the agent */
	uint64_t conns_total; /* public connections carried */
	uint16_t port;
	uint8_t kind;	/* enum proto_kind */
	bool connected; /* false while its agent is gone (grace period) */
	char name[PROTO_MAX_NAME + 1];
	char token[TOKENS_MAX_NAME + 1];
};

struct edge_stats {
	uint64_t conns[BEAM_CONN__MAX]; /* live QUIC connections by state */
	uint64_t handshakes_ok;
	uint64_t handshakes_failed; /* connections that closed before completing it */
	uint64_t auth_failed;	    /* HELLOs with an unknown token */
	uint64_t auth_throttled;    /* HELLOs refused unchecked: their source failed too often */
	uint64_t agents_gone[EDGE_GONE__MAX];
	uint64_t streams_active;
	uint64_t streams_ok;	/* closed cleanly */
	uint64_t streams_reset; /* closed by a reset either way */
	uint64_t quic_bytes_in; /* UDP payload bytes of QUIC packets */
	uint64_t quic_bytes_out;
	uint64_t tunnels_active[PROTO_KIND__MAX];
	uint64_t tunnels_grace;		      /* kept for an agent gone away */
	uint64_t limit_hits[EDGE_LIMIT__MAX]; /* refusals by each limit */
	uint64_t stream_buffer_bytes;	      /* bytes of stream buffers held now */
	uint64_t retries_sent;		      /* QUIC Retry packets sent */
	uint64_t pmtu_black_holes;	      /* fallbacks to 1200-byte packets */
	uint64_t tails_active;	  /* public sockets taking a gone connection's last bytes */
	uint64_t tails_completed; /* ... that got every byte */
	uint64_t tails_reset;	  /* ... that failed or went silent first */
	uint64_t stateless_limited[QUIC_STATELESS__MAX]; /* not sent: over --stateless-rate */
	uint32_t handshakes_in_progress;
	bool retry_active;	/* new clients get a Retry (--retry, or load) */
	uint64_t udp_to_agent;	/* datagrams from public clients sent on to agents */
	uint64_t udp_to_public; /* datagrams from agents sent on to public clients */
	uint64_t udp_flows;	/* public udp flows live now */
	uint64_t udp_drops[EDGE_UDP_DROP__MAX];
	uint64_t handoffs_tunnel; /* tunnels this worker took over from another */
	uint64_t handoffs_http;	  /* public http connections sent to another worker */
	bool http_on;		  /* an http listener exists: the http families are shown */
	uint64_t http_routed, http_waiting;
	uint64_t http_answered[EDGE_HTTP_ANSWER__MAX];
	bool xsk_on; /* the worker runs AF_XDP (--xdp): the packet path families are shown */
	uint64_t xsk_rx, xsk_tx;	     /* datagrams through AF_XDP, by direction */
	uint64_t sock_rx, sock_tx;	     /* datagrams through the UDP socket beside it */
	uint64_t path_fallbacks;	     /* sends the other path took: the first one was full */
	uint64_t path_dropped;		     /* sends no path could take */
	uint64_t xsk_rx_bad[PKT_ERR__MAX];   /* AF_XDP frames beamd refused, by reason */
	uint64_t xsk_rx_other_port;	     /* refused: for another beamd's port */
	uint64_t xsk_rx_vlan_unknown;	     /* refused: a VLAN the host has no device for */
	uint64_t xsk_rx_vlan[PKT_MAX_VLANS]; /* taken with 1, 2 VLAN tags */
	uint64_t hop_changed, hop_unproven, hop_kept; /* next-hop events (nexthop.h) */
	uint64_t xsk_tx_both_paths; /* datagrams sent on two paths while a switch waited */
	size_t ntunnels;	    /* entries used in @tunnels */
	struct edge_tunnel_stats tunnels[EDGE_STATS_TUNNELS_MAX];
};

struct edge_stats_pub;

/*
 * Create the hand-over point, one slot per worker (@nworkers >= 1); a
 * scrape sums the slots. @latency (BEAM_HIST__MAX histograms, may be
 * NULL) and @pin_root (for the XDP counters of every interface beam is
 * attached to) are read at each scrape and must outlive it. Returns 0 or
 * -ENOMEM.
 */
int edge_stats_pub_new(struct edge_stats_pub **out, const struct beam_hist *latency,
		       const char *pin_root, unsigned int nworkers);
void edge_stats_pub_free(struct edge_stats_pub *p);

/*
 * Open the stats and flows maps of every interface pinned under the pin root
 * now, keep them, and from then on render the XDP counters from these only.
 * For beamd --user: the pins stay root's 0600, so after the drop they cannot
 * be opened again; an interface attached later is not shown until a restart.
 * Returns 0 or the -errno of listing the pin root.
 */
int edge_stats_pub_hold_xdp(struct edge_stats_pub *p);

/* Worker @worker: make @s its share of what the next scrape shows. */
void edge_stats_publish(struct edge_stats_pub *p, unsigned int worker, const struct edge_stats *s);

/* Whether every worker published in the last few periods: all are alive. */
bool edge_stats_fresh(struct edge_stats_pub *p);

/* Metrics thread (a metrics_collect_cb): render the published counts, the
 * latency histograms and the XDP counters. @arg is the edge_stats_pub. */
void edge_stats_collect(struct prom_buf *out, void *arg);

#endif /* BEAM_EDGE_STATS_H */
